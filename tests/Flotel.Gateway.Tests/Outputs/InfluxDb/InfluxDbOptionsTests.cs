using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.InfluxDb;

namespace Flotel.Gateway.Tests.Outputs.InfluxDb;

public sealed class InfluxDbOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-influx-config-");

    public void Dispose() => _dir.Dispose();

    private IReadOnlyList<ConfigDiagnostic> Load(string entry, out InfluxDbOptions? options)
    {
        var file = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(file, "outputs:\n  - name: influx\n    type: influxdb\n    url: http://127.0.0.1:8086\n" + entry);
        var (loaded, diagnostics) = GatewayConfigLoader.Load(file, name => name == "INFLUX_TOKEN" ? "tkn" : null);
        options = loaded.Outputs.OfType<InfluxDbOptions>().SingleOrDefault();
        return diagnostics;
    }

    [Fact]
    public void Read_V1_GivesDatabaseRetentionPolicyAndDefaults()
    {
        Assert.Empty(Load("    database: flotta\n    retentionPolicy: autogen\n", out var options));

        Assert.Equal(("flotta", "autogen", false, 5000, false), (options!.Database, options.RetentionPolicy, options.IsV2, options.MaxPoints, options.Gzip));
    }

    [Fact]
    public void Read_V2_GivesOrgBucketAndTheTokenAsASecret()
    {
        Assert.Empty(Load("    org: flotta\n    bucket: metrics\n    token: ${INFLUX_TOKEN}\n    maxPoints: 1000\n    gzip: true\n", out var options));

        Assert.True(options!.IsV2);
        Assert.Equal(("flotta", "metrics", "tkn", "***", 1000, true), (options.Org, options.Bucket, options.Token!.Reveal(), options.Token.ToString(), options.MaxPoints, options.Gzip));
    }

    [Theory]
    [InlineData("", "outputs[0]", "set `database` (InfluxDB 1.x) or `org` and `bucket` (InfluxDB 2.x/3.x, with `token`), not both")]
    [InlineData("    database: a\n    bucket: b\n", "outputs[0]", "set `database` (InfluxDB 1.x) or `org` and `bucket` (InfluxDB 2.x/3.x, with `token`), not both")]
    [InlineData("    bucket: b\n", "outputs[0].org", "`org` and `bucket` are both required for the InfluxDB 2.x/3.x write API")]
    [InlineData("    database: \"\"\n", "outputs[0].database", "`database` must not be empty")]
    [InlineData("    database: a\n    maxPoints: 0\n", "outputs[0].maxPoints", "`maxPoints` must be between 1 and 1000000, got 0")]
    public void Read_BadEntry_ReportsTheKeyAndWhy(string entry, string field, string message)
    {
        var diagnostics = Load(entry, out _);

        var error = Assert.Single(diagnostics, d => d.IsError && d.FieldPath == field);
        Assert.Equal(message, error.Message);
    }
}
