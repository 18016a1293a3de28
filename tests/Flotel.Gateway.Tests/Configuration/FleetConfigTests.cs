using Flotel.Gateway.Configuration;

namespace Flotel.Gateway.Tests.Configuration;

public sealed class FleetConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-config-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_FleetKeysAndAdminAuth_AreRead()
    {
        File.WriteAllText(_dir.Combine("ca.crt"), "x");
        File.WriteAllText(_dir.Combine("ca.key"), "x");
        var (options, diagnostics) = GatewayConfigLoader.Load(Write($"""
            fleet:
              enabled: true
              address: 127.0.0.1:0
              serverNames: [gateway.example, 10.0.0.1]
              ca: {"{"}certificate: {_dir.Combine("ca.crt")}, key: {_dir.Combine("ca.key")}{"}"}
              certificateDays: 10
              renewGraceDays: 5
              offlineAfterSeconds: 60
            auth:
              admin: {"{"}bearerToken: t{"}"}
            """), _ => null);

        Assert.Empty(diagnostics);
        var fleet = options.Fleet!;
        Assert.True(fleet.Enabled);
        Assert.Equal("127.0.0.1:0", fleet.Address);
        Assert.Equal(["gateway.example", "10.0.0.1"], fleet.ServerNames);
        Assert.Equal(_dir.Combine("ca.crt"), fleet.CaCertificateFile);
        Assert.Equal((10, 5, 60), (fleet.CertificateDays, fleet.RenewGraceDays, fleet.OfflineAfterSeconds));
        Assert.Equal("t", options.AdminAuth!.BearerToken!.Reveal());
    }

    [Fact]
    public void Load_FleetDefaults_AndBadValues_AreReportedWithTheirKey()
    {
        var (defaults, none) = GatewayConfigLoader.Load(Write("fleet: {enabled: true}\n"), _ => null);
        Assert.Empty(none);
        Assert.Equal(("0.0.0.0:9443", 30, 30, 180), (defaults.Fleet!.Address, defaults.Fleet.CertificateDays, defaults.Fleet.RenewGraceDays, defaults.Fleet.OfflineAfterSeconds));

        var (_, diagnostics) = GatewayConfigLoader.Load(Write("fleet:\n  address: nowhere\n  certificateDays: 0\n  ca: {certificate: /nonexistent.crt}\n  colour: red\n"), _ => null);
        var text = string.Join("\n", diagnostics);
        Assert.Contains("fleet.address", text, StringComparison.Ordinal);
        Assert.Contains("fleet.certificateDays", text, StringComparison.Ordinal);
        Assert.Contains("fleet.ca", text, StringComparison.Ordinal);
        Assert.Contains("colour", text, StringComparison.Ordinal);
    }

    private string Write(string yaml)
    {
        var path = _dir.Combine(Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
