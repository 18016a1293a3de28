using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// A real Prometheus remote-write receiver that can be killed and started again on the same port and data directory
/// (an outage the agent must ride out). Stopped by its PID only; the directory is deleted on Dispose.
/// </summary>
internal sealed class MetricsRestartablePrometheus : IDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    public MetricsRestartablePrometheus()
    {
        Directory = PeerProcess.CreateTempDirectory("prometheus-rw");
        File.WriteAllText(Path.Combine(Directory, "prometheus.yml"), "global:\n  scrape_interval: 15s\n");
        Port = Loopback.FreePort();
    }

    public int Port { get; }

    public string Directory { get; }

    public string BaseUrl => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public string WriteUrl => BaseUrl + "/api/v1/write";

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

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("/usr/bin/prometheus")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        info.ArgumentList.Add("--config.file=" + Path.Combine(Directory, "prometheus.yml"));
        info.ArgumentList.Add("--storage.tsdb.path=" + Path.Combine(Directory, "data"));
        info.ArgumentList.Add("--web.listen-address=127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--web.enable-remote-write-receiver");
        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ready = await MetricsTestKit.UntilAsync(
            async () =>
            {
                Assert.False(process.HasExited, "prometheus exited: " + Output);
                try
                {
                    using var r = await http.GetAsync(new Uri(BaseUrl + "/-/ready"));
                    return r.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            },
            PeerProcess.ReadyTimeout);
        Assert.True(ready, "prometheus not ready: " + Output);
    }

    /// <summary>SIGTERM to this PID only, then waits for the exit (Prometheus closes its TSDB; the port goes away).</summary>
    public void Stop()
    {
        if (_process is { } p)
        {
            _process = null;
            if (!p.HasExited)
            {
                Gateway.NativeMethods.Kill(p.Id, 15);
                if (!p.WaitForExit(30_000))
                {
                    p.Kill(entireProcessTree: false);
                    p.WaitForExit(10_000);
                }
            }

            p.Dispose();
        }
    }

    /// <summary>SIGKILL to this PID only, then waits for the exit.</summary>
    public void Kill()
    {
        if (_process is { } p)
        {
            _process = null;
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: false);
                p.WaitForExit(10_000);
            }

            p.Dispose();
        }
    }

    public void Dispose()
    {
        Kill();
        MetricsTestKit.DeleteDirectory(Directory);
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
}
