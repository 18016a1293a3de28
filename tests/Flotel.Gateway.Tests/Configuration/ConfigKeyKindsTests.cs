using Flotel.Gateway.Configuration;
using Flotel.Gateway.Query.Prometheus;

namespace Flotel.Gateway.Tests.Configuration;

/// <summary>
/// The key kinds beyond scalars, read from files: lists of strings (<c>fleet.serverNames</c>), enums
/// (<c>query.prometheus.labelNames</c>), existing files (<c>fleet.ca.*</c>) and sections (<c>fleet:</c>). Every problem is
/// one <c>FILE:LINE: key: message</c> line.
/// </summary>
public sealed class ConfigKeyKindsTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-kinds-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AListOfStrings_IsReadInOrder()
    {
        var (options, diagnostics) = Load("fleet:\n  serverNames:\n    - gateway.example\n    - \"10.0.0.1\"\n    - 10.0.0.2\n");

        Assert.Empty(diagnostics);
        Assert.Equal(["gateway.example", "10.0.0.1", "10.0.0.2"], options.Fleet!.ServerNames);
    }

    [Fact]
    public void ANullItem_IsLeftOut()
    {
        var (options, diagnostics) = Load("fleet:\n  serverNames: [a.example, ~, b.example]\n");

        Assert.Empty(diagnostics);
        Assert.Equal(["a.example", "b.example"], options.Fleet!.ServerNames);
    }

    [Fact]
    public void AnEmptyList_LeavesTheListEmpty()
    {
        var (options, diagnostics) = Load("fleet:\n  serverNames: []\n");

        Assert.Empty(diagnostics);
        Assert.Empty(options.Fleet!.ServerNames);
    }

    [Theory]
    [InlineData("fleet:\n  serverNames: gateway.example\n", "gateway.yaml:2: fleet.serverNames: expected a list, got \"gateway.example\"")]
    [InlineData("fleet:\n  serverNames: {a: b}\n", "gateway.yaml:2: fleet.serverNames: expected a list, got a mapping")]
    [InlineData("fleet:\n  serverNames:\n    - a\n    - [b]\n", "gateway.yaml:4: fleet.serverNames[1]: expected a string, got a list")]
    public void AListOfStrings_WithAnythingElse_IsAnErrorAtItsLine(string yaml, string expected)
    {
        var (options, diagnostics) = Load(yaml);

        var problem = Assert.Single(diagnostics);
        Assert.True(problem.IsError);
        Assert.Equal(expected, Relative(problem));
        Assert.Empty(options.Fleet!.ServerNames);
    }

    [Theory]
    [InlineData("utf8", PrometheusLabelNames.Utf8)]
    [InlineData("sanitize", PrometheusLabelNames.Sanitize)]
    [InlineData("\"sanitize\"", PrometheusLabelNames.Sanitize)]
    public void AnEnum_IsReadFromItsCamelCaseSpelling(string spelled, PrometheusLabelNames expected)
    {
        var (options, diagnostics) = Load("query:\n  prometheus:\n    labelNames: " + spelled + "\n");

        Assert.Empty(diagnostics);
        Assert.Equal(expected, options.PrometheusLabelNames);
    }

    [Theory]
    [InlineData("Sanitize")]
    [InlineData("SANITIZE")]
    [InlineData("1")]
    [InlineData("underscores")]
    public void AnEnum_SpelledWrong_ListsTheAllowedValues(string spelled)
    {
        var (options, diagnostics) = Load("query:\n  prometheus:\n    labelNames: " + spelled + "\n");

        var problem = Assert.Single(diagnostics);
        Assert.Equal($"gateway.yaml:3: query.prometheus.labelNames: `labelNames` must be one of utf8, sanitize; got '{spelled}'", Relative(problem));
        Assert.Equal(PrometheusLabelNames.Utf8, options.PrometheusLabelNames);
    }

    [Fact]
    public void AnExistingFileKey_RefusesAMissingFile()
    {
        File.WriteAllText(_dir.Combine("ca.key"), "x");
        var (options, diagnostics) = Load($"fleet:\n  ca:\n    certificate: {_dir.Combine("missing.crt")}\n    key: {_dir.Combine("ca.key")}\n");

        var problem = Assert.Single(diagnostics);
        Assert.Equal("gateway.yaml:3: fleet.ca.certificate: file 'DIR/missing.crt' does not exist", Relative(problem));
        Assert.Null(options.Fleet!.CaCertificateFile);
        Assert.Equal(_dir.Combine("ca.key"), options.Fleet.CaKeyFile);
    }

    [Theory]
    [InlineData("certificate")]
    [InlineData("key")]
    public void TheFleetCa_WithOneFileOfTwo_IsAnErrorAtTheCaMapping(string given)
    {
        File.WriteAllText(_dir.Combine("ca.pem"), "x");
        var (_, diagnostics) = Load($"fleet:\n  enabled: true\n  ca:\n    {given}: {_dir.Combine("ca.pem")}\n");

        var problem = Assert.Single(diagnostics);
        Assert.Equal("gateway.yaml:4: fleet.ca: `certificate` and `key` are both required", Relative(problem));
    }

    [Fact]
    public void TheFleetCa_WithAnEmptyCertificate_CountsItAsMissing()
    {
        File.WriteAllText(_dir.Combine("ca.key"), "x");
        var (_, diagnostics) = Load($"fleet:\n  ca:\n    certificate:\n    key: {_dir.Combine("ca.key")}\n");

        Assert.Equal("gateway.yaml:3: fleet.ca: `certificate` and `key` are both required", Relative(Assert.Single(diagnostics)));
    }

    [Fact]
    public void ASection_ExistsOnlyWhenTheFileHoldsItsMapping()
    {
        Assert.Null(Load("http:\n  address: 127.0.0.1:0\n").Options.Fleet);
        Assert.Null(Load("fleet: ~\n").Options.Fleet);

        var (options, diagnostics) = Load("fleet: {}\n");

        Assert.Empty(diagnostics);
        Assert.Equal(
            (false, "0.0.0.0:9443", 30, 30, 180),
            (options.Fleet!.Enabled, options.Fleet.Address, options.Fleet.CertificateDays, options.Fleet.RenewGraceDays, options.Fleet.OfflineAfterSeconds));
    }

    [Fact]
    public void ASectionKey_UsesTheGenericAddressCheck()
    {
        var (options, diagnostics) = Load("fleet:\n  enabled: true\n  address: nowhere\n");

        Assert.Equal(
            "gateway.yaml:3: fleet.address: 'nowhere' is not an address; use HOST:PORT, e.g. 0.0.0.0:9443 or [::1]:9443",
            Relative(Assert.Single(diagnostics)));
        Assert.Equal("0.0.0.0:9443", options.Fleet!.Address);
    }

    private (GatewayOptions Options, IReadOnlyList<ConfigDiagnostic> Diagnostics) Load(string yaml)
    {
        var file = _dir.Combine("gateway.yaml");
        File.WriteAllText(file, yaml);
        return GatewayConfigLoader.Load(file, _ => null);
    }

    /// <summary>The diagnostic's line with the directory left out, so the expected text is whole.</summary>
    private string Relative(ConfigDiagnostic problem) =>
        problem.ToString().Replace(_dir.Combine("gateway.yaml"), "gateway.yaml", StringComparison.Ordinal).Replace(_dir.Path, "DIR", StringComparison.Ordinal);
}
