using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flotel.IntegrationTests;

/// <summary>
/// A real peer program (Prometheus, VictoriaMetrics, vmagent, node_exporter…) started for one test: its own
/// temporary directory, a free port on 127.0.0.1, ready when an HTTP URL answers 2xx, stopped by its PID on
/// Dispose. Standard error (and output) is kept so a failure can say what the peer said.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    /// <summary>How long a peer may take to become ready.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private PeerProcess(Process process, string name, int port, string tempDirectory)
    {
        _process = process;
        Name = name;
        Port = port;
        TempDirectory = tempDirectory;
    }

    /// <summary>Program name, for messages.</summary>
    public string Name { get; }

    /// <summary>The port the peer was told to listen on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:PORT</c>.</summary>
    public string BaseUrl => "http://127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The peer's private temporary directory (deleted on Dispose).</summary>
    public string TempDirectory { get; }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>What the peer wrote to stderr and stdout so far (last 16 KiB).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Creates a temporary directory for a peer before it starts (to write its config file).</summary>
    public static string CreateTempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "flotel-it-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A real Prometheus server with the remote-write receiver on, in its own temporary directory.</summary>
    public static async Task<PeerProcess> StartPrometheusReceiverAsync()
    {
        var config = CreateTempDirectory("prometheus");
        await File.WriteAllTextAsync(Path.Combine(config, "prometheus.yml"), "global:\n  scrape_interval: 15s\n");
        return await StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (port, dir) =>
            [
                "--config.file=" + Path.Combine(dir, "prometheus.yml"),
                "--storage.tsdb.path=" + Path.Combine(dir, "data"),
                "--web.listen-address=127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--web.enable-remote-write-receiver",
            ],
            "/-/ready", config);
    }

    /// <summary>
    /// Starts <paramref name="binary"/> with the arguments built from (port, temp dir) and waits until
    /// <paramref name="readinessPath"/> answers 2xx. A missing binary fails the test with the package to install.
    /// <paramref name="port"/> restarts a peer on the port it had (default: a free port).
    /// </summary>
    public static async Task<PeerProcess> StartAsync(string binary, string debianPackage, Func<int, string, IEnumerable<string>> arguments, string readinessPath, string? tempDirectory = null, int? port = null)
    {
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException($"peer binary {binary} is missing: install the Debian package '{debianPackage}' (apt-get install -y {debianPackage}); the project's test script does this");
        }

        var name = Path.GetFileName(binary);
        var dir = tempDirectory ?? CreateTempDirectory(name);
        port ??= Loopback.FreePort();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var arg in arguments(port.Value, dir))
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var peer = new PeerProcess(process, name, port.Value, dir);
        process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
        process.OutputDataReceived += (_, e) => peer.Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            await peer.WaitReadyAsync(readinessPath);
        }
        catch
        {
            peer.Dispose();
            throw;
        }

        return peer;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            if (_output.Length > 16 * 1024)
            {
                _output.Remove(0, _output.Length - (16 * 1024));
            }
        }
    }

    private async Task WaitReadyAsync(string readinessPath)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        var lastError = "no answer";
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUrl + readinessPath));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                lastError = "HTTP " + (int)response.StatusCode;
            }
            catch (HttpRequestException ex)
            {
                lastError = ex.Message;
            }
            catch (TaskCanceledException ex)
            {
                lastError = ex.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} not ready at {BaseUrl}{readinessPath} after {ReadyTimeout.TotalSeconds} s ({lastError}):\n{Output}");
    }

    /// <summary>Stops the peer cleanly: SIGTERM to its PID only, then waits up to <paramref name="timeout"/>; true when it exited.</summary>
    public async Task<bool> TerminateAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }

        _ = Gateway.NativeMethods.Kill(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stops the peer by its PID (SIGKILL via Process.Kill on this process only) and deletes its directory.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }

        try
        {
            Directory.Delete(TempDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
