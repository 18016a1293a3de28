using System.Text.Json;
using Flotel.Agent.Fleet;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>
/// Enrolment (docs/fleet.md §4) against a gateway fake speaking the fleet wire format over plain HTTP on loopback
/// (the TLS side is covered by <see cref="FleetTlsTests"/> and the integration tests with a real gateway).
/// </summary>
public sealed class FleetEnrolmentTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FleetTestCa _ca = new();

    public void Dispose()
    {
        _ca.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task EnrolAsync_GatewayWithThePinnedCa_WritesKeyCertificateCaAndGateway()
    {
        string? sentToken = null;
        using var gateway = Gateway(async (path, body, response) =>
        {
            if (path == "/fleet/v1/ca")
            {
                await FleetTestCa.Bytes(response, 200, System.Text.Encoding.UTF8.GetBytes(_ca.Pem), "application/x-pem-file");
                return;
            }

            using var json = JsonDocument.Parse(body);
            sentToken = json.RootElement.GetProperty("token").GetString();
            var csr = json.RootElement.GetProperty("csr").GetString()!;
            await FleetTestCa.Json(response, 200, new { certificate = _ca.Sign(csr, "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30)), ca = _ca.Pem });
        });
        var files = new FleetFiles(_temp.Path);

        using var identity = await FleetEnrolment.EnrolAsync(new Uri(gateway.BaseUrl), Token(_ca.Token()), files, CancellationToken.None);

        Assert.Equal("edge-device-1", identity.DeviceName);
        Assert.Equal(_ca.Token(), sentToken);
        Assert.True(files.IsEnrolled);
        Assert.Equal(gateway.BaseUrl, File.ReadAllText(files.Gateway).Trim());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.Key));
        }

        Assert.Empty(Directory.GetFiles(files.Directory, "*.tmp"));
        using var reloaded = DeviceIdentity.Load(files);
        Assert.Equal(identity.Certificate.Thumbprint, reloaded.Certificate.Thumbprint);
        Assert.True(reloaded.Certificate.HasPrivateKey);
    }

    [Fact]
    public async Task EnrolAsync_GatewayCaDiffersFromThePin_RefusedBeforeSendingTheToken()
    {
        using var other = new FleetTestCa("Someone else's CA");
        using var gateway = Gateway(async (path, _, response) =>
            await FleetTestCa.Bytes(response, 200, System.Text.Encoding.UTF8.GetBytes(other.Pem), "application/x-pem-file"));
        var files = new FleetFiles(_temp.Path);

        var error = await Assert.ThrowsAsync<FleetException>(() => FleetEnrolment.EnrolAsync(new Uri(gateway.BaseUrl), Token(_ca.Token()), files, CancellationToken.None));

        Assert.Equal("the gateway's CA does not match the token", error.Message);
        Assert.Equal(["/fleet/v1/ca"], gateway.Requests.Select(r => r.Path));
        Assert.False(Directory.Exists(files.Directory) && Directory.EnumerateFileSystemEntries(files.Directory).Any());
    }

    [Theory]
    [InlineData("token already used")]
    [InlineData("token expired")]
    [InlineData("unknown token")]
    public async Task EnrolAsync_GatewayRefusesTheToken_FailsWithTheGatewaysMessageAndWritesNothing(string message)
    {
        using var gateway = Gateway(async (path, _, response) =>
        {
            if (path == "/fleet/v1/ca")
            {
                await FleetTestCa.Bytes(response, 200, System.Text.Encoding.UTF8.GetBytes(_ca.Pem), "application/x-pem-file");
                return;
            }

            await FleetTestCa.Json(response, 401, new { error = message });
        });
        var files = new FleetFiles(_temp.Path);

        var error = await Assert.ThrowsAsync<FleetException>(() => FleetEnrolment.EnrolAsync(new Uri(gateway.BaseUrl), Token(_ca.Token()), files, CancellationToken.None));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.False(files.IsEnrolled);
        Assert.False(File.Exists(files.Key));
    }

    [Fact]
    public async Task EnrolAsync_CertificateForAnotherKey_Refused()
    {
        using var gateway = Gateway(async (path, _, response) =>
        {
            if (path == "/fleet/v1/ca")
            {
                await FleetTestCa.Bytes(response, 200, System.Text.Encoding.UTF8.GetBytes(_ca.Pem), "application/x-pem-file");
                return;
            }

            using var otherKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var crt = _ca.Sign(FleetEnrolment.CreateCsr(otherKey), "edge-device-1", DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await FleetTestCa.Json(response, 200, new { certificate = crt, ca = _ca.Pem });
        });
        var files = new FleetFiles(_temp.Path);

        var error = await Assert.ThrowsAsync<FleetException>(() => FleetEnrolment.EnrolAsync(new Uri(gateway.BaseUrl), Token(_ca.Token()), files, CancellationToken.None));

        Assert.Contains("does not match the device's key", error.Message, StringComparison.Ordinal);
        Assert.False(files.IsEnrolled);
    }

    private static EnrolmentToken Token(string text)
    {
        Assert.True(EnrolmentToken.TryParse(text, out var token, out var error), error);
        return token!;
    }

    private static LocalHttpServer Gateway(Func<string, byte[], System.Net.HttpListenerResponse, Task> handler) =>
        new((request, body, response) => handler(request.Url!.AbsolutePath, body, response));
}
