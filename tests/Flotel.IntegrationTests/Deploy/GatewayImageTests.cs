using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.IntegrationTests.Gateway;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// The gateway image as deploy/container/build.sh makes it — FROM scratch, no registry — from the framework-dependent
/// build of src/Flotel.Cli that this test project already builds, run by a real podman (as root, with runc: the
/// containers.conf of <see cref="Agent.PodmanFixture"/>) on the host network, listening on 127.0.0.1 only, with the
/// Kubernetes Deployment's restrictions (read-only root filesystem, no capabilities, no privilege escalation).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayImageTests(GatewayImageFixture image, ITestOutputHelper output) : IClassFixture<GatewayImageFixture>
{
    private const string BlogLine =
        "<6>2022-05-12T16:22:01-04:00  random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: "
        + "New message at: Thu May 12 20:22:01 UTC 2022\n";

    [Fact]
    public async Task BuildScript_MakesAScratchImageOfTheNonRootUserAndItsOciArchive()
    {
        output.WriteLine($"build.sh (copy, podman build, podman save) took {image.BuildTime.TotalSeconds:F1} s");
        var format = "{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{len .RootFS.Layers}}";
        var config = await image.PodmanAsync("image", "inspect", "--format", format, image.Name);
        // One layer, the build's own (podman build --layers=false); a base image would add its layers below it.
        Assert.Equal("1654:1654|[\"/app/flotel\"]|[\"gateway\",\"--data\",\"/var/lib/flotel\"]|1", config.Trim());
        var version = await image.PodmanAsync("image", "inspect", "--format", "{{index .Labels \"org.opencontainers.image.version\"}}", image.Name);
        Assert.Equal(image.Version, version.Trim());

        // The archive names the image in index.json, which podman load and containerd's import read.
        var (exit, index, stderr) = await GatewayImageFixture.RunAsync("tar", ["-xOf", image.Archive, "index.json"]);
        Assert.True(exit == 0, stderr);
        var manifest = JsonNode.Parse(index)!["manifests"]!.AsArray().Single()!;
        Assert.Equal(image.Name, (string?)manifest["annotations"]!["org.opencontainers.image.ref.name"]);
    }

    [Fact]
    public async Task Container_OnLoopback_AnswersHealthzFindsASyslogLineAndStopsCleanlyOnSigterm()
    {
        var name = "flotel-image-test-" + Guid.NewGuid().ToString("N")[..8];
        var data = PeerProcess.CreateTempDirectory("image-data");
        try
        {
            // A host directory as the data volume, owned by the image's user (as fsGroup makes it on Kubernetes).
            var (chown, _, chownError) = await GatewayImageFixture.RunAsync("chown", ["1654:1654", data]);
            Assert.True(chown == 0, "chown 1654:1654 of the data directory failed (the podman tests run as root): " + chownError);
            await image.PodmanAsync(
                "run", "-d", "--name", name, "--network", "host", "--read-only", "--cap-drop", "all", "--security-opt", "no-new-privileges",
                "-v", data + ":/var/lib/flotel", image.Name,
                "gateway", "--data", "/var/lib/flotel", "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0");

            var (syslog, http) = await ListeningAsync(name);
            using var client = new HttpClient { BaseAddress = new Uri("http://" + http), Timeout = TimeSpan.FromSeconds(15) };
            using (var health = await client.GetAsync(new Uri("healthz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }

            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(syslog);
                await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(BlogLine));
            }

            JsonNode? response = null;
            var found = await Eventually.PollAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("logstash-2022.05.12/_search", UriKind.Relative))
                {
                    Content = new StringContent("{\"query\":{\"match\":{\"program\":\"random-workload\"}}}", Encoding.UTF8, "application/json"),
                };
                using var answer = await client.SendAsync(request);
                response = answer.IsSuccessStatusCode ? JsonNode.Parse(await answer.Content.ReadAsStringAsync()) : null;
                return (long?)response?["hits"]?["total"]?["value"] >= 1;
            }, TimeSpan.FromSeconds(30));
            Assert.True(found, $"the syslog line was not found: {response?.ToJsonString()}\n{await LogsAsync(name)}");
            Assert.Equal("2022-05-12T20:22:01.000Z", (string?)response!["hits"]!["hits"]![0]!["_source"]!["@timestamp"]);

            // What the gateway wrote went to the volume, as the image's non-root user.
            var (_, owners, _) = await GatewayImageFixture.RunAsync("stat", ["-c", "%u", .. Directory.GetFileSystemEntries(data)]);
            Assert.NotEmpty(owners.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.All(owners.Split('\n', StringSplitOptions.RemoveEmptyEntries), owner => Assert.Equal("1654", owner));

            // podman stop sends the image's STOPSIGNAL (SIGTERM) and SIGKILL only after the grace time (exit code 137).
            await image.PodmanAsync("stop", "--time", "30", name);
            var state = await image.PodmanAsync("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name);
            var logs = await LogsAsync(name);
            Assert.True(state.Trim() == "exited 0", $"state '{state.Trim()}' after podman stop:\n{logs}");
            Assert.Contains("flotel gateway: stopped", logs, StringComparison.Ordinal);
        }
        finally
        {
            await GatewayImageFixture.RunAsync("podman", ["rm", "-f", "--ignore", name], image.Environment);
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task BuildScript_BadArguments_FailWithAClearMessage()
    {
        var script = Path.Combine(TestPaths.RepoRoot(), "deploy", "container", "build.sh");
        var (exit, _, stderr) = await GatewayImageFixture.RunAsync(script, ["1.0", GatewayImageFixture.CliBuildDirectory()]);
        Assert.Equal(1, exit);
        Assert.Contains("version '1.0' is not MAJOR.MINOR.PATCH", stderr, StringComparison.Ordinal);

        var empty = PeerProcess.CreateTempDirectory("image-empty");
        try
        {
            (exit, _, stderr) = await GatewayImageFixture.RunAsync(script, ["1.0.0", empty]);
            Assert.Equal(1, exit);
            Assert.Contains("has no executable 'flotel'", stderr, StringComparison.Ordinal);
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(empty);
        }
    }

    /// <summary>The container's "listening syslog=… http=…" line (ports chosen by the gateway: no port race).</summary>
    private async Task<(IPEndPoint Syslog, IPEndPoint Http)> ListeningAsync(string name)
    {
        string? line = null;
        var started = await Eventually.PollAsync(async () =>
        {
            var logs = await LogsAsync(name);
            line = logs.Split('\n').FirstOrDefault(l => l.StartsWith("listening ", StringComparison.Ordinal));
            if (line is null && (await image.PodmanAsync("inspect", "--format", "{{.State.Status}}", name)).Trim() == "exited")
            {
                throw new InvalidOperationException("the container exited before listening:\n" + logs);
            }

            return line is not null;
        }, TimeSpan.FromSeconds(60));
        Assert.True(started, "no listening line in 60 s:\n" + await LogsAsync(name));
        var parts = line!.Split(' ').Skip(1).ToDictionary(
            p => p[..p.IndexOf('=', StringComparison.Ordinal)],
            p => IPEndPoint.Parse(p[(p.IndexOf('=', StringComparison.Ordinal) + 1)..]));
        Assert.Equal(IPAddress.Loopback, parts["syslog"].Address);
        Assert.Equal(IPAddress.Loopback, parts["http"].Address);
        return (parts["syslog"], parts["http"]);
    }

    private async Task<string> LogsAsync(string name)
    {
        var (_, stdout, stderr) = await GatewayImageFixture.RunAsync("podman", ["logs", name], image.Environment);
        return stdout + stderr;
    }
}
