using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Tests.Fleet;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Fleet;

/// <summary>
/// The fleet control plane end to end: a real <c>flotel gateway</c> process with the fleet enabled, the operator's
/// <c>flotel apply|token create|get|delete</c> as processes, and a device enrolling and pulling over mutual TLS as the
/// contract (docs/fleet.md §4–5) says.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class FleetEndToEndTests
{
    private const string AdminToken = "fleet-admin-secret";

    [Fact]
    public async Task Operator_AppliesAndMintsToken_DeviceEnrolsPullsReports_ReuseAndRevocationRefused()
    {
        var data = PeerProcess.CreateTempDirectory("fleet-gateway");
        try
        {
            var config = Path.Combine(data, "gateway.yaml");
            await File.WriteAllTextAsync(config, $"fleet:\n  enabled: true\n  address: 127.0.0.1:0\nauth:\n  admin: {{bearerToken: {AdminToken}}}\n");
            using var gateway = await GatewayProcess.StartAsync(data, extraArguments: ["--config", config]);
            Assert.NotNull(gateway.FleetEndPoint);
            var admin = "http://" + gateway.HttpEndPoint;
            var fleet = new Uri("https://" + gateway.FleetEndPoint);
            var blog = Path.Combine(TestPaths.RepoRoot(), "examples", "blog");

            var apply = await FlotelAsync("apply", "-f", blog, "--gateway", admin);
            Assert.True(apply.Code == 0, apply.Error);
            Assert.Contains("edgedevice/edge-device-1 created", apply.Output, StringComparison.Ordinal);

            var unauthorized = await FlotelAsync(withToken: false, "get", "devices", "--gateway", admin);
            Assert.Equal(1, unauthorized.Code);
            Assert.Contains("FLOTEL_ADMIN_TOKEN", unauthorized.Error, StringComparison.Ordinal);

            var token = await FlotelAsync("token", "create", "--device", "edge-device-1", "--gateway", admin);
            Assert.True(token.Code == 0, token.Error);
            var (client, status, error) = await FleetDeviceClient.EnrollAsync(fleet, token.Output.Trim());
            Assert.True(client is not null, $"enrolment: {status} {error}\n{gateway.Stderr}");
            using (client)
            {
                var (_, reuseStatus, reuseError) = await FleetDeviceClient.EnrollAsync(fleet, token.Output.Trim());
                Assert.Equal((HttpStatusCode.Unauthorized, "token already used"), (reuseStatus, reuseError));

                var (s1, b1, _) = await client.GetBundleAsync(null, 0);
                Assert.Equal(HttpStatusCode.OK, s1);
                var digest = (string)b1!["digest"]!;
                Assert.Equal(HttpStatusCode.NotModified, (await client.GetBundleAsync(digest, 0)).Status);

                // The long-poll is held until an apply changes this device's bundle.
                var poll = client.GetBundleAsync(digest, 300);
                await Eventually.TrueAsync(
                    () => MetricsText(gateway).Contains("flotel_fleet_longpolls_waiting 1", StringComparison.Ordinal),
                    "the long-poll is held",
                    30);
                var changed = PeerProcess.CreateTempDirectory("fleet-manifests");
                foreach (var file in Directory.GetFiles(blog, "*.yaml"))
                {
                    var text = await File.ReadAllTextAsync(file);
                    await File.WriteAllTextAsync(
                        Path.Combine(changed, Path.GetFileName(file)),
                        text.Replace("interval: 5", "interval: 15", StringComparison.Ordinal));
                }

                var reapply = await FlotelAsync("apply", "-f", changed, "--gateway", admin);
                Assert.True(reapply.Code == 0, reapply.Error);
                Assert.Contains("edgedevice/edge-device-1 configured", reapply.Output, StringComparison.Ordinal);
                var (s2, b2, _) = await poll;
                Assert.Equal(HttpStatusCode.OK, s2);
                Assert.Equal(2, (long)b2!["generation"]!);
                Assert.Contains("interval: 15", (string)b2["manifests"]!, StringComparison.Ordinal);
                GatewayTestKit.DeleteDirectory(changed);

                Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(new JsonObject
                {
                    ["agentVersion"] = "0.2.0+e2e", ["generation"] = 2, ["digest"] = (string)b2["digest"]!, ["applyStatus"] = "applied",
                    ["workloads"] = new JsonArray(new JsonObject { ["name"] = "random-workload", ["state"] = "running" }),
                }));

                var get = await FlotelAsync("get", "devices", "-o", "json", "--gateway", admin);
                Assert.True(get.Code == 0, get.Error);
                var device = JsonNode.Parse(get.Output)!.AsArray().Single()!;
                Assert.Equal("edge-device-1", (string)device["name"]!);
                Assert.True(DateTimeOffset.TryParse((string?)device["lastSeen"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _));
                Assert.Equal((2L, 2L, "applied"), ((long)device["desiredGeneration"]!, (long)device["appliedGeneration"]!, (string)device["status"]!));
                Assert.Equal("0.2.0+e2e", (string)device["agentVersion"]!);

                var delete = await FlotelAsync("delete", "device", "edge-device-1", "--gateway", admin);
                Assert.True(delete.Code == 0, delete.Error);
                var (s3, b3, _) = await client.GetBundleAsync(null, 0);
                Assert.Equal(HttpStatusCode.Unauthorized, s3);
                Assert.Equal("certificate revoked", (string)b3!["error"]!);
            }

            Assert.Equal(0, await gateway.SignalAndWaitAsync(15, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    private static string MetricsText(GatewayProcess gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("metrics", UriKind.Relative));
        using var response = gateway.Http.Send(request);
        using var reader = new StreamReader(response.Content.ReadAsStream());
        return reader.ReadToEnd();
    }

    private static Task<(int Code, string Output, string Error)> FlotelAsync(params string[] args) => FlotelAsync(true, args);

    /// <summary>Runs <c>dotnet flotel.dll ARGS</c> to its exit, with the admin token in FLOTEL_ADMIN_TOKEN unless <paramref name="withToken"/> is false.</summary>
    private static Task<(int Code, string Output, string Error)> FlotelAsync(bool withToken, params string[] args) => GatewayProcess.RunCliAsync(withToken ? AdminToken : null, args);
}
