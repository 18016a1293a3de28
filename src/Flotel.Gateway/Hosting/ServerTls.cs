using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Configuration;
using Flotel.Pipeline.Net;

namespace Flotel.Gateway.Hosting;

/// <summary>Builds server-side TLS settings from PEM files, with optional mutual TLS against a private CA.</summary>
public static class ServerTls
{
    /// <summary>Loads the certificate and key; throws at startup with the file names when they cannot be read.</summary>
    public static X509Certificate2 LoadCertificate(TlsOptions options)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(options.CertificateFile, options.KeyFile);
            // Re-import as PKCS#12 so the key is usable by SslStream on every platform (ephemeral PEM keys are not on all).
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new InvalidOperationException(
                $"cannot load the TLS certificate '{options.CertificateFile}' with key '{options.KeyFile}': {e.Message}", e);
        }
    }

    /// <summary>Options for <see cref="SslStream.AuthenticateAsServerAsync(SslServerAuthenticationOptions, CancellationToken)"/>.</summary>
    public static SslServerAuthenticationOptions Create(TlsOptions options)
    {
        var certificate = LoadCertificate(options);
        var server = new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = options.ClientCaFile is not null,
        };
        if (options.ClientCaFile is not null)
        {
            var trust = CustomCaTrust.FromPemFile(options.ClientCaFile);
            server.RemoteCertificateValidationCallback = (_, cert, chain, _) => trust.IsClientTrusted(cert, chain);
        }

        return server;
    }
}
