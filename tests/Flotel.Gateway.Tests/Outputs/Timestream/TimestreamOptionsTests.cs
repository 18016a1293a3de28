using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Timestream;

namespace Flotel.Gateway.Tests.Outputs.Timestream;

public sealed class TimestreamOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-timestream-config-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_BlogAdapterParameters_GivesOptionsWithDocumentedDefaults()
    {
        var (options, diagnostics) = Load("""
            outputs:
              - name: aws-metrics
                type: timestream
                region: ${AWS_REGION}
                database: ${DATABASE_NAME}
                table: ${TABLE_NAME}
            """, new() { ["AWS_REGION"] = "eu-central-1", ["DATABASE_NAME"] = "flotta", ["TABLE_NAME"] = "metrics" });

        Assert.Empty(diagnostics);
        var ts = Assert.IsType<TimestreamOptions>(Assert.Single(options.Outputs));
        Assert.Equal(("aws-metrics", "eu-central-1", "flotta", "metrics"), (ts.Name, ts.Region, ts.Database, ts.Table));
        Assert.Null(ts.Endpoint);
        Assert.Equal(new Uri("https://ingest.timestream.eu-central-1.amazonaws.com/"), ts.EffectiveDiscoveryEndpoint);
        Assert.Equal((6, false, 100, 30), (ts.MemoryStoreRetentionHours, ts.MagneticStoreWrites, ts.MaxRecordsPerRequest, ts.TimeoutSeconds));
        Assert.Empty(ts.CommonDimensions);
        Assert.Null(ts.Profile);
    }

    [Fact]
    public void Load_EveryKey_IsRead()
    {
        var (options, diagnostics) = Load("""
            outputs:
              - name: ts
                type: timestream
                region: us-west-2
                database: db_1
                table: table.2
                endpoint: https://vpce-123.ingest.timestream.us-west-2.vpce.amazonaws.com
                discoveryEndpoint: http://127.0.0.1:4566
                profile: fleet
                memoryStoreRetentionHours: 24
                magneticStoreWrites: true
                maxRecordsPerRequest: 50
                timeoutSeconds: 10
                commonDimensions:
                  fleet: blog
            """);

        Assert.Empty(diagnostics);
        var ts = Assert.IsType<TimestreamOptions>(Assert.Single(options.Outputs));
        Assert.Equal(new Uri("https://vpce-123.ingest.timestream.us-west-2.vpce.amazonaws.com/"), ts.Endpoint);
        Assert.Equal(new Uri("http://127.0.0.1:4566/"), ts.EffectiveDiscoveryEndpoint);
        Assert.Equal(("fleet", 24, true, 50, 10), (ts.Profile, ts.MemoryStoreRetentionHours, ts.MagneticStoreWrites, ts.MaxRecordsPerRequest, ts.TimeoutSeconds));
        Assert.Equal("blog", ts.CommonDimensions["fleet"]);
    }

    [Theory]
    [InlineData("database: db1\n    table: tab", "outputs[0].region", "needs `region`")]
    [InlineData("region: eu-central-1\n    table: tab", "outputs[0].database", "needs `database`")]
    [InlineData("region: eu-central-1\n    database: db1", "outputs[0].table", "needs `table`")]
    [InlineData("region: EU Central\n    database: db1\n    table: tab", "outputs[0].region", "`region` 'EU Central' is not an AWS region")]
    [InlineData("region: eu-central-1\n    database: db\n    table: tab", "outputs[0].database", "`database` 'db' must be 3–256 characters")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: my table", "outputs[0].table", "may only contain")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: tab\n    maxRecordsPerRequest: 101", "outputs[0].maxRecordsPerRequest", "`maxRecordsPerRequest` must be between 1 and 100")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: tab\n    memoryStoreRetentionHours: 0", "outputs[0].memoryStoreRetentionHours", "`memoryStoreRetentionHours` must be between 1 and 8766")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: tab\n    endpoint: ingest.example.com", "outputs[0].endpoint", "`endpoint` 'ingest.example.com' is not an http(s) URL")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: tab\n    endpoint: https://x.example/path", "outputs[0].endpoint", "without a path")]
    [InlineData("region: eu-central-1\n    database: db1\n    table: tab\n    commonDimensions:\n      time: x", "outputs[0].commonDimensions", "is reserved")]
    public void Load_InvalidValue_ErrorQuotesTheKey(string body, string field, string message)
    {
        var (options, diagnostics) = Load("outputs:\n  - name: ts\n    type: timestream\n    " + body + "\n");

        var error = Assert.Single(diagnostics, d => d.IsError);
        Assert.Equal(field, error.FieldPath);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0);
        Assert.Empty(options.Outputs);
    }

    [Fact]
    public void Load_CommonDimensions_AreCaseSensitiveAndKeepTheirOrder()
    {
        var (options, diagnostics) = Load(
            "outputs:\n  - name: ts\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tab\n"
            + "    commonDimensions:\n      site: a\n      Site: b\n      rack: c\n");

        Assert.Empty(diagnostics);
        var ts = Assert.IsType<TimestreamOptions>(Assert.Single(options.Outputs));
        Assert.Equal(["site", "Site", "rack"], ts.CommonDimensions.Keys);
        Assert.Equal(("a", "b"), (ts.CommonDimensions["site"], ts.CommonDimensions["Site"]));
    }

    [Fact]
    public void Load_TooManyCommonDimensions_IsAnError()
    {
        var names = string.Concat(Enumerable.Range(0, TimestreamLimits.MaxDimensions).Select(i => $"      d{i}: v\n"));
        var (options, diagnostics) = Load(
            "outputs:\n  - name: ts\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tab\n    commonDimensions:\n" + names);

        var error = Assert.Single(diagnostics);
        Assert.Equal("outputs[0].commonDimensions", error.FieldPath);
        Assert.Contains("has 128 entries; a record has at most 128 dimensions", error.Message, StringComparison.Ordinal);
        Assert.Empty(options.Outputs);
    }

    [Fact]
    public void Load_UnknownKey_WarnsAndKeepsTheOutput()
    {
        var (options, diagnostics) = Load("outputs:\n  - name: ts\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tab\n    databaseName: x\n");
        var warning = Assert.Single(diagnostics);
        Assert.False(warning.IsError);
        Assert.Equal("outputs[0].databaseName", warning.FieldPath);
        Assert.Single(options.Outputs);
    }

    private (GatewayOptions Options, IReadOnlyList<ConfigDiagnostic> Diagnostics) Load(string yaml, Dictionary<string, string>? env = null)
    {
        var file = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(file, yaml);
        return GatewayConfigLoader.Load(file, name => env?.GetValueOrDefault(name));
    }
}
