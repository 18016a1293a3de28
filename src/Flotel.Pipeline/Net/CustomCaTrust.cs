using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Flotel.Pipeline.Net;

/// <summary>
/// A private CA bundle (PEM) that a TLS peer's certificate must chain to: the agent's <c>ca.crt</c> Secrets (metrics
/// receiver, syslog collector), the gateway's output <c>tls.caFile</c> and its mutual-TLS <c>clientCaFile</c>.
/// Path validation is RFC 5280's, done by <see cref="X509Chain"/> with <see cref="X509ChainTrustMode.CustomRootTrust"/>:
/// the bundle's certificates are the only trust anchors, the intermediates the peer presented help build the path,
/// revocation is not checked (private CAs publish no CRL or OCSP endpoint the device could reach).
/// </summary>
public sealed class CustomCaTrust : IDisposable
{
    private readonly X509Certificate2Collection _roots;

    private CustomCaTrust(X509Certificate2Collection roots) => _roots = roots;

    /// <summary>The bundle's certificates.</summary>
    public int Count => _roots.Count;

    /// <summary>Reads a PEM bundle held in memory (a Secret's <c>ca.crt</c>); throws <see cref="System.Security.Cryptography.CryptographicException"/> on bad PEM.</summary>
    public static CustomCaTrust FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(pem);
        return new CustomCaTrust(roots);
    }

    /// <summary>Reads a PEM bundle file; throws as <see cref="X509Certificate2Collection.ImportFromPemFile"/> does.</summary>
    public static CustomCaTrust FromPemFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return new CustomCaTrust(roots);
    }

    /// <summary>
    /// A chain policy trusting only the bundle, for <see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/>:
    /// <see cref="SslStream"/> then checks the host name itself and names the chain error when it refuses a server.
    /// </summary>
    public X509ChainPolicy CreateChainPolicy()
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(_roots);
        return policy;
    }

    /// <summary>
    /// A check of a server's certificate: it must chain to the bundle (or, when <paramref name="alsoSystemRoots"/>,
    /// be trusted by the system as it is); a missing certificate or a host-name mismatch is never accepted.
    /// </summary>
    public RemoteCertificateValidationCallback ServerCertificateValidator(bool alsoSystemRoots) =>
        (_, certificate, chain, errors) => IsServerTrusted(certificate, chain, errors, alsoSystemRoots);

    /// <summary>The check of <see cref="ServerCertificateValidator"/>.</summary>
    public bool IsServerTrusted(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, bool alsoSystemRoots)
    {
        if (alsoSystemRoots && errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        return Chains(certificate, chain);
    }

    /// <summary>
    /// The mutual-TLS check of a client's certificate: it must chain to the bundle, and only to it (the system roots
    /// are not consulted: a certificate any public CA issued must not open the gateway). Client certificates carry no
    /// host name to match.
    /// </summary>
    public bool IsClientTrusted(X509Certificate? certificate, X509Chain? chain) => certificate is not null && Chains(certificate, chain);

    /// <summary>True when <paramref name="certificate"/> chains to one of the bundle's certificates, using the intermediates of <paramref name="presented"/>.</summary>
    public bool Chains(X509Certificate certificate, X509Chain? presented)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (certificate is X509Certificate2 leaf)
        {
            return custom.Build(leaf);
        }

        using var loaded = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(loaded);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var certificate in _roots)
        {
            certificate.Dispose();
        }
    }
}
