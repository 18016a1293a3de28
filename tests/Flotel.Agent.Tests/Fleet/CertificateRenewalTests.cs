using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Flotel.Agent.Fleet;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>Renewal at 2/3 of the certificate's lifetime with a new key, candidate-then-commit (docs/fleet.md §5).</summary>
public sealed class CertificateRenewalTests : IDisposable
{
    private const string Device = "edge-device-1";
    private readonly TempDirectory _temp = new();
    private readonly FleetTestCa _ca = new();
    private readonly FleetFiles _files;

    public CertificateRenewalTests() => _files = new FleetFiles(_temp.Path);

    public void Dispose()
    {
        _ca.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Source_CertificatePastTwoThirdsOfItsLifetime_RenewedWithANewKeyAndUsed()
    {
        var now = DateTimeOffset.UtcNow;
        using var identity = _ca.Enrol(_files, Device, now.AddHours(-3), now.AddHours(1));
        var oldThumbprint = identity.Certificate.Thumbprint;
        var oldKey = File.ReadAllText(_files.Key);
        var bundle = FleetTestCa.Bundle(Device);
        using var gateway = new LocalHttpServer(async (request, body, response) =>
        {
            switch (request.Url!.AbsolutePath)
            {
                case "/fleet/v1/renew":
                    using (var json = JsonDocument.Parse(body))
                    {
                        var crt = _ca.Sign(json.RootElement.GetProperty("csr").GetString()!, Device, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
                        await FleetTestCa.Json(response, 200, new { certificate = crt, ca = _ca.Pem });
                    }

                    break;
                case "/fleet/v1/bundle":
                    await FleetTestCa.Bytes(response, 200, FleetTestCa.BundleBody(1, bundle));
                    break;
                default:
                    response.StatusCode = 204;
                    break;
            }
        });
        await using var source = new GatewayPlanSource(new Uri(gateway.BaseUrl), identity, _files, new FleetSourceOptions(), null, TimeProvider.System, NullLogger.Instance);

        await source.InitialPlanAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => identity.Certificate.Thumbprint != oldThumbprint, "the renewed certificate in use");

        Assert.Single(gateway.Requests, r => r.Path == "/fleet/v1/renew");
        Assert.True(identity.RenewAt() > DateTimeOffset.UtcNow.AddDays(19));
        Assert.NotEqual(oldKey, File.ReadAllText(_files.Key));
        Assert.False(File.Exists(_files.CandidateKey));
        Assert.False(File.Exists(_files.CandidateCertificate));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_files.Key));
        }

        using var onDisk = DeviceIdentity.Load(_files);
        Assert.Equal(identity.Certificate.Thumbprint, onDisk.Certificate.Thumbprint);
        Assert.Equal(Device, onDisk.DeviceName);
    }

    [Fact]
    public async Task Source_RenewalRefused_KeepsTheCurrentPairAndLeavesNoCandidateCertificate()
    {
        var now = DateTimeOffset.UtcNow;
        using var identity = _ca.Enrol(_files, Device, now.AddHours(-3), now.AddHours(1));
        var oldCertificate = File.ReadAllText(_files.Certificate);
        var oldKey = File.ReadAllText(_files.Key);
        var bundle = FleetTestCa.Bundle(Device);
        using var gateway = new LocalHttpServer(async (request, _, response) =>
        {
            if (request.Url!.AbsolutePath == "/fleet/v1/renew")
            {
                await FleetTestCa.Json(response, 401, new { error = "certificate revoked" });
                return;
            }

            await FleetTestCa.Bytes(response, 200, FleetTestCa.BundleBody(1, bundle));
        });
        await using var source = new GatewayPlanSource(
            new Uri(gateway.BaseUrl), identity, _files, new FleetSourceOptions { RetryInitial = TimeSpan.FromMilliseconds(20), RetryMax = TimeSpan.FromMilliseconds(50) }, null, TimeProvider.System, NullLogger.Instance);

        await source.InitialPlanAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => gateway.Requests.Count(r => r.Path == "/fleet/v1/renew") >= 2, "two renewal attempts");
        await source.StopAsync();

        Assert.Equal(oldCertificate, File.ReadAllText(_files.Certificate));
        Assert.Equal(oldKey, File.ReadAllText(_files.Key));
        Assert.False(File.Exists(_files.CandidateCertificate));
        using var onDisk = DeviceIdentity.Load(_files);
        Assert.Equal(oldCertificate.Trim(), onDisk.Certificate.ExportCertificatePem().Trim());
    }

    [Fact]
    public void RecoverCandidate_CandidateCertificateWritten_CommitsThePair()
    {
        var now = DateTimeOffset.UtcNow;
        using (_ca.Enrol(_files, Device, now.AddHours(-1), now.AddHours(1)))
        {
        }

        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var crt = _ca.Sign(FleetEnrolment.CreateCsr(key), Device, now.AddHours(-1), now.AddDays(2));
        _files.WriteAtomically(_files.CandidateKey, key.ExportPkcs8PrivateKeyPem(), secret: true);
        _files.WriteAtomically(_files.CandidateCertificate, crt, secret: false);

        using var identity = DeviceIdentity.Load(_files);

        using var expected = X509Certificate2.CreateFromPem(crt);
        Assert.Equal(expected.Thumbprint, identity.Certificate.Thumbprint);
        Assert.True(identity.Certificate.HasPrivateKey);
        Assert.False(File.Exists(_files.CandidateKey));
        Assert.False(File.Exists(_files.CandidateCertificate));
    }

    [Fact]
    public void RecoverCandidate_OnlyACandidateKey_DiscardsItAndKeepsThePair()
    {
        var now = DateTimeOffset.UtcNow;
        string thumbprint;
        using (var enrolled = _ca.Enrol(_files, Device, now.AddHours(-1), now.AddHours(1)))
        {
            thumbprint = enrolled.Certificate.Thumbprint;
        }

        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        _files.WriteAtomically(_files.CandidateKey, key.ExportPkcs8PrivateKeyPem(), secret: true);

        using var identity = DeviceIdentity.Load(_files);

        Assert.Equal(thumbprint, identity.Certificate.Thumbprint);
        Assert.False(File.Exists(_files.CandidateKey));
    }
}
