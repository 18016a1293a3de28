using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Flotel.TestKit;

/// <summary>
/// An HTTPS receiver on 127.0.0.1 (a free port) whose certificate a test CA issued (CN and IP SAN 127.0.0.1, server
/// EKU): it answers 204 to one request per connection and counts the requests it read whole. With
/// <c>requireClientCertificate</c> it asks for a client certificate and records the name and thumbprint of each one
/// presented, without judging them (judging them is the code under test's part, on the other side). A client that
/// refuses the server's certificate is not an error here: that refusal is what such tests look for.
/// </summary>
public sealed class LocalTlsServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly bool _requireClientCertificate;
    private readonly List<(string Name, string Thumbprint)> _clients = [];
    private readonly Task _loop;
    private int _requests;

    /// <summary>Starts the server with a certificate issued by <paramref name="ca"/> (which must hold its private key).</summary>
    public LocalTlsServer(X509Certificate2 ca, bool requireClientCertificate = false)
    {
        ArgumentNullException.ThrowIfNull(ca);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now.AddHours(1) < ca.NotAfter ? now.AddHours(1) : new DateTimeOffset(ca.NotAfter);
        using var issued = request.Create(ca, now.AddHours(-1), notAfter, RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        _certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        _requireClientCertificate = requireClientCertificate;
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary><c>https://127.0.0.1:PORT</c>, without a trailing slash.</summary>
    public string BaseUrl => "https://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Requests read whole and answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Simple names (CN) of the client certificates presented so far, in order.</summary>
    public IReadOnlyList<string> ClientNames
    {
        get
        {
            lock (_clients)
            {
                return _clients.Select(c => c.Name).ToList();
            }
        }
    }

    /// <summary>Thumbprints of the client certificates presented so far, in order.</summary>
    public IReadOnlyList<string> ClientThumbprints
    {
        get
        {
            lock (_clients)
            {
                return _clients.Select(c => c.Thumbprint).ToList();
            }
        }
    }

    /// <inheritdoc />
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
                client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    await ServeAsync(client).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or AuthenticationException)
                {
                    // The client refused the certificate or went away: the refusal some tests look for.
                }
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var ssl = new SslStream(client.GetStream());
        await using (ssl.ConfigureAwait(false))
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = _requireClientCertificate,
                // Records what the client presents; judging it is not this server's part.
#pragma warning disable CA5359
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
            }).ConfigureAwait(false);
            if (ssl.RemoteCertificate is X509Certificate2 presented)
            {
                lock (_clients)
                {
                    _clients.Add((presented.GetNameInfo(X509NameType.SimpleName, false), presented.Thumbprint));
                }
            }

            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await ssl.ReadAsync(one).ConfigureAwait(false) == 1)
            {
                head.Append((char)one[0]);
            }

            if (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                return; // The client closed after the handshake (on Linux it checks the chain once TLS is up).
            }

            var length = head.ToString().Split("\r\n")
                .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture))
                .FirstOrDefault();
            await ssl.ReadExactlyAsync(new byte[length]).ConfigureAwait(false);
            Interlocked.Increment(ref _requests);
            await ssl.WriteAsync("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
        }
    }
}
