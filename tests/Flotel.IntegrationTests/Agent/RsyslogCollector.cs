using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// A real rsyslogd as the device's collector: one imtcp input per port on 127.0.0.1, each writing with a template
/// that records HOSTNAME, APP-NAME and MSG to its own file. Private config, work directory and pid file; stopped with
/// SIGTERM by its PID (so it flushes), and started again on the same ports (a collector outage). With
/// <c>tls</c>, the imtcp inputs speak syslog over TLS (RFC 5425) through rsyslog's gtls driver (Debian package
/// rsyslog-gnutls) with the given server certificate.
/// </summary>
public sealed class RsyslogCollector : IDisposable
{
    private const string Rsyslogd = "/usr/sbin/rsyslogd";
    private readonly string _config;
    private readonly bool _udp;
    private Process? _process;

    /// <param name="udp">imudp inputs instead of imtcp.</param>
    /// <param name="tls">PEM texts of the CA, the server certificate and its key: imtcp over TLS.</param>
    public RsyslogCollector(int inputs = 1, bool udp = false, (string CaPem, string CertificatePem, string KeyPem)? tls = null)
    {
        _udp = udp;
        Directory = PeerProcess.CreateTempDirectory("rsyslog-agent");
        Ports = [.. Enumerable.Range(0, inputs).Select(_ => Loopback.FreePort())];
        var config = new StringBuilder();
        var global = $"workDirectory=\"{Directory}\" net.enableDNS=\"off\" processInternalMessages=\"on\"";
        if (tls is { } t)
        {
            System.IO.File.WriteAllText(Path.Combine(Directory, "ca.pem"), t.CaPem);
            System.IO.File.WriteAllText(Path.Combine(Directory, "cert.pem"), t.CertificatePem);
            System.IO.File.WriteAllText(Path.Combine(Directory, "key.pem"), t.KeyPem);
            global += $" DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"{Path.Combine(Directory, "ca.pem")}\""
                + $" DefaultNetstreamDriverCertFile=\"{Path.Combine(Directory, "cert.pem")}\" DefaultNetstreamDriverKeyFile=\"{Path.Combine(Directory, "key.pem")}\"";
        }

        config.AppendLine(CultureInfo.InvariantCulture, $"global({global})");
        var input = udp ? "imudp" : "imtcp";

        // TLS without client certificates (the agent authenticates the collector, not the other way round).
        var driver = tls is null ? string.Empty : " StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\"";
        config.AppendLine(CultureInfo.InvariantCulture, $"module(load=\"{input}\"{driver})");
        config.AppendLine("template(name=\"fields\" type=\"string\" string=\"%HOSTNAME%|%APP-NAME%|%msg%\\n\")");
        config.AppendLine(CultureInfo.InvariantCulture, $"*.* action(type=\"omfile\" file=\"{Path.Combine(Directory, "internal.log")}\")");
        for (int i = 0; i < inputs; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"ruleset(name=\"in{i}\") {{ action(type=\"omfile\" file=\"{File(i)}\" template=\"fields\") }}");
            config.AppendLine(CultureInfo.InvariantCulture, $"input(type=\"{input}\" port=\"{Ports[i]}\" address=\"127.0.0.1\" ruleset=\"in{i}\")");
        }

        _config = Path.Combine(Directory, "rsyslog.conf");
        System.IO.File.WriteAllText(_config, config.ToString());
    }

    public string Directory { get; }

    public IReadOnlyList<int> Ports { get; }

    public string File(int input) => Path.Combine(Directory, $"in{input}.log");

    /// <summary>The (HOSTNAME, APP-NAME, MSG) lines received on an input so far.</summary>
    public IReadOnlyList<(string Host, string App, string Message)> Lines(int input = 0)
    {
        if (!System.IO.File.Exists(File(input)))
        {
            return [];
        }

        using var stream = new FileStream(File(input), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<(string, string, string)>();
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split('|', 3);
            if (parts.Length == 3)
            {
                lines.Add((parts[0], parts[1], parts[2]));
            }
        }

        return lines;
    }

    public async Task StartAsync()
    {
        if (!System.IO.File.Exists(Rsyslogd))
        {
            throw new InvalidOperationException("rsyslogd is missing: install the Debian package rsyslog");
        }

        var info = new ProcessStartInfo(Rsyslogd) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = Directory };
        foreach (var a in new[] { "-n", "-f", _config, "-i", Path.Combine(Directory, "rsyslogd.pid") })
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        foreach (var port in Ports)
        {
            while (true)
            {
                Assert.False(_process.HasExited, "rsyslogd exited: " + Internal());
                if (_udp)
                {
                    // Bound when 127.0.0.1:port shows in the kernel's UDP table (no way to "connect" to probe it).
                    var local = string.Create(CultureInfo.InvariantCulture, $"0100007F:{port:X4}");
                    if (System.IO.File.ReadAllText("/proc/net/udp").Contains(local, StringComparison.Ordinal))
                    {
                        break;
                    }

                    Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "rsyslogd did not bind UDP port " + port + ": " + Internal());
                    await Task.Delay(100);
                    continue;
                }

                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    /// <summary>SIGTERM by PID and wait: rsyslog closes its connections and flushes its files.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
        _process = null;
    }

    public string Internal()
    {
        var path = Path.Combine(Directory, "internal.log");
        return System.IO.File.Exists(path) ? System.IO.File.ReadAllText(path) : "(no internal log)";
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}
