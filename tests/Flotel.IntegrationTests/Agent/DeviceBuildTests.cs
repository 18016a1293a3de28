using System.Diagnostics;
using System.Globalization;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// The device build (src/Flotel.Device: <c>flotel agent</c> alone, NativeAOT) published as users publish it, then run
/// against a real node_exporter and a real VictoriaMetrics with the blog's EdgeDevice: the blog's metrics arrive, the
/// agent reports its own footprint, and its garbage collector runs on the small first-generation budget compiled into
/// the binary (with .NET's default budget, sized from this VM's 260 MiB L3 cache, the agent ran minutes without a
/// collection while its RSS climbed, over the architecture §8 budget).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class DeviceBuildTests
{
    private const string Device = "edge-device-1";

    [Fact]
    public async Task DeviceBuild_PublishedNativeAot_PushesBlogMetricsAndCollectsGarbageEarly()
    {
        var output = PeerProcess.CreateTempDirectory("device-build");
        var data = PeerProcess.CreateTempDirectory("device-agent-data");
        try
        {
            var binary = await PublishAsync(output);
            using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
            using var vm = await MetricsTestKit.StartVictoriaMetricsAsync();
            var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, vm.BaseUrl + "/api/v1/write"));
            using var agent = await MetricsAgentProcess.StartAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter), binary);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

            var mapped = await MetricsTestKit.UntilAsync(
                async () => MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, vm.BaseUrl, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}")) is not null,
                TimeSpan.FromSeconds(45));
            Assert.True(mapped, "node_memory_Mapped_bytes did not arrive from the device build; agent output:\n" + agent.Output);

            var rss = await MetricsTestKit.UntilAsync(
                async () => MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, vm.BaseUrl, $"process_resident_memory_bytes{{edgedeviceid=\"{Device}\"}}")) > 0,
                TimeSpan.FromSeconds(30));
            Assert.True(rss, "process_resident_memory_bytes is not reported; agent output:\n" + agent.Output);

            // Scraping every second allocates a few tens of KiB per second: a 512 KiB budget is spent within a minute or
            // two; the default budget on this machine (tens of MiB) is not.
            double? collections = null;
            var collected = await MetricsTestKit.UntilAsync(
                async () => (collections = MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, vm.BaseUrl, $"dotnet_gc_collections_total{{edgedeviceid=\"{Device}\",generation=\"0\"}}"))) > 0,
                TimeSpan.FromSeconds(150));
            Assert.True(collected, $"no gen0 collection reported (last value {collections?.ToString(CultureInfo.InvariantCulture) ?? "none"}); agent output:\n" + agent.Output);

            // 30 s after start the agent gives back the read-only pages only its start-up read (StartupPages): most of
            // the binary's read-only segment is resident while it starts, little of it afterwards.
            (long Resident, long Size) readOnly = default;
            var released = await MetricsTestKit.UntilAsync(
                () => Task.FromResult((readOnly = ReadOnlyPagesOf(agent.Pid, binary)).Resident * 4 < readOnly.Size),
                TimeSpan.FromSeconds(90));
            Assert.True(released, $"the binary's read-only pages stay resident: {readOnly.Resident / 1024} of {readOnly.Size / 1024} KiB; agent output:\n" + agent.Output);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(output);
            MetricsTestKit.DeleteDirectory(data);
        }
    }

    /// <summary><c>dotnet publish src/Flotel.Device -c Release -r linux-x64 -o DIR</c>, as docs/deploy.md says.</summary>
    private static async Task<string> PublishAsync(string output)
    {
        var project = Path.Combine(TestPaths.RepoRoot(), "src", "Flotel.Device", "Flotel.Device.csproj");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", "Release", "-r", "linux-x64", "-o", output, "--nologo", "-v", "q" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet publish of the device build failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        var binary = Path.Combine(output, "flotel");
        Assert.True(File.Exists(binary), "no flotel binary in " + output);
        return binary;
    }

    /// <summary>Resident and total bytes of the <c>r--p</c> mappings of <paramref name="binary"/> in process <paramref name="pid"/> (/proc/PID/smaps).</summary>
    private static (long Resident, long Size) ReadOnlyPagesOf(int pid, string binary)
    {
        long resident = 0, size = 0;
        var inReadOnly = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && !fields[0].EndsWith(':') && fields[0].Contains('-', StringComparison.Ordinal))
            {
                inReadOnly = fields.Length >= 6 && fields[1] == "r--p" && fields[5] == binary;
            }
            else if (inReadOnly && fields is ["Size:", var kb, "kB"])
            {
                size += long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
            else if (inReadOnly && fields is ["Rss:", var rss, "kB"])
            {
                resident += long.Parse(rss, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return (resident, size);
    }

}
