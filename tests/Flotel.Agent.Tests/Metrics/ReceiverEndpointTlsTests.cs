using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Metrics;

/// <summary>
/// <c>caSecretName</c> (docs/reference/flotta-device-worker.md §2.5, §4.7): for an https receiver the Secret's <c>ca.crt</c> is the trust root. An
/// HTTPS receiver on 127.0.0.1 with a certificate issued by a test CA is reached with that CA and refused with another.
/// </summary>
public sealed class ReceiverEndpointTlsTests
{
    [Fact]
    public async Task SendAsync_HttpsReceiverSignedBySecretsCa_Delivered()
    {
        using var ca = CreateCa("Flotel Test CA");
        using var server = new LocalTlsServer(ca);
        using var sender = Sender(server.BaseUrl + "/api/v1/write", ca.ExportCertificatePem());
        var outcome = await sender.SendAsync([WalScrape.FromSeries("system", [Series()])], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(outcome);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task SendAsync_HttpsReceiverSignedByAnotherCa_RetryableAndNothingSent()
    {
        using var ca = CreateCa("Flotel Test CA");
        using var other = CreateCa("Someone Else's CA");
        using var server = new LocalTlsServer(ca);
        using var sender = Sender(server.BaseUrl + "/api/v1/write", other.ExportCertificatePem());
        var outcome = await sender.SendAsync([WalScrape.FromSeries("system", [Series()])], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Retryable>(outcome);
        Assert.Equal(0, server.Requests);
    }

    private static RemoteWriteSender Sender(string url, string caPem) =>
        new(new MetricsReceiverPlan { Url = url, TimeoutSeconds = 10, CaSecretName = "ca", CaCertificatePem = caPem }, TimeProvider.System, NullLogger.Instance);

    private static TimeSeries Series() => new(LabelSet.Of("__name__", "a", "edgedeviceid", "dev1"), [new Sample(1000, 1)]);

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
