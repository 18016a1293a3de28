using Flotel.Gateway.Configuration;
using Flotel.Gateway.Query.Prometheus;

namespace Flotel.Gateway.Tests.Configuration;

public sealed class GatewayConfigLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-config-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_WithoutAFile_GivesTheContractDefaults()
    {
        var (options, diagnostics) = GatewayConfigLoader.Load(null);

        Assert.Empty(diagnostics);
        Assert.Equal("0.0.0.0:9201", options.HttpAddress);
        Assert.Equal("0.0.0.0:5140", options.SyslogAddress);
        Assert.True(options.SyslogUdp);
        Assert.Equal("logstash-%{+YYYY.MM.dd}", options.IndexPattern);
        Assert.Null(options.QueryAuth);
        Assert.True(options.StoreEnabled);
    }

    [Fact]
    public void Load_StoreMetricsMaxSeries_SetsTheSeriesLimitNextToRetention()
    {
        var (defaults, _) = GatewayConfigLoader.Load(null);
        var (options, diagnostics) = GatewayConfigLoader.Load(Write("store:\n  metrics:\n    retentionDays: 30\n    maxSeries: 100\n"), _ => null);
        var (_, bad) = GatewayConfigLoader.Load(Write("store:\n  logs:\n    maxSeries: 100\n"), _ => null);

        Assert.Equal(2_000_000, defaults.MetricMaxSeries);
        Assert.Empty(diagnostics);
        Assert.Equal(100, options.MetricMaxSeries);
        Assert.Equal(30, options.MetricRetentionDays);
        Assert.NotEmpty(bad); // a key of the metric store only
    }

    [Fact]
    public void Load_WithTheStoreDisabled_RunsNoStoreOutput()
    {
        var (options, diagnostics) = GatewayConfigLoader.Load(Write("store:\n  enabled: false\n"), _ => null);

        Assert.Empty(diagnostics);
        Assert.False(options.StoreEnabled);
    }

    [Fact]
    public void Load_ResolvesEnvironmentReferencesAndDefaults()
    {
        var file = Write("""
            syslog:
              address: ${ADDR}
            auth:
              query:
                username: ${USER_NAME:-elastic}
                password: ${PASS}
            data: $${literal}
            """);
        var env = new Dictionary<string, string> { ["ADDR"] = "127.0.0.1:6000", ["PASS"] = "s3cret" };

        var (options, diagnostics) = GatewayConfigLoader.Load(file, name => env.GetValueOrDefault(name));

        Assert.Empty(diagnostics);
        Assert.Equal("127.0.0.1:6000", options.SyslogAddress);
        Assert.Equal("elastic", options.QueryAuth!.Username);
        Assert.Equal("s3cret", options.QueryAuth.Password!.Reveal());
        Assert.Equal("${literal}", options.DataDirectory);
    }

    [Fact]
    public void Load_WithAnUnsetVariable_NamesFileLineAndField()
    {
        var file = Write("""
            http:
              address: 127.0.0.1:9201
            auth:
              ingest:
                bearerToken: ${NO_SUCH_TOKEN}
            """);

        var (_, diagnostics) = GatewayConfigLoader.Load(file, _ => null);

        var error = Assert.Single(diagnostics, d => d.IsError && d.Message.Contains("NO_SUCH_TOKEN", StringComparison.Ordinal));
        Assert.Equal(5, error.Line);
        Assert.Equal("auth.ingest.bearerToken", error.FieldPath);
    }

    [Theory]
    [InlineData("http:\n  address: nohost\n", 2, "http.address")]
    [InlineData("syslog:\n  udp: maybe\n", 2, "syslog.udp")]
    [InlineData("syslog:\n  timezone: Mars/Olympus\n", 2, "syslog.timezone")]
    [InlineData("syslog:\n  tcp: perhaps\n", 2, "syslog.tcp")]
    [InlineData("syslog:\n  maxConnections: 0\n", 2, "syslog.maxConnections")]
    [InlineData("syslog:\n  idleTimeoutSeconds: -1\n", 2, "syslog.idleTimeoutSeconds")]
    [InlineData("http:\n  maxConnections: 0\n", 2, "http.maxConnections")]
    [InlineData("http:\n  keepAliveTimeoutSeconds: 0\n", 2, "http.keepAliveTimeoutSeconds")]
    [InlineData("http:\n  requestHeadersTimeoutSeconds: 100000\n", 2, "http.requestHeadersTimeoutSeconds")]
    [InlineData("syslog:\n  maxFrameBytes: 10\n", 2, "syslog.maxFrameBytes")]
    [InlineData("queue:\n  maxMiB: \"12\"\n", 2, "queue.maxMiB")]
    [InlineData("store:\n  enabled: sometimes\n", 2, "store.enabled")]
    [InlineData("store:\n  indexPattern: \"logstash-%{+YYYY.MM.dd\"\n", 2, "store.indexPattern")]
    [InlineData("auth:\n  query:\n    username: u\n", 3, "auth.query")]
    [InlineData("http:\n  tls:\n    certificate: /nonexistent.pem\n    key: /nonexistent.key\n", 3, "http.tls.certificate")]
    [InlineData("outputs:\n  - name: es\n    type: nope\n", 3, "outputs[0].type")]
    [InlineData("outputs:\n  - type: nope\n", 2, "outputs[0].name")]
    [InlineData("outputs:\n  - name: \"a b\"\n    type: nope\n", 2, "outputs[0].name")]
    [InlineData("outputs:\n  - name: store-logs\n    type: nope\n", 2, "outputs[0].name")]
    [InlineData("outputs:\n  name: x\n", 2, "outputs")]
    public void Load_WithABadValue_ReportsItsLineAndField(string yaml, int line, string field)
    {
        var (_, diagnostics) = GatewayConfigLoader.Load(Write(yaml), _ => null);

        Assert.Contains(diagnostics, d => d.IsError && d.Line == line && d.FieldPath == field);
    }

    [Fact]
    public void Load_ListenerSwitchesAndConnectionLimits()
    {
        var (defaults, _) = GatewayConfigLoader.Load(null);
        Assert.True(defaults.SyslogTcp);
        Assert.Equal(20_000, defaults.SyslogMaxConnections);
        Assert.Equal(900, defaults.SyslogIdleTimeoutSeconds);
        Assert.Equal(20_000, defaults.HttpMaxConnections);

        var (options, diagnostics) = GatewayConfigLoader.Load(Write("""
            http:
              maxConnections: 50
              keepAliveTimeoutSeconds: 10
              requestHeadersTimeoutSeconds: 5
            syslog:
              tcp: false
              udp: false
              maxConnections: 7
              idleTimeoutSeconds: 0
            """), _ => null);

        Assert.Empty(diagnostics);
        Assert.False(options.SyslogTcp);
        Assert.False(options.SyslogUdp);
        Assert.Equal(7, options.SyslogMaxConnections);
        Assert.Equal(0, options.SyslogIdleTimeoutSeconds);
        Assert.Equal(50, options.HttpMaxConnections);
        Assert.Equal(10, options.HttpKeepAliveTimeoutSeconds);
        Assert.Equal(5, options.HttpRequestHeadersTimeoutSeconds);
    }

    [Fact]
    public void Load_WithAnUnknownKey_WarnsAndKeepsTheRest()
    {
        var (options, diagnostics) = GatewayConfigLoader.Load(Write("htp:\n  address: 1.2.3.4:1\nsyslog:\n  udp: false\n"), _ => null);

        var warning = Assert.Single(diagnostics);
        Assert.False(warning.IsError);
        Assert.Equal("htp", warning.FieldPath);
        Assert.False(options.SyslogUdp);
    }

    [Theory]
    [InlineData("auth:\n  operator:\n    bearerToken: t\n", "auth.operator")]
    [InlineData("store:\n  logs:\n    maxSeries: 100\n", "store.logs.maxSeries")]
    [InlineData("store:\n  logs:\n    keepDays: 3\n", "store.logs.keepDays")]
    public void Load_AnUnknownKeyBesideKnownOnes_IsWarnedAboutAndChangesNothing(string yaml, string field)
    {
        var (options, diagnostics) = GatewayConfigLoader.Load(Write(yaml), _ => null);

        var warning = Assert.Single(diagnostics);
        Assert.False(warning.IsError);
        Assert.Equal(field, warning.FieldPath);
        Assert.Equal("unknown field, ignored", warning.Message);
        Assert.Null(options.QueryAuth);
        Assert.Equal(2_000_000, options.MetricMaxSeries);
        Assert.Equal(7, options.LogRetentionDays);
    }

    [Fact]
    public void Load_WithBrokenYaml_ReportsTheLine()
    {
        var (_, diagnostics) = GatewayConfigLoader.Load(Write("http:\n  address: [\n"), _ => null);

        var error = Assert.Single(diagnostics);
        Assert.True(error.IsError);
        Assert.True(error.Line > 0);
    }

    [Fact]
    public void Load_QueryLimits_DefaultToPrometheusAndReadDurationsAndCounts()
    {
        var (defaults, _) = GatewayConfigLoader.Load(null);
        var (options, diagnostics) = GatewayConfigLoader.Load(Write("query:\n  timeout: 1m30s\n  maxConcurrency: 4\n"), _ => null);

        Assert.Equal(TimeSpan.FromMinutes(2), defaults.QueryTimeout);
        Assert.Equal(20, defaults.QueryMaxConcurrency);
        Assert.Empty(diagnostics);
        Assert.Equal(TimeSpan.FromSeconds(90), options.QueryTimeout);
        Assert.Equal(4, options.QueryMaxConcurrency);
    }

    [Theory]
    [InlineData("query:\n  timeout: 30\n", 2, "query.timeout", "with a unit")]
    [InlineData("query:\n  timeout: soon\n", 2, "query.timeout", "with a unit")]
    [InlineData("query:\n  timeout: 0s\n", 2, "query.timeout", "more than 0")]
    [InlineData("query:\n  timeout: 2d\n", 2, "query.timeout", "at most 24h")]
    [InlineData("query:\n  maxConcurrency: 0\n", 2, "query.maxConcurrency", "between 1 and 1024")]
    [InlineData("query:\n  maxConcurrency: many\n", 2, "query.maxConcurrency", "integer")]
    public void Load_BadQueryLimit_NamesLineFieldAndRule(string yaml, int line, string field, string rule)
    {
        var file = Write(yaml);
        var (options, diagnostics) = GatewayConfigLoader.Load(file, _ => null);

        var problem = Assert.Single(diagnostics);
        Assert.True(problem.IsError);
        Assert.StartsWith($"{file}:{line}: {field}: ", problem.ToString(), StringComparison.Ordinal);
        Assert.Equal(line, problem.Line);
        Assert.Equal(field, problem.FieldPath);
        Assert.Contains(rule, problem.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMinutes(2), options.QueryTimeout);
        Assert.Equal(20, options.QueryMaxConcurrency);
    }

    [Theory]
    [InlineData(null, PrometheusLabelNames.Utf8)]
    [InlineData("utf8", PrometheusLabelNames.Utf8)]
    [InlineData("sanitize", PrometheusLabelNames.Sanitize)]
    public void Load_QueryPrometheusLabelNames_IsRead(string? value, PrometheusLabelNames expected)
    {
        var (options, diagnostics) = value is null
            ? GatewayConfigLoader.Load(null)
            : GatewayConfigLoader.Load(Write("query:\n  prometheus:\n    labelNames: " + value + "\n"), _ => null);

        Assert.Empty(diagnostics);
        Assert.Equal(expected, options.PrometheusLabelNames);
    }

    [Theory]
    [InlineData("query:\n  prometheus:\n    labelNames: escape\n", 3, "query.prometheus.labelNames", "one of utf8, sanitize")]
    [InlineData("query:\n  prometheus:\n    labelNames: Sanitize\n", 3, "query.prometheus.labelNames",
        "`labelNames` must be one of utf8, sanitize; got 'Sanitize'")]
    [InlineData("query:\n  prometheus:\n    labelNames: {a: 1}\n", 3, "query.prometheus.labelNames", "expected a string")]
    [InlineData("query:\n  prometheus:\n    labelname: sanitize\n", 3, "query.prometheus.labelname", "")]
    public void Load_BadQueryPrometheusLabelNames_NamesLineAndField(string yaml, int line, string field, string rule)
    {
        var (options, diagnostics) = GatewayConfigLoader.Load(Write(yaml), _ => null);

        var problem = Assert.Single(diagnostics);
        Assert.Equal(line, problem.Line);
        Assert.Equal(field, problem.FieldPath);
        Assert.Contains(rule, problem.Message, StringComparison.Ordinal);
        Assert.Equal(PrometheusLabelNames.Utf8, options.PrometheusLabelNames);
    }

    [Fact]
    public void Secret_NeverPrintsItsValue()
    {
        var (options, _) = GatewayConfigLoader.Load(Write("auth:\n  ingest:\n    bearerToken: hunter2\n"), _ => null);

        Assert.Equal("***", options.IngestAuth!.BearerToken!.ToString());
        Assert.DoesNotContain("hunter2", $"{options.IngestAuth.BearerToken}", StringComparison.Ordinal);
    }

    private string Write(string yaml)
    {
        var file = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(file, yaml);
        return file;
    }
}
