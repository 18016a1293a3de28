using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Fleet;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Fleet;

public sealed class FleetCertificateAuthorityTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void LoadOrCreate_FirstStart_WritesCaWithPrivateKeyFile0600_AndLoadsTheSameCaLater()
    {
        using var dir = new TempDirectory();
        string pin;
        using (var ca = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time))
        {
            pin = ca.Sha256Hex;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(dir.Combine("ca.key")));
            Assert.Contains("BEGIN CERTIFICATE", ca.Pem, StringComparison.Ordinal);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(ca.Certificate.RawData)), pin);
            Assert.True(ca.Certificate.NotAfter > _time.GetUtcNow().AddYears(9).UtcDateTime);
        }

        using var again = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time);
        Assert.Equal(pin, again.Sha256Hex);

        // Named files win over the data directory.
        using var named = FleetCertificateAuthority.LoadOrCreate(Path.Combine(dir.Path, "elsewhere"), dir.Combine("ca.crt"), dir.Combine("ca.key"), _time);
        Assert.Equal(pin, named.Sha256Hex);
        Assert.False(Directory.Exists(dir.Combine("elsewhere")));
    }

    [Fact]
    public void SignDeviceCsr_CsrAsksForAnotherName_CertificateNamesTheTokensDevice()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=someone-else", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();

        var (pem, record) = ca.SignDeviceCsr(csr, "edge-device-1", TimeSpan.FromDays(30), _time);
        using var cert = X509Certificate2.CreateFromPem(pem);

        Assert.Equal("CN=edge-device-1", cert.Subject);
        Assert.Equal("edge-device-1", record.Device);
        Assert.Equal(cert.SerialNumber.ToLowerInvariant(), record.Serial);
        Assert.Equal(34, record.Serial.Length); // 0x01 + 128 random bits
        Assert.Equal(_time.GetUtcNow().AddDays(30), record.NotAfter);
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromMinutes(5), new DateTimeOffset(cert.NotBefore.ToUniversalTime()));
        var eku = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal("1.3.6.1.5.5.7.3.2", Assert.Single(eku.EnhancedKeyUsages.Cast<Oid>()).Value);
        var san = Assert.Single(cert.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Contains("URI:urn:flotel:device:edge-device-1", san.Format(false), StringComparison.Ordinal);
        Assert.True(cert.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfo().SequenceEqual(key.ExportSubjectPublicKeyInfo()));

        var identity = ca.Verify(cert, _time.GetUtcNow(), out _);
        Assert.Equal(new DeviceIdentity("edge-device-1", record.Serial, record.NotAfter, false), identity);
    }

    [Fact]
    public void SignDeviceCsr_TwoCertificates_HaveDifferentSerials()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        Assert.NotEqual(ca.SignDeviceCsr(csr, "d", TimeSpan.FromDays(1), _time).Record.Serial, ca.SignDeviceCsr(csr, "d", TimeSpan.FromDays(1), _time).Record.Serial);
    }

    [Fact]
    public void SignDeviceCsr_SignatureDoesNotVerify_IsRefused()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^3] ^= 0x01; // inside the signature value
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);

        var e = Assert.Throws<FleetRequestException>(() => ca.SignDeviceCsr(tampered, "d", TimeSpan.FromDays(1), _time));
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
        Assert.Throws<FleetRequestException>(() => ca.SignDeviceCsr("not a csr", "d", TimeSpan.FromDays(1), _time));
        Assert.Throws<FleetRequestException>(() => ca.SignDeviceCsr(new string('A', 20_000), "d", TimeSpan.FromDays(1), _time));
    }

    [Fact]
    public void Verify_CertificateOfAnotherCa_OrServerCertificate_IsRefused_ExpiredIsReported()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Combine("a"), null, null, _time);
        using var other = FleetCertificateAuthority.LoadOrCreate(dir.Combine("b"), null, null, _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();

        using var foreign = X509Certificate2.CreateFromPem(other.SignDeviceCsr(csr, "d", TimeSpan.FromDays(1), _time).Pem);
        Assert.Null(ca.Verify(foreign, _time.GetUtcNow(), out var reason));
        Assert.Contains("not a device certificate", reason, StringComparison.Ordinal);

        using var server = ca.IssueServerCertificate([], _time);
        Assert.Null(ca.Verify(server, _time.GetUtcNow(), out _)); // no client-auth EKU

        using var own = X509Certificate2.CreateFromPem(ca.SignDeviceCsr(csr, "d", TimeSpan.FromDays(1), _time).Pem);
        Assert.True(ca.Verify(own, _time.GetUtcNow().AddDays(2), out _)!.Expired);
    }

    [Fact]
    public void Verify_SameCertificateOnAnotherConnection_BuildsItsChainOnce_AndJudgesValidityAtEachCall()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Combine("a"), null, null, _time);
        using var other = FleetCertificateAuthority.LoadOrCreate(dir.Combine("b"), null, null, _time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var (pem, record) = ca.SignDeviceCsr(csr, "edge-device-1", TimeSpan.FromDays(30), _time);
        using var first = X509Certificate2.CreateFromPem(pem);
        using var second = X509CertificateLoader.LoadCertificate(first.RawData); // what the next connection presents
        var now = _time.GetUtcNow();

        Assert.Equal(new DeviceIdentity("edge-device-1", record.Serial, record.NotAfter, false), ca.Verify(first, now, out _));
        Assert.Equal(1, ca.VerifiedCertificates);
        Assert.Equal(new DeviceIdentity("edge-device-1", record.Serial, record.NotAfter, false), ca.Verify(second, now, out _));
        Assert.Equal(1, ca.VerifiedCertificates);

        // Remembered or not, validity is judged at the time of each call.
        Assert.True(ca.Verify(second, now.AddDays(31), out _)!.Expired);
        Assert.Null(ca.Verify(second, now - TimeSpan.FromMinutes(10), out var early));
        Assert.Equal("the client certificate is not valid yet", early);

        // A refused certificate is not remembered: it is checked again each time.
        using var foreign = X509Certificate2.CreateFromPem(other.SignDeviceCsr(csr, "edge-device-1", TimeSpan.FromDays(1), _time).Pem);
        Assert.Null(ca.Verify(foreign, now, out _));
        Assert.Null(ca.Verify(foreign, now, out _));
        Assert.Equal(1, ca.VerifiedCertificates);
    }

    [Fact]
    public void IssueServerCertificate_NamesLoopbackAndServerNames_AndChainsToTheCa()
    {
        using var dir = new TempDirectory();
        using var ca = FleetCertificateAuthority.LoadOrCreate(dir.Path, null, null, _time);
        using var server = ca.IssueServerCertificate(["gateway.example", "10.1.2.3"], _time);
        Assert.True(server.HasPrivateKey);
        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("127.0.0.1", san.EnumerateIPAddresses().Select(i => i.ToString()));
        Assert.Contains("10.1.2.3", san.EnumerateIPAddresses().Select(i => i.ToString()));
        Assert.Contains("gateway.example", san.EnumerateDnsNames());
        Assert.Contains("localhost", san.EnumerateDnsNames());

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        Assert.True(chain.Build(server));
    }
}
