using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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
        using var server = new TlsServer(ca);
        using var sender = Sender(server.Url, ca.ExportCertificatePem());
        var outcome = await sender.SendAsync([WalScrape.FromSeries("system", [Series()])], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(outcome);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task SendAsync_HttpsReceiverSignedByAnotherCa_RetryableAndNothingSent()
    {
        using var ca = CreateCa("Flotel Test CA");
        using var other = CreateCa("Someone Else's CA");
        using var server = new TlsServer(ca);
        using var sender = Sender(server.Url, other.ExportCertificatePem());
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

    /// <summary>A one-request-per-connection HTTPS server answering 204, with a certificate for 127.0.0.1 issued by <c>ca</c>.</summary>
    private sealed class TlsServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly Task _loop;
        private int _requests;

        public TlsServer(X509Certificate2 ca)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
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

        public string Url => "https://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port + "/api/v1/write";

        public int Requests => Volatile.Read(ref _requests);

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
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using (client)
                {
                    try
                    {
                        await using var tls = new SslStream(client.GetStream());
                        await tls.AuthenticateAsServerAsync(_certificate);
                        var head = new StringBuilder();
                        var one = new byte[1];
                        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await tls.ReadAsync(one) == 1)
                        {
                            head.Append((char)one[0]);
                        }

                        if (!head.ToString().StartsWith("POST ", StringComparison.Ordinal))
                        {
                            // The client closed after the handshake (on Linux it checks the chain once TLS is up).
                            continue;
                        }

                        var length = head.ToString().Split("\r\n").Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                            .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                        var body = new byte[length];
                        await tls.ReadExactlyAsync(body);
                        Interlocked.Increment(ref _requests);
                        await tls.WriteAsync("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
                    }
                    catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
                    {
                        // The client refused our certificate (the "another CA" test).
                    }
                }
            }
        }
    }
}
