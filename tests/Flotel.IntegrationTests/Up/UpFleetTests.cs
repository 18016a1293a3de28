using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Up;

/// <summary>
/// <c>flotel up</c> through the fleet (docs/fleet.md §9), with real podman and node_exporter as the quick-start test
/// uses them: the first start applies the blog's manifests to up's gateway and enrols the agent; <c>flotel get devices</c>
/// shows the device applied at the desired generation and the workload's lines are searchable under its name; a
/// second start on the same data directory runs enrolled, without a new token.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class UpFleetTests : IDisposable
{
    private const string Device = "edge-device-1";
    private readonly string _work = PeerProcess.CreateTempDirectory("up-fleet");

    [Fact]
    public async Task Up_AppliesTheManifestsAndEnrolsTheAgent_DeviceAppliedAndItsLogsSearchable_SecondStartNeedsNoToken()
    {
        var manifests = Path.Combine(TestPaths.RepoRoot(), "examples", "blog");
        var data = Path.Combine(_work, "data");
        try
        {
            await using (var first = await UpProcess.StartAsync(_work, manifests, data))
            {
                Assert.Contains($"fleet:    enrolled device {Device} at https://127.0.0.1:", first.Output, StringComparison.Ordinal);
                Assert.Contains($"edgedevice/{Device} created", first.Output, StringComparison.Ordinal);
                Assert.Contains("podman: API on", first.Output, StringComparison.Ordinal);

                var device = await AppliedDeviceAsync(first);
                Assert.Equal(1L, (long)device["desiredGeneration"]!);
                Assert.False((bool)device["duplicateIdentity"]!);

                using var client = new HttpClient { BaseAddress = new Uri("http://" + first.Http), Timeout = TimeSpan.FromSeconds(10) };
                var query = $"{{\"query\":{{\"query_string\":{{\"query\":\"device_id:\\\"{Device}\\\" AND program:random-workload\"}}}}}}";
                var logsFound = await Eventually.PollAsync(
                    async () => await GatewayTestKit.CountAsync(client, "logstash-*", query) > 0, TimeSpan.FromSeconds(60));
                Assert.True(logsFound, "no random-workload line of the enrolled device reached _search within 60 s:\n" + first.Output);
                Assert.Equal(0, await first.StopAsync());
            }

            Assert.True(File.Exists(Path.Combine(data, "agent", "fleet", "device.crt")), "the agent's certificate is not in DATA/agent/fleet");
            await using (var second = await UpProcess.StartAsync(_work, manifests, data))
            {
                Assert.Contains($"fleet:    already enrolled, no new token: device {Device}", second.Output, StringComparison.Ordinal);
                Assert.Contains($"edgedevice/{Device} unchanged", second.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("with a new single-use token", second.Output, StringComparison.Ordinal);
                var device = await AppliedDeviceAsync(second);
                Assert.Equal(1L, (long)device["desiredGeneration"]!);
                Assert.Equal(0, await second.StopAsync());
            }
        }
        finally
        {
            await RunAsync("podman", "pod", "rm", "--force", "--ignore", "random-workload");
        }
    }

    public void Dispose() => GatewayTestKit.DeleteDirectory(_work);

    /// <summary>Polls <c>flotel get devices -o json</c> until the device reports the desired generation applied; returns its row.</summary>
    private static async Task<JsonNode> AppliedDeviceAsync(UpProcess up)
    {
        JsonNode? device = null;
        var last = string.Empty;
        var applied = await Eventually.PollAsync(async () =>
        {
            var (code, output, error) = await RunAsync("dotnet", GatewayProcess.FlotelDll, "get", "devices", "-o", "json", "--gateway", "http://" + up.Http);
            last = output + error;
            if (code != 0)
            {
                return false;
            }

            device = JsonNode.Parse(output)!.AsArray().Single(d => (string)d!["name"]! == Device);
            return (string?)device!["status"] == "applied" && (long?)device["appliedGeneration"] == (long?)device["desiredGeneration"];
        }, TimeSpan.FromSeconds(60));
        Assert.True(applied, $"flotel get devices did not show {Device} applied within 60 s:\n{last}\n{up.Output}");
        return device!;
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["FLOTEL_ADMIN_TOKEN"] = null;
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await output, await error);
    }

    /// <summary><c>dotnet flotel.dll up</c> on port 0, ready at its <c>listening</c> line, stopped by its PID.</summary>
    private sealed class UpProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private UpProcess(Process process) => _process = process;

        public IPEndPoint Http { get; private set; } = new(IPAddress.None, 0);

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

        public static async Task<UpProcess> StartAsync(string workingDirectory, string manifests, string data)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
            };
            string[] arguments = [GatewayProcess.FlotelDll, "up", "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0", "--manifests", manifests, "--data", data];
            foreach (var arg in arguments)
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["FLOTEL_ADMIN_TOKEN"] = null;
            var up = new UpProcess(new Process { StartInfo = info });
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            up._process.OutputDataReceived += (_, e) =>
            {
                up.Append(e.Data);
                if (e.Data?.StartsWith("listening ", StringComparison.Ordinal) == true)
                {
                    listening.TrySetResult(e.Data);
                }
            };
            up._process.ErrorDataReceived += (_, e) => up.Append("stderr: " + e.Data);
            up._process.Start();
            up._process.BeginOutputReadLine();
            up._process.BeginErrorReadLine();
            var first = await Task.WhenAny(listening.Task, up._process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(120)));
            if (first != listening.Task)
            {
                await up.DisposeAsync();
                Assert.Fail("flotel up did not print its listening line:\n" + up.Output);
            }

            up.Http = IPEndPoint.Parse((await listening.Task).Split("http=")[1]);
            return up;
        }

        /// <summary>SIGTERM (as a service manager stops it) and the exit code.</summary>
        public async Task<int> StopAsync()
        {
            Assert.Equal(0, NativeMethods.Kill(_process.Id, 15));
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await _process.WaitForExitAsync(stop.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
