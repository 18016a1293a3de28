using Flotel.Agent.Metrics;
using Flotel.Gateway.Configuration;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// Flotel's <c>receiverConfiguration.authSecretName</c> against a real receiver that requires credentials: a Flotel
/// gateway with ingest auth. With the right Secret the blog's metrics arrive; with a wrong one nothing is stored and the
/// receiver's 401 is counted (and dead-lettered, as every 4xx other than 408/429).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsReceiverAuthTests
{
    private const string Device = "edge-device-1";

    [Theory]
    [InlineData("token", "t0ken-for-devices", true)]
    [InlineData("token", "not-the-token", false)]
    [InlineData("basic", "flotta:s3cret", true)]
    public async Task AuthSecret_GatewayRequiringCredentials_AcceptedOnlyWithTheRightOnes(string kind, string credentials, bool accepted)
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        await using var gateway = await InProcessGateway.StartAsync(o => o.IngestAuth = kind == "token"
            ? new AuthOptions { BearerToken = new Secret("t0ken-for-devices") }
            : new AuthOptions { Username = "flotta", Password = new Secret("s3cret") });
        var baseUrl = "http://" + gateway.Host.HttpEndPoint;
        var secretData = kind == "token"
            ? "  token: " + B64(credentials) + "\n"
            : "  username: " + B64(credentials.Split(':')[0]) + "\n  password: " + B64(credentials.Split(':')[1]) + "\n";
        var yaml = MetricsTestKit.BlogDevice(Device, baseUrl + "/api/v1/write").Replace(
            "      url: " + baseUrl + "/api/v1/write",
            "      url: " + baseUrl + "/api/v1/write\n      authSecretName: receiver-credentials",
            StringComparison.Ordinal)
            + "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: receiver-credentials\n  namespace: default\ndata:\n" + secretData;
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
                Assert.True(await MetricsTestKit.UntilAsync(() => Requests("reject") >= 2, TimeSpan.FromSeconds(45)));
                Assert.Equal(0, Requests("success"));
                Assert.Null(MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, baseUrl, $"node_memory_Mapped_bytes{{edgedeviceid=\"{Device}\"}}")));
                Assert.True(File.Exists(agent.GetMetricsComponent().DeadLetterPath));
                Assert.Contains("HTTP 401", await File.ReadAllTextAsync(agent.GetMetricsComponent().DeadLetterPath), StringComparison.Ordinal);
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
