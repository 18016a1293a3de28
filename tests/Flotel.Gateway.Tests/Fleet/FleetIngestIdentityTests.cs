using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>
/// docs/fleet.md §6 through a whole in-process gateway over real TLS: data sent with a device certificate (syslog over
/// TLS, remote write on the fleet listener) is stored under the certificate's device whatever the sender wrote, data
/// without one keeps its fields, and deleting the EdgeDevice closes the device's connections and refuses it from then on.
/// </summary>
public sealed class FleetIngestIdentityTests : IDisposable
{
    private const string AdminToken = "admin-secret";
    private const string Device = "edge-a";
    private readonly TempDirectory _files = new("flotel-identity-");

    [Fact]
    public async Task DeviceCertificate_OverwritesSpoofedIdentity_OnSyslogTlsAndRemoteWrite_AndRevocationClosesAndRefuses()
    {
        var (certificate, key, thumbprint) = SyslogTlsClient.WriteServerCertificate(_files.Path);
        await using var gateway = await LoopbackGateway.StartAsync("flotel-identity-gw-", o =>
        {
            o.Fleet = new FleetOptions { Enabled = true, Address = "127.0.0.1:0" };
            o.AdminAuth = new AuthOptions { BearerToken = new SecretValue(AdminToken) };
            o.SyslogTlsAddress = "127.0.0.1:0";
            o.SyslogTls = new TlsOptions { CertificateFile = certificate, KeyFile = key };
        });
        var fleet = new Uri("https://" + gateway.Host.FleetEndPoint);
        using var admin = Admin(gateway);
        await ApplyDeviceAsync(admin);
        var (client, status, error) = await FleetDeviceClient.EnrollAsync(fleet, await CreateTokenAsync(admin));
        Assert.True(client is not null, $"{status} {error}");
        using (client)
        {
            // Syslog over TLS with the device certificate, claiming to be someone else in every field it can.
            var marker = "spoof" + Guid.NewGuid().ToString("N")[..8];
            using var deviceTls = await SyslogTlsClient.ConnectAsync(gateway.Host.SyslogTlsEndPoint!, thumbprint, client.Certificate);
            await SyslogTlsClient.SendAsync(deviceTls,
                $"<14>1 2026-12-06T10:00:00.000Z someone-else app 1 - [flotel@32473 device=\"someone-else\" workload=\"w\"] {marker} one\n" +
                $"<14>2026-12-06T10:00:01.000Z someone-else w[7]: {new string('c', 64)}: {marker} two\n");

            // Without a certificate the TLS listener still takes lines (a client certificate is optional), as sent.
            var plainMarker = "plain" + Guid.NewGuid().ToString("N")[..8];
            using (var anonymous = await SyslogTlsClient.ConnectAsync(gateway.Host.SyslogTlsEndPoint!, thumbprint, clientCertificate: null))
            {
                await SyslogTlsClient.SendAsync(anonymous, $"<14>1 2026-12-06T10:00:02.000Z someone-else app 1 - - {plainMarker}\n");
            }

            var spoofed = await SearchAsync(gateway, marker, expected: 2);
            Assert.All(spoofed, s => Assert.Equal((Device, Device, Device), (s.GetProperty("device_id").GetString(), s.GetProperty("host").GetString(), s.GetProperty("logsource").GetString())));
            var plain = Assert.Single(await SearchAsync(gateway, plainMarker, expected: 1));
            Assert.Equal(("someone-else", "127.0.0.1"), (plain.GetProperty("logsource").GetString(), plain.GetProperty("host").GetString()));

            // Remote write on the fleet listener with the device certificate: edgedeviceid is the device's.
            using (var written = await client.Http.SendAsync(RemoteWrite("identity_probe", "someone-else")))
            {
                Assert.Equal(HttpStatusCode.NoContent, written.StatusCode);
            }

            Assert.Equal(["edge-a"], await SeriesDeviceAsync(gateway, "identity_probe", expected: 1));

            // The same route without a certificate, or on the fleet listener with another CA's certificate: 401.
            using (var anonymousHttp = FleetDeviceClient.WithCertificate(fleet, client.Ca, SelfSigned("CN=" + Device)))
            using (var refused = await anonymousHttp.Http.SendAsync(RemoteWrite("identity_other_ca", "edge-a")))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            // On the HTTP listener remote write is unchanged: what the sender wrote is kept.
            using (var http = await gateway.Http.SendAsync(RemoteWrite("identity_plain", "someone-else")))
            {
                Assert.Equal(HttpStatusCode.NoContent, http.StatusCode);
            }

            Assert.Equal(["someone-else"], await SeriesDeviceAsync(gateway, "identity_plain", expected: 1));

            var metrics = gateway.Host.Metrics.ToText();
            Assert.Contains("flotel_fleet_identity_overwrites_total{kind=\"logs\"} 2", metrics, StringComparison.Ordinal);
            Assert.Contains("flotel_fleet_identity_overwrites_total{kind=\"samples\"} 1", metrics, StringComparison.Ordinal);

            // Delete the EdgeDevice: its open syslog TLS connection is closed, a new handshake and remote write refused.
            using (var deleted = await admin.DeleteAsync(new Uri("api/fleet/objects/edgedevice/" + Device, UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            }

            Assert.True(await SyslogTlsClient.ClosedAsync(deviceTls, TimeSpan.FromSeconds(20)), "the device's open syslog TLS connection was not closed");
            await Eventually.TrueAsync(() => gateway.Host.Metrics.ToText().Contains("flotel_fleet_revoked_connections_closed_total 1", StringComparison.Ordinal), "the closed connection is counted");

            var lateMarker = "late" + Guid.NewGuid().ToString("N")[..8];
            await RefusedOrClosedAsync(gateway, thumbprint, client.Certificate!, $"<14>1 2026-12-06T10:00:03.000Z x app 1 - - {lateMarker}\n");
            await Eventually.TrueAsync(
                () => gateway.Host.Metrics.ToText().Contains("flotel_fleet_revoked_refusals_total{where=\"syslog_tls_handshake\"} 1", StringComparison.Ordinal),
                "the refused handshake is counted");

            using (var late = await client.Http.SendAsync(RemoteWrite("identity_late", "edge-a")))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
                Assert.Equal("certificate revoked", (string)JsonNode.Parse(await late.Content.ReadAsStringAsync())!["error"]!);
            }

            // A plain line sent after everything else is stored, so the refused one had its chance to be stored too.
            var afterMarker = "after" + Guid.NewGuid().ToString("N")[..8];
            using (var anonymous = await SyslogTlsClient.ConnectAsync(gateway.Host.SyslogTlsEndPoint!, thumbprint, clientCertificate: null))
            {
                await SyslogTlsClient.SendAsync(anonymous, $"<14>1 2026-12-06T10:00:04.000Z x app 1 - - {afterMarker}\n");
            }

            _ = await SearchAsync(gateway, afterMarker, expected: 1);
            Assert.Empty(await SearchAsync(gateway, lateMarker, expected: 0));
            Assert.Empty(await SeriesDeviceAsync(gateway, "identity_late", expected: 0));
        }
    }

    [Fact]
    public async Task SyslogTls_WithClientCa_StillRequiresACertificate_AndTakesDeviceCertificatesToo()
    {
        var (certificate, key, thumbprint) = SyslogTlsClient.WriteServerCertificate(_files.Path);
        var clientCaFile = Path.Combine(_files.Path, "client-ca.crt");
        await File.WriteAllTextAsync(clientCaFile, SelfSigned("CN=operator ca").ExportCertificatePem());
        await using var gateway = await LoopbackGateway.StartAsync("flotel-identity-mtls-", o =>
        {
            o.Fleet = new FleetOptions { Enabled = true, Address = "127.0.0.1:0" };
            o.AdminAuth = new AuthOptions { BearerToken = new SecretValue(AdminToken) };
            o.SyslogTlsAddress = "127.0.0.1:0";
            o.SyslogTls = new TlsOptions { CertificateFile = certificate, KeyFile = key, ClientCaFile = clientCaFile };
        });
        using var admin = Admin(gateway);
        await ApplyDeviceAsync(admin);
        var (client, status, error) = await FleetDeviceClient.EnrollAsync(new Uri("https://" + gateway.Host.FleetEndPoint), await CreateTokenAsync(admin));
        Assert.True(client is not null, $"{status} {error}");
        using (client)
        {
            var refusedMarker = "nocert" + Guid.NewGuid().ToString("N")[..8];
            await RefusedOrClosedAsync(gateway, thumbprint, clientCertificate: null, $"<14>1 2026-12-06T10:00:00.000Z x app 1 - - {refusedMarker}\n");

            var marker = "mtls" + Guid.NewGuid().ToString("N")[..8];
            using (var device = await SyslogTlsClient.ConnectAsync(gateway.Host.SyslogTlsEndPoint!, thumbprint, client.Certificate))
            {
                await SyslogTlsClient.SendAsync(device, $"<14>1 2026-12-06T10:00:01.000Z someone-else app 1 - - {marker}\n");
            }

            Assert.Equal(Device, Assert.Single(await SearchAsync(gateway, marker, expected: 1)).GetProperty("device_id").GetString());
            Assert.Empty(await SearchAsync(gateway, refusedMarker, expected: 0));
        }
    }

    public void Dispose() => _files.Dispose();

    private static HttpRequestMessage RemoteWrite(string metric, string edgeDeviceId)
    {
        var body = RemoteWriteCodec.Encode(new WriteRequest(
            [new TimeSeries(LabelSet.Of("__name__", metric, "edgedeviceid", edgeDeviceId, "job", "probe"), [new Sample(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1)])]));
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/write", UriKind.Relative)) { Content = content };
        request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        return request;
    }

    /// <summary>The <c>edgedeviceid</c> of every series of <paramref name="metric"/>, once <paramref name="expected"/> are there (or after 20 s).</summary>
    private static async Task<List<string?>> SeriesDeviceAsync(LoopbackGateway gateway, string metric, int expected)
    {
        var devices = new List<string?>();
        await Eventually.PollAsync(async () =>
        {
            var answer = JsonNode.Parse(await gateway.Http.GetStringAsync(new Uri("api/v1/query?query=" + metric, UriKind.Relative)))!;
            devices = [.. answer["data"]!["result"]!.AsArray().Select(r => (string?)r!["metric"]!["edgedeviceid"])];
            return devices.Count >= expected && expected > 0;
        }, TimeSpan.FromSeconds(expected > 0 ? 20 : 2));
        return devices;
    }

    /// <summary>The <c>_source</c> of every event whose message holds <paramref name="marker"/>, once <paramref name="expected"/> are stored (or after 20 s).</summary>
    private static async Task<List<JsonElement>> SearchAsync(LoopbackGateway gateway, string marker, int expected)
    {
        var sources = new List<JsonElement>();
        await Eventually.PollAsync(async () =>
        {
            using var content = new StringContent($"{{\"query\":{{\"match\":{{\"message\":\"{marker}\"}}}}}}", Encoding.UTF8, "application/json");
            using var response = await gateway.Http.PostAsync(new Uri("_all/_search", UriKind.Relative), content);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            sources = [.. json.RootElement.GetProperty("hits").GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("_source").Clone())];
            return sources.Count >= expected && expected > 0;
        }, TimeSpan.FromSeconds(expected > 0 ? 20 : 2));
        return sources;
    }

    /// <summary>
    /// A handshake the server refuses: with TLS 1.3 the client may finish its side before the server judged its
    /// certificate, so the refusal shows either in the handshake or as the connection ending right after it.
    /// </summary>
    private static async Task RefusedOrClosedAsync(LoopbackGateway gateway, string thumbprint, X509Certificate2? clientCertificate, string line)
    {
        SslStream ssl;
        try
        {
            ssl = await SyslogTlsClient.ConnectAsync(gateway.Host.SyslogTlsEndPoint!, thumbprint, clientCertificate);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            return;
        }

        using (ssl)
        {
            try
            {
                await SyslogTlsClient.SendAsync(ssl, line);
            }
            catch (IOException)
            {
                return;
            }

            Assert.True(await SyslogTlsClient.ClosedAsync(ssl, TimeSpan.FromSeconds(20)), "the server kept a connection it should have refused");
        }
    }

    private static async Task ApplyDeviceAsync(HttpClient admin)
    {
        var yaml = $"apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\nmetadata:\n  name: {Device}\nspec: {{}}\n";
        var body = new JsonObject { ["objects"] = new JsonArray(new JsonObject { ["yaml"] = yaml, ["source"] = "device.yaml:1" }) };
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> CreateTokenAsync(HttpClient admin)
    {
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/tokens", UriKind.Relative), new JsonObject { ["device"] = Device, ["ttlSeconds"] = 600 });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (string)JsonNode.Parse(text)!["token"]!;
    }

    private static HttpClient Admin(LoopbackGateway gateway)
    {
        var http = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
