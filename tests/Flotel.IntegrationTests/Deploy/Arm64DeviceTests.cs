using System.Text.RegularExpressions;
using Flotel.IntegrationTests.Agent;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// The linux-arm64 device build, cross-compiled here and run under qemu-user as it runs on an ARM device: its version,
/// the blog's manifests checked, and an agent that scrapes a real node_exporter and remote-writes to a gateway on
/// loopback.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed partial class Arm64DeviceTests
{
    private const string Device = "arm-device-1";

    [Fact]
    public async Task Arm64Build_Version_IsTheFullBuildsVersionAndCommit()
    {
        var binary = await Arm64DeviceBuild.BinaryAsync();
        Assert.Contains("ARM aarch64", (await Arm64DeviceBuild.RunProcessAsync("file", [binary], TimeSpan.FromSeconds(30))).Stdout, StringComparison.Ordinal);

        var (exit, arm, stderr) = await Arm64DeviceBuild.RunAsync(binary, "--version");
        Assert.True(exit == 0, $"--version exited {exit}: {stderr}");
        var (cliExit, cli, cliStderr) = await Arm64DeviceBuild.RunProcessAsync("dotnet", [GatewayProcess.FlotelDll, "--version"], TimeSpan.FromMinutes(1));
        Assert.True(cliExit == 0, $"dotnet flotel.dll --version exited {cliExit}: {cliStderr}");

        Assert.Matches(VersionAndCommit(), arm.Trim());
        Assert.Equal(cli.Trim(), arm.Trim());
    }

    [Fact]
    public async Task Arm64Build_CheckManifests_AcceptsTheBlogsManifestsAndRejectsAMissingDirectory()
    {
        var binary = await Arm64DeviceBuild.BinaryAsync();
        var blog = Path.Combine(TestPaths.RepoRoot(), "examples", "blog");

        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunAsync(binary, "check", "--manifests", blog);
        Assert.True(exit == 0, $"check --manifests examples/blog exited {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("device edge-device-1", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("random-workload", stdout, StringComparison.Ordinal);
        Assert.Contains("0 errors", stdout, StringComparison.Ordinal);

        var missing = Path.Combine(blog, "no-such-directory");
        var (badExit, _, badStderr) = await Arm64DeviceBuild.RunAsync(binary, "check", "--manifests", missing);
        Assert.Equal(1, badExit);
        Assert.Contains("does not exist", badStderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arm64Build_Agent_ScrapesNodeExporterAndRemoteWritesToAGateway()
    {
        var binary = await Arm64DeviceBuild.BinaryAsync();
        var gatewayData = PeerProcess.CreateTempDirectory("arm64-gateway");
        var agentData = PeerProcess.CreateTempDirectory("arm64-agent");
        string? manifests = null;
        try
        {
            using var gateway = await GatewayProcess.StartAsync(gatewayData);
            using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
            manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, $"http://{gateway.HttpEndPoint}/api/v1/write"));
            using var agent = await MetricsAgentProcess.StartAsync(
                manifests, agentData, MetricsTestKit.NodeExporterUrl(nodeExporter), binary, emulator: Arm64DeviceBuild.Emulator);

            // The blog's allow list reaches the gateway with the device's label; node_memory_Mapped_bytes is on every Linux.
            double? mapped = null;
            var arrived = await MetricsTestKit.UntilAsync(
                async () => (mapped = MetricsTestKit.SingleValue(await GatewayTestKit.InstantQueryAsync(gateway.Http, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}"))) > 0,
                TimeSpan.FromSeconds(90));
            Assert.True(arrived, "node_memory_Mapped_bytes from the arm64 agent did not reach the gateway; agent output:\n" + agent.Output + "\ngateway:\n" + gateway.Stderr);

            // Outside the allow list: not forwarded.
            var outside = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"node_load1{{edgedeviceid=\"{Device}\"}}");
            Assert.True(outside is null || outside.Count == 0, "node_load1 is outside the allow list but arrived: " + outside?.ToJsonString());

            await agent.SignalAndWaitAsync(15, TimeSpan.FromSeconds(60));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(gatewayData);
            MetricsTestKit.DeleteDirectory(agentData);
            if (manifests is not null)
            {
                MetricsTestKit.DeleteDirectory(manifests);
            }
        }
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?\+[0-9a-f]{40}$")]
    private static partial Regex VersionAndCommit();
}
