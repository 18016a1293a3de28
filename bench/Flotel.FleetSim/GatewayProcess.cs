using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Flotel.FleetSim;

/// <summary>
/// <c>dotnet flotel.dll gateway</c> started in a temporary data directory on ports chosen by the kernel: ready when it
/// printed its <c>listening …</c> line, stopped by its PID (SIGTERM, then SIGKILL after 60 s), directory removed.
/// With TLS it gets a self-signed certificate for 127.0.0.1 written next to its data; with the fleet, the fleet
/// listener on a free loopback port and room for every device's connections (<see cref="FleetMaxConnections"/>).
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log = new();

    private GatewayProcess(Process process, string directory)
    {
        _process = process;
        _directory = directory;
    }

    public int Pid => _process.Id;

    public Uri Http { get; private set; } = new("http://127.0.0.1/");

    public IPEndPoint Syslog { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>The fleet listener (<c>https://127.0.0.1:PORT/</c>) when started with the fleet.</summary>
    public Uri? Fleet { get; private set; }

    /// <summary>
    /// <c>http.maxConnections</c> of a gateway started with the fleet: an agent holds one HTTP/2 connection to the fleet
    /// listener (long poll, status, renewal and remote write), counted with the admin calls against the HTTP listeners'
    /// one bound (default 20,000).
    /// </summary>
    public const int FleetMaxConnections = 100_000;

    public static async Task<GatewayProcess> StartAsync(string flotelDll, bool tls, bool fleet, int? maxHeldPolls = null)
    {
        var directory = Directory.CreateTempSubdirectory("flotel-fleet-").FullName;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        info.ArgumentList.Add(flotelDll);
        info.ArgumentList.Add("gateway");
        info.ArgumentList.Add("--data");
        info.ArgumentList.Add(Path.Combine(directory, "data"));
        info.ArgumentList.Add("--http");
        info.ArgumentList.Add("127.0.0.1:0");
        info.ArgumentList.Add("--syslog");
        info.ArgumentList.Add("127.0.0.1:0");
        if (tls || fleet)
        {
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(WriteConfig(directory, tls, fleet, maxHeldPolls));
        }

        var process = new Process { StartInfo = info };
        var gateway = new GatewayProcess(process, directory);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("listening ", StringComparison.Ordinal))
            {
                listening.TrySetResult(line);
            }
            else
            {
                gateway.Append(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(120))).ConfigureAwait(false);
        if (first != listening.Task)
        {
            var log = gateway.Log;
            await gateway.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException("flotel gateway did not print its listening line:\n" + log);
        }

        gateway.Parse(await listening.Task.ConfigureAwait(false), tls);
        return gateway;
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM by PID: the gateway drains its queue and stops cleanly.
                _ = Kill(_process.Id, 15);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                }
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // left for the OS's temp cleaning
            }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static string WriteConfig(string directory, bool tls, bool fleet, int? maxHeldPolls)
    {
        var config = Path.Combine(directory, "gateway.yaml");
        var text = new StringBuilder();
        if (tls)
        {
            var (certificateFile, keyFile) = WriteSyslogCertificate(directory);
            text.Append(CultureInfo.InvariantCulture, $"""
                syslog:
                  tls:
                    address: 127.0.0.1:0
                    certificate: {certificateFile}
                    key: {keyFile}

                """);
        }

        if (fleet)
        {
            text.Append(CultureInfo.InvariantCulture, $"""
                http:
                  maxConnections: {FleetMaxConnections}
                fleet:
                  enabled: true
                  address: 127.0.0.1:0

                """);
            if (maxHeldPolls is { } held)
            {
                text.Append(CultureInfo.InvariantCulture, $"  maxHeldPolls: {held}\n");
            }
        }

        File.WriteAllText(config, text.ToString());
        return config;
    }

    private static (string Certificate, string Key) WriteSyslogCertificate(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var certificateFile = Path.Combine(directory, "syslog.crt");
        var keyFile = Path.Combine(directory, "syslog.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile);
    }

    private void Parse(string line, bool tls)
    {
        // listening syslog=127.0.0.1:PORT http=127.0.0.1:PORT [syslog-tls=127.0.0.1:PORT] [fleet=127.0.0.1:PORT]
        foreach (var part in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var (name, value) = (part[..eq], part[(eq + 1)..]);
            if (name == "http")
            {
                Http = new Uri("http://" + value + "/");
            }
            else if (name == "fleet")
            {
                Fleet = new Uri("https://" + value + "/");
            }
            else if (name == (tls ? "syslog-tls" : "syslog"))
            {
                Syslog = IPEndPoint.Parse(value);
            }
        }

        if (Syslog.Port == 0)
        {
            throw new InvalidOperationException("no syslog listener in the gateway's line: " + line);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 64 * 1024)
            {
                _log.AppendLine(line);
            }
        }
    }
}

/// <summary>Resident memory and CPU time of a process from <c>/proc/PID</c> (Linux).</summary>
internal static class ProcStat
{
    /// <summary>VmRSS in bytes, or -1 when unreadable.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    /// <summary>User + system CPU seconds (fields 14 and 15 of <c>/proc/PID/stat</c>; clock ticks of 1/100 s), or -1.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
