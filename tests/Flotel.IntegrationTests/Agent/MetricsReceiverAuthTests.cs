using Flotel.Agent.Metrics;
using Flotel.Gateway.Configuration;
using System.Text.Json.Nodes;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// Flotel's <c>receiverConfiguration.authSecretName</c> against a real receiver that requires credentials: a Flotel
/// gateway with ingest auth. With the right Secret the blog's metrics arrive; with a wrong one nothing is stored, the
/// receiver's 401 is retried (not dead-lettered: an operator fixes credentials), and once the Secret is fixed the scrapes
/// kept in the WAL meanwhile arrive too.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsReceiverAuthTests
{
    private const string Device = "edge-device-1";

    [Theory]
    [InlineData("token", "t0ken-for-devices", true)]
    [InlineData("basic", "flotta:s3cret", true)]
    [InlineData("token", "not-the-token", false)]
    public async Task AuthSecret_GatewayRequiringCredentials_AcceptedWithTheRightOnesRetriedUntilFixed(string kind, string credentials, bool accepted)
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        await using var gateway = await InProcessGateway.StartAsync(o => o.IngestAuth = kind == "token"
            ? new AuthOptions { BearerToken = new SecretValue("t0ken-for-devices") }
            : new AuthOptions { Username = "flotta", Password = new SecretValue("s3cret") });
        var baseUrl = "http://" + gateway.Host.HttpEndPoint;
        var secretData = kind == "token"
            ? "  token: " + B64(credentials) + "\n"
            : "  username: " + B64(credentials.Split(':')[0]) + "\n  password: " + B64(credentials.Split(':')[1]) + "\n";
        string Yaml(string data) => MetricsTestKit.BlogDevice(Device, baseUrl + "/api/v1/write").Replace(
            "      url: " + baseUrl + "/api/v1/write",
            "      url: " + baseUrl + "/api/v1/write\n      authSecretName: receiver-credentials",
            StringComparison.Ordinal)
            + "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: receiver-credentials\n  namespace: default\ndata:\n" + data;
        var yaml = Yaml(secretData);
        Assert.Contains("authSecretName", yaml, StringComparison.Ordinal);
        var manifests = MetricsTestKit.WriteManifests(yaml);
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            await using var agent = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            long Requests(string result) => agent.Metrics.Sum("flotel_output_requests_total", ("output", MetricsComponent.OutputName), ("result", result));
            if (accepted)
            {
                Assert.True(
                    await MetricsTestKit.UntilAsync(
                        async () => MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, baseUrl, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}")) is not null,
                        TimeSpan.FromSeconds(45)),
                    $"metrics did not arrive; requests ok={Requests("success")} rejected={Requests("reject")}");
                Assert.Equal(0, Requests("reject"));
            }
            else
            {
                Assert.True(await MetricsTestKit.UntilAsync(() => Requests("retry") >= 2, TimeSpan.FromSeconds(45)), $"retries={Requests("retry")} rejected={Requests("reject")}");
                Assert.Equal(0, Requests("success"));
                Assert.Equal(0, Requests("reject"));
                Assert.Null(MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, baseUrl, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}")));
                Assert.False(File.Exists(agent.GetMetricsComponent().DeadLetterPath), "scrapes were dead-lettered");

                // The operator fixes the Secret: what the WAL kept while the receiver said 401 arrives too.
                var fixedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                MetricsTestKit.WriteManifests(Yaml("  token: " + B64("t0ken-for-devices") + "\n"), manifests);
                Assert.True(await agent.ReloadAsync(), "the fixed manifests were not applied");
                JsonArray? stored = null;
                Assert.True(
                    await MetricsTestKit.UntilAsync(
                        async () => (stored = await MetricsTestKit.QueryAsync(http, baseUrl, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}[10m]")) is { Count: 1 },
                        TimeSpan.FromSeconds(45)),
                    $"metrics did not arrive after the fix; retries={Requests("retry")} ok={Requests("success")}");
                var oldest = stored![0]!["values"]!.AsArray().Min(v => (double)v![0]!);
                Assert.True(oldest * 1000 < fixedAt, $"oldest sample {oldest} s is not from before the fix at {fixedAt} ms");
                Assert.Equal(0, Requests("reject"));
            }
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }

    private static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));
}
