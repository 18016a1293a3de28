using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Flotel.TestKit;

/// <summary>
/// The client and server halves tests need around a syslog TLS listener: a self-signed loopback server certificate
/// written as PEM files, a TLS connection that trusts exactly that certificate (optionally presenting a client
/// certificate), sending lines, and telling whether the server ended the connection.
/// </summary>
public static class SyslogTlsClient
{
    /// <summary>
    /// Writes a self-signed certificate for 127.0.0.1 (CN and IP SAN) and its key as <c>syslog.crt</c> and
    /// <c>syslog.key</c> into <paramref name="directory"/>; returns both paths and the certificate's thumbprint.
    /// </summary>
    public static (string Certificate, string Key, string Thumbprint) WriteServerCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificateFile = Path.Combine(directory, "syslog.crt");
        var keyFile = Path.Combine(directory, "syslog.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile, certificate.GetCertHashString());
    }

    /// <summary>Connects over TLS, trusting only the server certificate with <paramref name="serverThumbprint"/>.</summary>
    public static async Task<SslStream> ConnectAsync(IPEndPoint endpoint, string serverThumbprint, X509Certificate2? clientCertificate = null)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(endpoint).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == serverThumbprint,
            ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
            LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
        }).ConfigureAwait(false);
        return ssl;
    }

    /// <summary>Writes <paramref name="lines"/> (UTF-8, framed by the caller) and flushes.</summary>
    public static async Task SendAsync(SslStream ssl, string lines)
    {
        ArgumentNullException.ThrowIfNull(ssl);
        await ssl.WriteAsync(Encoding.UTF8.GetBytes(lines)).ConfigureAwait(false);
        await ssl.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>True when the server ends the connection (EOF or reset) within <paramref name="within"/>.</summary>
    public static async Task<bool> ClosedAsync(SslStream ssl, TimeSpan within)
    {
        ArgumentNullException.ThrowIfNull(ssl);
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await ssl.ReadAsync(new byte[1], timeout.Token).ConfigureAwait(false) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the server refuses <paramref name="clientCertificate"/>: with TLS 1.3 the client may finish its side before
    /// the server judged the certificate, so a refusal is a failed handshake or a connection that ends right after a line.
    /// </summary>
    public static async Task<bool> RefusedAsync(IPEndPoint endpoint, string serverThumbprint, X509Certificate2 clientCertificate, string line)
    {
        SslStream ssl;
        try
        {
            ssl = await ConnectAsync(endpoint, serverThumbprint, clientCertificate).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return true;
        }

        await using (ssl.ConfigureAwait(false))
        {
            try
            {
                await SendAsync(ssl, line).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return true;
            }

            return await ClosedAsync(ssl, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
    }
}
