using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Elasticsearch;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

public sealed class ElasticsearchOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-es-config-");

    public void Dispose() => _dir.Dispose();

    private IReadOnlyList<ConfigDiagnostic> Load(string entry, out ElasticsearchOptions? options)
    {
        var file = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(file, "outputs:\n  - name: es\n    type: elasticsearch\n    url: https://search.example:443\n" + entry);
        var env = new Dictionary<string, string> { ["LOGSTASH_USERNAME"] = "logstash", ["LOGSTASH_PASSWORD"] = "pw" };
        var (loaded, diagnostics) = GatewayConfigLoader.Load(file, name => env.GetValueOrDefault(name));
        options = loaded.Outputs.OfType<ElasticsearchOptions>().SingleOrDefault();
        return diagnostics;
    }

    [Fact]
    public void Read_UrlOnly_GivesLogstashCompatibleDefaults()
    {
        Assert.Empty(Load(string.Empty, out var options));

        Assert.Equal((null, false, 1000, 10L * 1024 * 1024, false, null), (options!.Index, options.Gzip, options.MaxDocuments, options.MaxBytes, options.DeterministicIds, options.AwsRegion));
    }

    [Fact]
    public void Read_BlogCredentialsFromTheEnvironment_AreBasicAuth()
    {
        Assert.Empty(Load("    auth:\n      username: ${LOGSTASH_USERNAME}\n      password: ${LOGSTASH_PASSWORD}\n    index: flotta-%{+YYYY.MM}\n    gzip: true\n", out var options));

        Assert.Equal(("logstash", "pw", "flotta-%{+YYYY.MM}", true), (options!.Http.Auth!.Username, options.Http.Auth.Password!.Reveal(), options.Index, options.Gzip));
    }

    [Fact]
    public void Read_Aws_GivesSigV4RegionAndService()
    {
        Assert.Empty(Load("    aws:\n      region: eu-west-1\n      service: aoss\n", out var options));

        Assert.Equal(("eu-west-1", "aoss"), (options!.AwsRegion, options.AwsService));
    }

    [Theory]
    [InlineData("    aws: {region: us-east-1}\n    auth: {bearerToken: t}\n", "outputs[0].aws", "set either `auth` (basic or bearer) or `aws` (SigV4), not both")]
    [InlineData("    aws: {service: es}\n", "outputs[0].aws.region", "`region` is required for SigV4 signing (e.g. us-east-1)")]
    [InlineData("    aws: {region: US_EAST}\n", "outputs[0].aws.region", "`region` must be lower-case letters, digits and '-', got 'US_EAST'")]
    [InlineData("    maxBytes: 10\n", "outputs[0].maxBytes", "`maxBytes` must be between 1024 and 1073741824, got 10")]
    [InlineData("    index: logs-%{[host]}\n", "outputs[0].index", "index pattern \"logs-%{[host]}\": ")]
    public void Read_BadEntry_ReportsTheKeyAndWhy(string entry, string field, string message)
    {
        var diagnostics = Load(entry, out _);

        var error = Assert.Single(diagnostics, d => d.IsError);
        Assert.Equal(field, error.FieldPath);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0);
    }
}
