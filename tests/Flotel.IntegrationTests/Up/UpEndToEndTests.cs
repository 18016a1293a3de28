using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Up;

/// <summary>
/// The quick start works: <c>flotel up</c> from a clone-like temporary directory (./examples/blog, default data directory),
/// with real podman and node_exporter, shows the workload's lines through <c>_search</c> and the blog's three metrics
/// through <c>/api/v1/query</c> within 60 s, then stops cleanly on SIGINT leaving nothing running.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed partial class UpEndToEndTests : IDisposable
{
    private static readonly string[] BlogMetrics = ["node_disk_io_now", "node_memory_Mapped_bytes", "node_network_speed_bytes"];
    private readonly string _clone = PeerProcess.CreateTempDirectory("up-clone");

    [Fact]
    public async Task Up_FromAClone_ShowsTheWorkloadsLogsAndTheBlogMetrics_ThenStopsCleanlyOnSigint()
    {
        CopyDirectory(Path.Combine(TestPaths.RepoRoot(), "examples", "blog"), Path.Combine(_clone, "examples", "blog"));
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _clone,
        };
        foreach (var arg in new[] { GatewayProcess.FlotelDll, "up", "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("listening ", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine("stderr: " + e.Data);
            }
        };
        var started = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
            Assert.True(first == listening.Task, "flotel up did not print its listening line:\n" + Text(output));
            var http = IPEndPoint.Parse((await listening.Task).Split("http=")[1]);
            using var client = new HttpClient { BaseAddress = new Uri("http://" + http), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Contains("podman: API on", Text(output), StringComparison.Ordinal);
            Assert.Contains("node_exporter: ", Text(output), StringComparison.Ordinal);

            var logsFound = await Eventually.PollAsync(async () =>
                await GatewayTestKit.CountAsync(client, "logstash-*", "{\"query\":{\"query_string\":{\"query\":\"program:random-workload AND message:\\\"New message at\\\"\"}}}") > 0,
                TimeSpan.FromSeconds(60));
            Assert.True(logsFound, "no random-workload line reached _search within 60 s:\n" + Text(output));

            foreach (var metric in BlogMetrics)
            {
                var found = await Eventually.PollAsync(async () =>
                    await GatewayTestKit.InstantQueryAsync(client, $"{metric}{{edgedeviceid=\"edge-device-1\"}}") is { Count: > 0 },
                    TimeSpan.FromSeconds(60));
                Assert.True(found, $"{metric} with edgedeviceid did not reach /api/v1/query within 60 s:\n" + Text(output));
            }

            Assert.True(started.Elapsed < TimeSpan.FromSeconds(150), $"up took {started.Elapsed} to show logs and metrics");
            var others = await GatewayTestKit.InstantQueryAsync(client, "node_cpu_seconds_total");
            Assert.True(others is null or { Count: 0 }, "a node_exporter metric outside the blog's allow-list was stored");

            // SIGINT, as Ctrl-C. A test run started as a background job of a non-interactive shell (`cmd &`) has SIGINT
            // ignored, and the child inherits that (POSIX): then the stop is asked with SIGTERM, as a service manager does.
            Assert.Equal(0, NativeMethods.Kill(process.Id, SignalIgnored(process.Id, 2) ? 15 : 2));
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(stop.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("flotel up: stopped", Text(output), StringComparison.Ordinal);

            // Nothing left running: node_exporter (by the PID up printed), the podman service on up's socket, the pod.
            var nodeExporterPid = int.Parse(NodeExporterPid().Match(Text(output)).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.False(Directory.Exists($"/proc/{nodeExporterPid}"), $"node_exporter (pid {nodeExporterPid}) is still running");
            Assert.Empty(ProcessesWhoseCommandLineContains(Path.Combine(_clone, ".flotel", "podman")));
            var (code, _) = await RunAsync("podman", "pod", "exists", "random-workload");
            Assert.NotEqual(0, code);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await RunAsync("podman", "pod", "rm", "--force", "--ignore", "random-workload");
            }
        }
    }

    public void Dispose() => GatewayTestKit.DeleteDirectory(_clone);

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Whether <paramref name="signal"/> is ignored by process <paramref name="pid"/> (SigIgn in /proc/PID/status).</summary>
    private static bool SignalIgnored(int pid, int signal)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    private static List<int> ProcessesWhoseCommandLineContains(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal) && !cmdline.Contains("dotnet", StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var text = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, text);
    }

    [GeneratedRegex(@"node_exporter: \S+ on \S+ \(pid (\d+)\)")]
    private static partial Regex NodeExporterPid();
}
