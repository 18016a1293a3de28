using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Tests.Fleet;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Fleet;

/// <summary>
/// Identity on ingest and revocation (docs/fleet.md §6) with real processes on loopback: a <c>flotel gateway</c> with the
/// fleet and syslog over TLS, the operator's <c>flotel apply|token create|delete</c>, and a device enrolled over the
/// fleet listener that sends with its certificate, claiming to be <c>someone-else</c>: <c>_search</c> and PromQL show the
/// device's own name; <c>flotel delete edgedevice</c> closes its open TLS connection and refuses what it sends next.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class FleetIngestIdentityProcessTests
{
    private const string AdminToken = "fleet-admin-secret";
    private const string Device = "edge-device-1";

    [Fact]
    public async Task EnrolledDevice_SpoofedIdentityIsOverwritten_AndDeleteClosesItsConnectionAndRefusesNewData()
    {
        var data = PeerProcess.CreateTempDirectory("fleet-identity");
        try
        {
            var (certificate, key, thumbprint) = SyslogTlsClient.WriteServerCertificate(data);
            var syslogTlsPort = Loopback.FreePort();
            var config = Path.Combine(data, "gateway.yaml");
            await File.WriteAllTextAsync(config, $"""
                fleet:
                  enabled: true
                  address: 127.0.0.1:0
                auth:
                  admin:
                    bearerToken: {AdminToken}
                syslog:
                  tls:
                    certificate: {certificate}
                    key: {key}
                    address: 127.0.0.1:{syslogTlsPort}
                """);
            using var gateway = await GatewayProcess.StartAsync(data, extraArguments: ["--config", config]);
            var admin = "http://" + gateway.HttpEndPoint;
            var fleet = new Uri("https://" + gateway.FleetEndPoint);
            var syslogTls = new IPEndPoint(IPAddress.Loopback, syslogTlsPort);

            var apply = await FlotelAsync("apply", "-f", Path.Combine(TestPaths.RepoRoot(), "examples", "blog"), "--gateway", admin);
            Assert.True(apply.Code == 0, apply.Error);
            var token = await FlotelAsync("token", "create", "--device", Device, "--gateway", admin);
            Assert.True(token.Code == 0, token.Error);
            var (client, status, error) = await FleetDeviceClient.EnrollAsync(fleet, token.Output.Trim());
            Assert.True(client is not null, $"enrolment: {status} {error}\n{gateway.Stderr}");
            using (client)
            {
                // Syslog over TLS with the device certificate, in Flotta's layout and in RFC 5424 with Flotel's
                // structured data, each naming someone else.
                var marker = "spoof" + Guid.NewGuid().ToString("N")[..8];
                using var open = await SyslogTlsClient.ConnectAsync(syslogTls, thumbprint, client.Certificate);
                await SyslogTlsClient.SendAsync(open,
                    $"<14>2026-12-06T10:00:00.000Z someone-else workload[7]: {new string('b', 64)}: {marker} flotta\n" +
                    $"<14>1 2026-12-06T10:00:01.000Z someone-else app 1 - [flotel@32473 device=\"someone-else\" workload=\"w\"] {marker} rfc5424\n");
                var hits = await HitsAsync(gateway, marker, 2);
                Assert.Equal(2, hits.Count);
                Assert.All(hits, h => Assert.Equal(
                    (Device, Device, Device),
                    ((string?)h!["_source"]!["device_id"], (string?)h["_source"]!["host"], (string?)h["_source"]!["logsource"])));

                // Remote write on the fleet listener with the device certificate, labelled as someone else.
                using (var written = await client.Http.SendAsync(GatewayTestKit.RemoteWrite(Body("fleet_identity_probe", "someone-else"))))
                {
                    Assert.Equal(HttpStatusCode.NoContent, written.StatusCode);
                }

                JsonArray? series = null;
                Assert.True(await Eventually.PollAsync(async () =>
                {
                    series = await GatewayTestKit.InstantQueryAsync(gateway.Http, "fleet_identity_probe");
                    return series is { Count: > 0 };
                }, TimeSpan.FromSeconds(30)), "the remote-written sample was not stored\n" + gateway.Stderr);
                Assert.Equal(Device, (string?)Assert.Single(series!)!["metric"]!["edgedeviceid"]);
                Assert.Empty((await GatewayTestKit.InstantQueryAsync(gateway.Http, "{edgedeviceid=\"someone-else\"}"))!);

                // The operator deletes the device: its open connection ends, and it can send nothing more.
                var delete = await FlotelAsync("delete", "edgedevice", Device, "--gateway", admin);
                Assert.True(delete.Code == 0, delete.Error);
                Assert.True(await SyslogTlsClient.ClosedAsync(open, TimeSpan.FromSeconds(30)), "the device's open syslog TLS connection was not closed\n" + gateway.Stderr);

                var late = "late" + Guid.NewGuid().ToString("N")[..8];
                Assert.True(await SyslogTlsClient.RefusedAsync(syslogTls, thumbprint, client.Certificate!, $"<14>1 2026-12-06T10:00:02.000Z x app 1 - - {late}\n"), "a new handshake with the revoked certificate was served");
                using (var refused = await client.Http.SendAsync(GatewayTestKit.RemoteWrite(Body("fleet_identity_late", Device))))
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
                }

                // A line without a certificate, sent after the refused one, is stored: the refused one had its chance.
                var after = "after" + Guid.NewGuid().ToString("N")[..8];
                using (var anonymous = await SyslogTlsClient.ConnectAsync(syslogTls, thumbprint, clientCertificate: null))
                {
                    await SyslogTlsClient.SendAsync(anonymous, $"<14>1 2026-12-06T10:00:03.000Z x app 1 - - {after}\n");
                }

                Assert.Single(await HitsAsync(gateway, after, 1));
                Assert.Equal(0, await GatewayTestKit.CountAsync(gateway.Http, "_all", $"{{\"query\":{{\"match\":{{\"message\":\"{late}\"}}}}}}"));
                Assert.Empty((await GatewayTestKit.InstantQueryAsync(gateway.Http, "fleet_identity_late"))!);

                var metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
                Assert.Equal(2, GatewayTestKit.ExpositionValue(metrics, "flotel_fleet_identity_overwrites_total{kind=\"logs\"}"));
                Assert.Equal(1, GatewayTestKit.ExpositionValue(metrics, "flotel_fleet_identity_overwrites_total{kind=\"samples\"}"));
                Assert.Equal(1, GatewayTestKit.ExpositionValue(metrics, "flotel_fleet_revoked_connections_closed_total"));
                Assert.Equal(1, GatewayTestKit.ExpositionValue(metrics, "flotel_fleet_revoked_refusals_total{where=\"syslog_tls_handshake\"}"));
            }

            Assert.Equal(0, await gateway.SignalAndWaitAsync(15, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task EnrolledAgent_RemoteWritesThroughTheFleetListener_UnderItsName_UntilItsDeviceIsDeleted()
    {
        var data = PeerProcess.CreateTempDirectory("fleet-identity-agent");
        Process? agent = null;
        var agentOutput = new StringBuilder();
        try
        {
            var config = Path.Combine(data, "gateway.yaml");
            await File.WriteAllTextAsync(config, $"""
                fleet:
                  enabled: true
                  address: 127.0.0.1:0
                auth:
                  admin:
                    bearerToken: {AdminToken}
                """);
            var gatewayData = Path.Combine(data, "gateway");
            Directory.CreateDirectory(gatewayData);
            using var gateway = await GatewayProcess.StartAsync(gatewayData, extraArguments: ["--config", config]);
            var admin = "http://" + gateway.HttpEndPoint;
            var device = Path.Combine(data, "device.yaml");
            await File.WriteAllTextAsync(device, $"""
                apiVersion: management.project-flotta.io/v1alpha1
                kind: EdgeDevice
                metadata:
                  name: edge-agent
                spec:
                  metrics:
                    receiverConfiguration:
                      url: https://127.0.0.1:{gateway.FleetEndPoint!.Port}/api/v1/write
                    system:
                      interval: 5
                """);
            var apply = await FlotelAsync("apply", "-f", device, "--gateway", admin);
            Assert.True(apply.Code == 0, apply.Error);
            var token = await FlotelAsync("token", "create", "--device", "edge-agent", "--gateway", admin);
            Assert.True(token.Code == 0, token.Error);

            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { GatewayProcess.FlotelDll, "agent", "--gateway", "https://" + gateway.FleetEndPoint, "--token", token.Output.Trim(),
                "--data", Path.Combine(data, "agent"), "--podman-socket", Path.Combine(data, "no-podman.sock"), "--node-exporter", "http://127.0.0.1:1/metrics" })
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            agent = new Process { StartInfo = info };
            agent.OutputDataReceived += (_, e) => { lock (agentOutput) { agentOutput.AppendLine(e.Data); } };
            agent.ErrorDataReceived += (_, e) => { lock (agentOutput) { agentOutput.AppendLine(e.Data); } };
            agent.Start();
            agent.BeginOutputReadLine();
            agent.BeginErrorReadLine();

            // The agent's own metrics, remote-written to the fleet listener with its device certificate.
            JsonArray? series = null;
            Assert.True(await Eventually.PollAsync(async () =>
            {
                series = await GatewayTestKit.InstantQueryAsync(gateway.Http, "{edgedeviceid=\"edge-agent\"}");
                return series is { Count: > 0 };
            }, TimeSpan.FromSeconds(90)), "no sample of the agent arrived through the fleet listener\n" + agentOutput + "\n" + gateway.Stderr);
            var metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            Assert.True(GatewayTestKit.ExpositionValue(metrics, "flotel_fleet_identity_overwrites_total{kind=\"samples\"}") > 0, metrics);

            // Deleted: the agent's next remote write (and bundle poll) is refused.
            var delete = await FlotelAsync("delete", "device", "edge-agent", "--gateway", admin);
            Assert.True(delete.Code == 0, delete.Error);
            Assert.True(await Eventually.PollAsync(async () =>
            {
                var text = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
                return GatewayTestKit.ExpositionValue(text, "flotel_fleet_revoked_refusals_total{where=\"fleet_request\"}") > 0;
            }, TimeSpan.FromSeconds(60)), "the deleted device's requests were not refused\n" + agentOutput);
            Assert.Equal(0, await gateway.SignalAndWaitAsync(15, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            if (agent is not null)
            {
                if (!agent.HasExited)
                {
                    agent.Kill();
                    agent.WaitForExit(10_000);
                }

                agent.Dispose();
            }

            GatewayTestKit.DeleteDirectory(data);
        }
    }

    private static byte[] Body(string metric, string edgeDeviceId) => RemoteWriteCodec.Encode(new WriteRequest(
        [new TimeSeries(LabelSet.Of("__name__", metric, "edgedeviceid", edgeDeviceId), [new Sample(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1)])]));

    private static async Task<JsonArray> HitsAsync(GatewayProcess gateway, string marker, int expected)
    {
        var body = $"{{\"query\":{{\"match\":{{\"message\":\"{marker}\"}}}}}}";
        var hits = new JsonArray();
        Assert.True(await Eventually.PollAsync(async () =>
        {
            hits = (await GatewayTestKit.SearchAsync(gateway.Http, "_all", body))["hits"]!["hits"]!.AsArray();
            return hits.Count >= expected;
        }, TimeSpan.FromSeconds(30)), $"{marker}: {hits.Count} of {expected} lines stored\n{gateway.Stderr}");
        return hits;
    }

    /// <summary>Runs <c>dotnet flotel.dll ARGS</c> to its exit, with the admin token in FLOTEL_ADMIN_TOKEN.</summary>
    private static Task<(int Code, string Output, string Error)> FlotelAsync(params string[] args) => GatewayProcess.RunCliAsync(AdminToken, args);
}
