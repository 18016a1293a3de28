using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>
/// A device that reconnects resumes its TLS session (docs/fleet.md §5, "Connections"): a resumed TLS 1.3 handshake
/// carries no certificates (RFC 8446 §2.2), so the gateway knows the device only from the session. These tests prove
/// that a resumed connection is still bound to the device certificate of the session, and that revocation, checked per
/// request, still refuses it.
/// </summary>
public sealed class FleetTlsResumptionTests
{
    private const string AdminToken = "admin-secret";

    [Fact]
    public async Task ResumedSession_IsBoundToTheDeviceOfItsCertificate_AndIsRefusedOnceTheDeviceIsDeleted()
    {
        await using var gateway = await LoopbackGateway.StartAsync("flotel-fleet-resume-", o =>
        {
            o.Fleet = new FleetOptions { Enabled = true, Address = "127.0.0.1:0" };
            o.AdminAuth = new AuthOptions { BearerToken = new SecretValue(AdminToken) };
        });
        using var admin = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var objects = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"));
        var objectList = new JsonArray([.. objects.Select(o => (JsonNode?)new JsonObject { ["yaml"] = o.Yaml, ["source"] = o.Source })]);
        var body = new JsonObject { ["objects"] = objectList };
        using (var applied = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body))
        {
            Assert.True(applied.IsSuccessStatusCode, await applied.Content.ReadAsStringAsync());
        }

        using var tokenResponse = await admin.PostAsJsonAsync(
            new Uri("api/fleet/tokens", UriKind.Relative), new JsonObject { ["device"] = "edge-device-1", ["ttlSeconds"] = 600 });
        var token = (string)JsonNode.Parse(await tokenResponse.Content.ReadAsStringAsync())!["token"]!;

        // .NET's client keeps TLS sessions by server name: an IP literal sends none (RFC 6066 §3) and never resumes, so
        // the device names the gateway by a DNS name of its certificate (the fleet listener's always has "localhost").
        var byName = new Uri($"https://localhost:{gateway.Host.FleetEndPoint!.Port}/");
        var (device, status, error) = await FleetDeviceClient.EnrollAsync(byName, token);
        Assert.True(device is not null, $"{status} {error}");
        using (device)
        {
            var first = await GetBundleOnNewConnectionAsync(byName, device);
            var second = await GetBundleOnNewConnectionAsync(byName, device);

            Assert.Equal(HttpStatusCode.OK, first.Status);
            Assert.Equal(HttpStatusCode.OK, second.Status);
            Assert.Equal("edge-device-1", first.Device);
            Assert.Equal("edge-device-1", second.Device);
            // The second handshake read no server certificate: it resumed the first one's session.
            Assert.True(
                second.BytesRead < first.BytesRead - first.ServerCertificateBytes,
                $"second connection read {second.BytesRead} bytes, the first {first.BytesRead} with a {first.ServerCertificateBytes}-byte certificate");

            // Deleting the EdgeDevice revokes its certificate; a connection resuming the device's session is refused.
            using (var deleted = await admin.DeleteAsync(new Uri("api/fleet/objects/edgedevice/edge-device-1", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            }

            var third = await GetBundleOnNewConnectionAsync(byName, device);
            Assert.Equal(HttpStatusCode.Unauthorized, third.Status);
            Assert.Equal("certificate revoked", third.Error);
            Assert.True(third.BytesRead < first.BytesRead - first.ServerCertificateBytes, $"third connection read {third.BytesRead} bytes: not resumed");
        }
    }

    /// <summary>
    /// GET /fleet/v1/bundle on a connection of its own, the certificate given as the agent gives it (a selection
    /// callback, <c>DeviceIdentity.FleetListenerOptions</c>): the status, the device the bundle is for (from its
    /// manifests) or the error, and the bytes the client read (handshake included).
    /// </summary>
    private static async Task<(HttpStatusCode Status, string? Device, string? Error, long BytesRead, int ServerCertificateBytes)> GetBundleOnNewConnectionAsync(
        Uri fleet, FleetDeviceClient device)
    {
        long read = 0;
        var serverCertificateBytes = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new ReadCountingStream(new NetworkStream(socket, ownsSocket: true), n => Interlocked.Add(ref read, n));
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            serverCertificateBytes = certificate?.GetRawCertData().Length ?? 0;
            return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && FleetDeviceClient.ChainsTo(certificate, device.Ca);
        };
        var certificate = device.Certificate!;
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync(new Uri(fleet, "fleet/v1/bundle?wait=0"));
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        var manifests = (string?)answer?["manifests"];
        var name = manifests is null ? null : DeviceNameOf(manifests);
        return (response.StatusCode, name, (string?)answer?["error"], Interlocked.Read(ref read), serverCertificateBytes);
    }

    /// <summary>The EdgeDevice a bundle's manifests are for (its <c>kind: EdgeDevice</c> object's name).</summary>
    private static string? DeviceNameOf(string manifests)
    {
        foreach (var document in manifests.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
        {
            if (!document.Contains("kind: EdgeDevice\n", StringComparison.Ordinal))
            {
                continue;
            }

            var line = document.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("name:", StringComparison.Ordinal));
            return line?["name:".Length..].Trim();
        }

        return null;
    }

    /// <summary>Counts the bytes read from the socket: a full TLS handshake reads the server's certificate, a resumed one does not.</summary>
    private sealed class ReadCountingStream(Stream inner, Action<int> onRead) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            onRead(n);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            onRead(n);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
