using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Inputs.Syslog;
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

    /// <summary>
    /// Options for <see cref="SslStream.AuthenticateAsServerAsync(SslServerAuthenticationOptions, CancellationToken)"/>
    /// and the client check that goes with them: the operator's client CA (<see cref="TlsOptions.ClientCaFile"/>) and,
    /// when <paramref name="devices"/> is given, the fleet's device certificates (docs/fleet.md §6).
    /// </summary>
    public static (SslServerAuthenticationOptions Options, SyslogTlsClients Clients) Create(TlsOptions options, IDeviceCertificates? devices = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var certificate = LoadCertificate(options);
        var clients = new SyslogTlsClients(options.ClientCaFile is null ? null : CustomCaTrust.FromPemFile(options.ClientCaFile), devices);
        var server = clients.Apply(new SslServerAuthenticationOptions { ServerCertificate = certificate });
        return (server, clients);
    }
}
