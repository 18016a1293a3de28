using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
        using var server = new LocalTlsServer(_ca.Certificate, requireClientCertificate: true);
        using var client = new FleetClient(new Uri(server.BaseUrl), identity.FleetListenerOptions());

        var reply = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Ok, reply.Kind);
        Assert.Equal("edge-device-1", server.ClientNames.Single());
    }

    [Fact]
    public async Task FleetClient_ListenerThatOffersNoHttp2_IsServedOverHttp11()
    {
        // LocalTlsServer answers the TLS handshake without ALPN and speaks HTTP/1.1 only (as a proxy in front of the
        // gateway might): the client asks for HTTP/2 or lower, so it falls back instead of failing.
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var server = new LocalTlsServer(_ca.Certificate, requireClientCertificate: true);
        using var client = new FleetClient(new Uri(server.BaseUrl), identity.FleetListenerOptions());

        var first = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);
        var second = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Ok, first.Kind);
        Assert.Equal(FleetReplyKind.Ok, second.Kind);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task FleetClient_ListenerIssuedByAnotherCa_RefusedBeforeAnyRequest()
    {
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var impostor = new FleetTestCa("Impostor CA");
        using var server = new LocalTlsServer(impostor.Certificate, requireClientCertificate: true);
        using var client = new FleetClient(new Uri(server.BaseUrl), identity.FleetListenerOptions());

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
        using var server = new LocalTlsServer(_ca.Certificate, requireClientCertificate: true);
        using var client = new FleetClient(new Uri(server.BaseUrl), identity.FleetListenerOptions());

        var reply = await client.PostStatusAsync(new StatusReport("1", 0, null, "applied", [], [], [], 0), CancellationToken.None);

        Assert.Equal(FleetReplyKind.Ok, reply.Kind);
        using var renewed = X509Certificate2.CreateFromPem(renewedPem);
        Assert.Equal(renewed.Thumbprint, server.ClientThumbprints.Single());
    }

    [Fact]
    public async Task RemoteWriteSender_WithTheFleetIdentity_TrustsTheFleetCaAndPresentsTheDeviceCertificate()
    {
        using var identity = _ca.Enrol(new FleetFiles(_temp.Path), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var server = new LocalTlsServer(_ca.Certificate, requireClientCertificate: true);
        var plan = new MetricsReceiverPlan { Url = server.BaseUrl + "/api/v1/write", TimeoutSeconds = 10 };

        using (var withoutFleet = new RemoteWriteSender(plan, TimeProvider.System, NullLogger.Instance))
        {
            Assert.IsType<DeliveryOutcome<WalScrape>.Retryable>(await withoutFleet.SendAsync([Scrape()], CancellationToken.None));
            Assert.Equal(0, server.Requests);
        }

        using var sender = new RemoteWriteSender(plan, TimeProvider.System, NullLogger.Instance, identity);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(await sender.SendAsync([Scrape()], CancellationToken.None));
        Assert.Equal(1, server.Requests);
        Assert.Equal("edge-device-1", server.ClientNames[^1]);
    }

    private static WalScrape Scrape() =>
        WalScrape.FromSeries("system", [new TimeSeries(LabelSet.Of("__name__", "up", "edgedeviceid", "edge-device-1"), [new Sample(1000, 1)])]);
}
