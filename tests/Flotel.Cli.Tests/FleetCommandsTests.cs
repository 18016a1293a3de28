using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Flotel.Model;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Cli.Tests;

/// <summary><c>flotel apply|delete|get|token</c> against a whole in-process gateway with the fleet enabled.</summary>
public sealed class FleetCommandsTests
{
    [Fact]
    public async Task ApplyGetTokenDelete_AgainstAGateway_PrintOneLinePerObject()
    {
        await using var gateway = await FleetGateway.StartAsync();
        var url = gateway.AdminUrl;
        var blog = CheckCommandTests.RepoPath("examples", "blog");

        var (code, output, error) = CliRunner.Run("apply", "-f", blog, "--gateway", url);
        Assert.True(code == 0, error);
        Assert.Equal(
            [
                "edgedevice/edge-device-1 created", "configmap/logstash-syslog created",
                "edgeworkload/random-workload created", "configmap/system-allow-list created",
            ],
            Lines(output));
        Assert.All(Lines(CliRunner.Run("apply", "-f", Path.Combine(blog, "device.yaml"), "--gateway", url).Output), l => Assert.EndsWith(" unchanged", l, StringComparison.Ordinal));

        (code, output, error) = CliRunner.Run("token", "create", "--device", "edge-device-1", "--ttl", "1h", "--gateway", url);
        Assert.True(code == 0, error);
        Assert.Matches("^flotel1\\.[A-Za-z0-9_-]{11}\\.[A-Za-z0-9_-]{22}\\.[0-9a-f]{64}$", output.Trim());
        Assert.Contains("single-use token for device edge-device-1", error, StringComparison.Ordinal);

        (code, output, _) = CliRunner.Run("get", "devices", "-o", "json", "--gateway", url);
        Assert.Equal(0, code);
        var device = JsonNode.Parse(output)!.AsArray().Single()!;
        Assert.Equal("edge-device-1", (string)device["name"]!);
        Assert.Null(device["lastSeen"]);
        Assert.Equal("pending", (string)device["status"]!);
        Assert.Equal(1, (long)device["desiredGeneration"]!);

        (code, output, _) = CliRunner.Run("get", "devices", "--gateway", url);
        Assert.Equal(0, code);
        Assert.StartsWith("NAME", output, StringComparison.Ordinal);
        Assert.Contains("edge-device-1  pending", output, StringComparison.Ordinal);
        (code, output, _) = CliRunner.Run("get", "workloads", "--gateway", url);
        Assert.Contains("random-workload  edge-device-1  -", output, StringComparison.Ordinal);

        (code, output, _) = CliRunner.Run("delete", "device", "edge-device-1", "--gateway", url);
        Assert.Equal((0, "edgedevice/edge-device-1 deleted"), (code, output.Trim()));
        (code, _, error) = CliRunner.Run("delete", "edgedevice", "edge-device-1", "--gateway", url);
        Assert.Equal(1, code);
        Assert.Contains("edgedevice/edge-device-1 not found", error, StringComparison.Ordinal);
        (code, output, _) = CliRunner.Run("delete", "-f", blog, "--gateway", url);
        Assert.Equal(1, code); // the device is gone already; the other three are deleted
        Assert.Equal(3, Lines(output).Length);
    }

    [Fact]
    public async Task ApplyWithCanary_PrintsTheRollout_GetRolloutShowsIt_PromoteEndsIt_ThenAbortIsRefused()
    {
        await using var gateway = await FleetGateway.StartAsync();
        var url = gateway.AdminUrl;
        var blog = CheckCommandTests.RepoPath("examples", "blog");
        Assert.Equal("no rollout yet (flotel apply --canary N% starts one)", CliRunner.Run("get", "rollout", "--gateway", url).Output.Trim());
        Assert.Equal(0, CliRunner.Run("apply", "-f", blog, "--gateway", url).ExitCode);

        var (code, output, error) = CliRunner.Run("apply", "-f", blog, "--canary", "10%", "--gateway", url);
        Assert.True(code == 0, error);
        Assert.EndsWith("no rollout: the apply changed no device's plan", output.Trim(), StringComparison.Ordinal);

        using var changed = new TempDirectory();
        foreach (var file in Directory.GetFiles(blog, "*.yaml"))
        {
            File.WriteAllText(Path.Combine(changed.Path, Path.GetFileName(file)), File.ReadAllText(file).Replace("interval: 5", "interval: 15", StringComparison.Ordinal));
        }

        (code, output, error) = CliRunner.Run("apply", "-f", changed.Path, "--canary", "1", "--canary-timeout", "10m", "--gateway", url);
        Assert.True(code == 0, error);
        var lines = Lines(output);
        Assert.Contains("edgedevice/edge-device-1 configured", lines);
        Assert.Matches(@"^rollout 1: progressing \(canary 1, timeout 600 s, started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; edgedevice/edge-device-1\)$", lines[^2]);
        Assert.Equal("canary edge-device-1 generation 2: pending", lines[^1]);

        (code, output, _) = CliRunner.Run("get", "rollout", "--gateway", url);
        Assert.Equal(0, code);
        Assert.StartsWith("rollout 1: progressing", output, StringComparison.Ordinal);
        (code, output, _) = CliRunner.Run("get", "rollout", "-o", "json", "--gateway", url);
        Assert.Equal("progressing", (string)JsonNode.Parse(output)!["state"]!);

        (code, output, error) = CliRunner.Run("rollout", "promote", "--gateway", url);
        Assert.True(code == 0, error);
        Assert.StartsWith("rollout 1: promoted", output, StringComparison.Ordinal);
        Assert.Contains("promoted: every held device got the change", output, StringComparison.Ordinal);
        (code, _, error) = CliRunner.Run("rollout", "abort", "--gateway", url);
        Assert.Equal(1, code);
        Assert.Contains("flotel rollout abort: the gateway answered HTTP 409: no rollout is progressing or halted", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetDevices_GatewayWithoutFleet_Exits1SayingTheFleetIsOff()
    {
        await using var gateway = await FleetGateway.StartAsync(fleet: false);
        var (code, output, error) = CliRunner.Run("get", "devices", "--gateway", gateway.AdminUrl);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("HTTP 404: the fleet is not enabled on this gateway", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_WithoutAdminCredentials_Exits1NamingFlotelAdminToken()
    {
        await using var gateway = await FleetGateway.StartAsync();
        var (code, output, error) = CliRunner.Run("apply", "-f", CheckCommandTests.RepoPath("examples", "blog"), "--gateway", "http://" + gateway.Host.HttpEndPoint);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("HTTP 401", error, StringComparison.Ordinal);
        Assert.Contains("FLOTEL_ADMIN_TOKEN", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_InvalidManifest_Exits1WithFileLineFieldMessage_AndSendsNothing()
    {
        using var dir = new TempDirectory();
        File.Copy(CheckCommandTests.RepoPath("examples", "blog", "device.yaml"), dir.Combine("device.yaml"));
        File.WriteAllText(dir.Combine("bad.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [1, 2]\n");

        // Port 1 on loopback: nothing listens there, so a request would fail with "cannot reach".
        var (code, output, error) = CliRunner.Run("apply", "-f", dir.Path, "--gateway", "http://127.0.0.1:1");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains(dir.Path + "/bad.yaml:5: data: ", error, StringComparison.Ordinal);
        Assert.Contains("nothing was sent", error, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot reach", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Commands_GatewayUnreachable_Exit1WithAClearMessage()
    {
        var blog = CheckCommandTests.RepoPath("examples", "blog");
        foreach (var args in new[]
        {
            new[] { "apply", "-f", blog }, ["get", "devices"], ["token", "create", "--device", "d"], ["delete", "configmap", "x"],
        })
        {
            var (code, _, error) = CliRunner.Run([.. args, "--gateway", "http://127.0.0.1:1"]);
            Assert.Equal(1, code);
            Assert.Contains("cannot reach the gateway at http://127.0.0.1:1", error, StringComparison.Ordinal);
            Assert.Contains("--gateway", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void UrlOptions_GivenExplicitly_AreParsedNotCrashed()
    {
        var (code, _, error) = CliRunner.Run("logs", "--url", "http://127.0.0.1:1");
        Assert.Equal(1, code);
        Assert.Contains("cannot reach the gateway at http://127.0.0.1:1", error, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("get", "devices", "--gateway", "not a url").ExitCode);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("delete", "configmap")]
    [InlineData("delete", "pod", "x")]
    [InlineData("get", "pods")]
    [InlineData("token", "create")]
    [InlineData("token", "create", "--device", "d", "--ttl", "31d")]
    [InlineData("apply", "-f", "x.yaml", "--canary", "0%")]
    [InlineData("apply", "-f", "x.yaml", "--canary", "ten")]
    [InlineData("apply", "-f", "x.yaml", "--canary", "1", "--canary-timeout", "25h")]
    [InlineData("get", "rollouts")]
    [InlineData("rollout", "resume")]
    public void Usage_Errors_Exit2(params string[] args) => Assert.Equal(2, CliRunner.Run(args).ExitCode);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A gateway with the fleet on, its admin API behind basic auth (in the URL, so tests need no process-wide variable).</summary>
    private sealed class FleetGateway : IAsyncDisposable
    {
        private readonly TempDirectory _data;

        private FleetGateway(TempDirectory data, GatewayHost host)
        {
            _data = data;
            Host = host;
        }

        public GatewayHost Host { get; }

        public string AdminUrl => $"http://admin:pw@{Host.HttpEndPoint}";

        public static async Task<FleetGateway> StartAsync(bool fleet = true)
        {
            var data = new TempDirectory();
            var options = new GatewayOptions
            {
                DataDirectory = data.Path, HttpAddress = "127.0.0.1:0", SyslogAddress = "127.0.0.1:0",
                Fleet = fleet ? new FleetOptions { Enabled = true, Address = "127.0.0.1:0" } : null,
                AdminAuth = new AuthOptions { Username = "admin", Password = new SecretValue("pw") },
            };
            return new FleetGateway(data, await GatewayHost.StartAsync(options, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None));
        }

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            _data.Dispose();
        }
    }
}
