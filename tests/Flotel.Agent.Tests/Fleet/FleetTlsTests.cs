using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Flotel.Agent.Fleet;
using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>
/// After enrolment every connection to the fleet listener must chain to the pinned fleet CA and presents the device
/// certificate (docs/fleet.md §4–§5): checked against a mutual-TLS server on 127.0.0.1.
/// </summary>
public sealed class FleetTlsTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FleetTestCa _ca = new();

    public void Dispose()
    {
        _ca.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task FleetClient_ListenerIssuedByThePinnedCa_ConnectsAndPresentsTheDeviceCertificate()
    {
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var server = new MutualTlsServer(_ca.Certificate);
        using var client = new FleetClient(new Uri(server.Url), identity.FleetListenerOptions());

        var reply = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Ok, reply.Kind);
        Assert.Equal("edge-device-1", server.ClientNames.Single());
    }

    [Fact]
    public async Task FleetClient_ListenerIssuedByAnotherCa_RefusedBeforeAnyRequest()
    {
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var impostor = new FleetTestCa("Impostor CA");
        using var server = new MutualTlsServer(impostor.Certificate);
        using var client = new FleetClient(new Uri(server.Url), identity.FleetListenerOptions());

        var reply = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Unavailable, reply.Kind);
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public async Task FleetClient_AfterReplace_NewConnectionsPresentTheRenewedCertificate()
    {
        var files = new FleetFiles(_temp.Path);
        using var identity = _ca.Enrol(files, "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var renewedPem = _ca.Sign(FleetEnrolment.CreateCsr(key), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
        identity.Replace(DeviceIdentity.LoadPair(renewedPem, key.ExportPkcs8PrivateKeyPem()));
        using var server = new MutualTlsServer(_ca.Certificate);
        using var client = new FleetClient(new Uri(server.Url), identity.FleetListenerOptions());

        var reply = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Ok, reply.Kind);
        using var renewed = X509Certificate2.CreateFromPem(renewedPem);
        Assert.Equal(renewed.Thumbprint, server.ClientThumbprints.Single());
    }

    [Fact]
    public async Task RemoteWriteSender_WithTheFleetIdentity_TrustsTheFleetCaAndPresentsTheDeviceCertificate()
    {
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var server = new MutualTlsServer(_ca.Certificate);
        var plan = new MetricsReceiverPlan { Url = server.Url + "/api/v1/write", TimeoutSeconds = 10 };

        using (var withoutFleet = new RemoteWriteSender(plan, TimeProvider.System, NullLogger.Instance))
        {
            Assert.IsType<DeliveryOutcome<WalScrape>.Retryable>(await withoutFleet.SendAsync([Scrape()], CancellationToken.None));
            Assert.Equal(0, server.Requests);
        }

        using var sender = new RemoteWriteSender(plan, TimeProvider.System, NullLogger.Instance, identity);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(await sender.SendAsync([Scrape()], CancellationToken.None));
        Assert.Equal(1, server.Requests);
        Assert.Equal("edge-device-1", server.ClientNames.Last());
    }

    private static WalScrape Scrape() =>
        WalScrape.FromSeries("system", [new TimeSeries(LabelSet.Of("__name__", "up", "edgedeviceid", "edge-device-1"), [new Sample(1000, 1)])]);

    /// <summary>An HTTPS server asking for a client certificate, answering 204 to one request per connection.</summary>
    private sealed class MutualTlsServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly Task _loop;
        private int _requests;

        public MutualTlsServer(X509Certificate2 ca)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=fleet listener", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3, 4]);
            using var withKey = issued.CopyWithPrivateKey(key);
            _certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url => "https://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Requests => Volatile.Read(ref _requests);

        public List<string> ClientNames { get; } = [];

        public List<string> ClientThumbprints { get; } = [];

        public void Dispose()
        {
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _certificate.Dispose();
        }

        private async Task LoopAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using (client)
                {
                    try
                    {
                        await using var ssl = new SslStream(client.GetStream());
                        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                        {
                            ServerCertificate = _certificate,
                            ClientCertificateRequired = true,
                            // The server records what the client presents; checking it is the gateway's part, not under test here.
#pragma warning disable CA5359
                            RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
                        });
                        if (ssl.RemoteCertificate is X509Certificate2 presented)
                        {
                            lock (ClientNames)
                            {
                                ClientNames.Add(presented.GetNameInfo(X509NameType.SimpleName, false));
                                ClientThumbprints.Add(presented.Thumbprint);
                            }
                        }

                        var head = new StringBuilder();
                        var buffer = new byte[1];
                        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await ssl.ReadAsync(buffer) == 1)
                        {
                            head.Append((char)buffer[0]);
                        }

                        if (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                        {
                            continue;
                        }

                        var length = head.ToString().Split("\r\n").Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                            .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                        var body = new byte[length];
                        await ssl.ReadExactlyAsync(body);
                        Interlocked.Increment(ref _requests);
                        await ssl.WriteAsync("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"u8.ToArray());
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                    {
                        // The client refused the certificate: the refusal under test.
                    }
                }
            }
        }
    }
}
