using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Pipeline.Net;

namespace Flotel.Pipeline.Tests.Net;

/// <summary>Path validation against a private CA bundle, with certificates made in the test (a CA, a leaf it signed, an unrelated CA).</summary>
public sealed class CustomCaTrustTests : IDisposable
{
    private readonly X509Certificate2 _ca = Ca("CN=flotel test CA");
    private readonly X509Certificate2 _otherCa = Ca("CN=unrelated CA");
    private readonly X509Certificate2 _leaf;

    public CustomCaTrustTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=receiver.example", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        _leaf = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        _leaf.Dispose();
    }

    [Fact]
    public void Chains_LeafOfTheBundlesCa_True()
    {
        using var trust = CustomCaTrust.FromPem(_ca.ExportCertificatePem());
        Assert.Equal(1, trust.Count);
        Assert.True(trust.Chains(_leaf, null));
    }

    [Fact]
    public void Chains_BundleOfAnotherCa_False()
    {
        using var trust = CustomCaTrust.FromPem(_otherCa.ExportCertificatePem());
        Assert.False(trust.Chains(_leaf, null));
    }

    [Fact]
    public void Chains_LeafBehindAnIntermediateTheBundleLacks_UsesTheIntermediatesThePeerPresented()
    {
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        intermediateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var intermediatePublic = intermediateRequest.Create(_ca, DateTimeOffset.UtcNow.AddHours(-2), DateTimeOffset.UtcNow.AddHours(12), [5, 6, 7, 8]);
        using var intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=receiver.example", leafKey, HashAlgorithmName.SHA256);
        using var leaf = leafRequest.Create(intermediate, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(6), [9, 10, 11, 12]);

        // What the TLS layer hands the callback: the chain it built from what the peer sent (untrusted root here).
        using var presented = new X509Chain();
        presented.ChainPolicy.ExtraStore.Add(intermediatePublic);
        presented.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        presented.ChainPolicy.DisableCertificateDownloads = true;
        presented.Build(leaf);

        using var trust = CustomCaTrust.FromPem(_ca.ExportCertificatePem());
        Assert.False(trust.Chains(leaf, null));
        Assert.True(trust.Chains(leaf, presented));
    }

    [Theory]
    [InlineData(SslPolicyErrors.RemoteCertificateChainErrors, false, true)]
    [InlineData(SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch, false, false)]
    [InlineData(SslPolicyErrors.RemoteCertificateNameMismatch, true, false)]
    [InlineData(SslPolicyErrors.None, false, true)]
    public void IsServerTrusted_HostNameMismatch_NeverAccepted(SslPolicyErrors errors, bool alsoSystemRoots, bool expected)
    {
        using var trust = CustomCaTrust.FromPem(_ca.ExportCertificatePem());
        Assert.Equal(expected, trust.IsServerTrusted(_leaf, null, errors, alsoSystemRoots));
    }

    [Fact]
    public void IsServerTrusted_SystemTrustedButNotInBundleAndSystemRootsOff_False()
    {
        using var trust = CustomCaTrust.FromPem(_otherCa.ExportCertificatePem());
        Assert.False(trust.IsServerTrusted(_leaf, null, SslPolicyErrors.None, alsoSystemRoots: false));
        Assert.True(trust.IsServerTrusted(_leaf, null, SslPolicyErrors.None, alsoSystemRoots: true));
    }

    [Fact]
    public void IsClientTrusted_NoCertificate_False()
    {
        using var trust = CustomCaTrust.FromPem(_ca.ExportCertificatePem());
        Assert.False(trust.IsClientTrusted(null, null));
        Assert.True(trust.IsClientTrusted(_leaf, null));
    }

    [Fact]
    public void CreateChainPolicy_TrustsOnlyTheBundle()
    {
        using var trust = CustomCaTrust.FromPem(_ca.ExportCertificatePem());
        var policy = trust.CreateChainPolicy();
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, policy.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
        Assert.Single(policy.CustomTrustStore);
    }

    private static X509Certificate2 Ca(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
