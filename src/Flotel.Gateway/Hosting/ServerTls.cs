using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Configuration;

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
            var validate = ClientCertificateValidator(options.ClientCaFile);
            server.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is X509Certificate2 c && validate(c);
        }

        return server;
    }

    /// <summary>A check that a client certificate chains to the CA bundle in <paramref name="caFile"/> (and only to it).</summary>
    public static Func<X509Certificate2, bool> ClientCertificateValidator(string caFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        return certificate =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
    }
}
