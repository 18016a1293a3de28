using System.Globalization;
using System.Text.Json.Nodes;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// Real remote-write senders (vmagent; Prometheus in agent mode) scrape a real node_exporter and write into the
/// gateway's <c>/api/v1/write</c>; the gateway's <c>/api/v1/query</c> then answers with node_exporter's values and
/// the scrape's job/instance labels. MemTotal does not change while the machine runs, so it must match exactly.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class ScrapersToGatewayTests
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Vmagent_ScrapesNodeExporter_GatewayQueryReturnsExactMemTotal()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using var node = await StartNodeExporterAsync();
        var config = PeerProcess.CreateTempDirectory("vmagent");
        await File.WriteAllTextAsync(Path.Combine(config, "scrape.yml"), ScrapeConfig("node-vmagent", node.Port));
        using var vmagent = await PeerProcess.StartAsync(
            "/usr/bin/vmagent", "victoria-metrics",
            (port, dir) =>
            [
                "-httpListenAddr=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "-promscrape.config=" + Path.Combine(dir, "scrape.yml"),
                "-remoteWrite.url=http://" + gateway.Host.HttpEndPoint + "/api/v1/write",
                "-remoteWrite.tmpDataPath=" + Path.Combine(dir, "queue"),
                "-remoteWrite.flushInterval=1s",
            ],
            "/health", config);

        await AssertNodeMetricsAsync(gateway, node, "node-vmagent", () => vmagent.Output);
    }

    [Fact]
    public async Task PrometheusAgent_ScrapesNodeExporter_GatewayQueryReturnsExactMemTotal()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using var node = await StartNodeExporterAsync();
        var config = PeerProcess.CreateTempDirectory("prometheus-agent");
        await File.WriteAllTextAsync(Path.Combine(config, "prometheus.yml"),
            ScrapeConfig("node-prometheus", node.Port) + $"""
            remote_write:
              - url: http://{gateway.Host.HttpEndPoint}/api/v1/write
                queue_config:
                  batch_send_deadline: 1s
                  min_backoff: 100ms
                  max_backoff: 1s

            """);
        using var prometheus = await PeerProcess.StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (port, dir) =>
            [
                "--config.file=" + Path.Combine(dir, "prometheus.yml"),
                "--enable-feature=agent",
                "--storage.agent.path=" + Path.Combine(dir, "wal"),
                "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            ],
            "/-/ready", config);

        await AssertNodeMetricsAsync(gateway, node, "node-prometheus", () => prometheus.Output);
    }

    private static Task<PeerProcess> StartNodeExporterAsync() => PeerProcess.StartAsync(
        "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter",
        (port, _) => ["--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
        "/metrics");

    private static string ScrapeConfig(string job, int nodePort) => $"""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: {job}
            static_configs:
              - targets: ['127.0.0.1:{nodePort.ToString(CultureInfo.InvariantCulture)}']

        """;

    private static async Task AssertNodeMetricsAsync(InProcessGateway gateway, PeerProcess node, string job, Func<string> senderOutput)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var exposition = await http.GetStringAsync(new Uri(node.BaseUrl + "/metrics"));
        var memTotal = GatewayTestKit.ExpositionValue(exposition, "node_memory_MemTotal_bytes");
        Assert.True(memTotal is > 0, "node_exporter exposes no node_memory_MemTotal_bytes");
        var instance = "127.0.0.1:" + node.Port.ToString(CultureInfo.InvariantCulture);

        JsonArray? result = null;
        var found = await Eventually.PollAsync(async () =>
        {
            result = await GatewayTestKit.InstantQueryAsync(gateway.Http, "node_memory_MemTotal_bytes");
            return result is { Count: > 0 };
        }, QueryTimeout);
        Assert.True(found, $"node_memory_MemTotal_bytes never became queryable on the gateway\nsender said:\n{senderOutput()}");
        var series = Assert.Single(result!);
        Assert.Equal(job, (string?)series!["metric"]!["job"]);
        Assert.Equal(instance, (string?)series["metric"]!["instance"]);
        Assert.Equal("node_memory_MemTotal_bytes", (string?)series["metric"]!["__name__"]);
        Assert.Equal(memTotal!.Value, double.Parse((string)series["value"]![1]!, CultureInfo.InvariantCulture));

        var mapped = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"node_memory_Mapped_bytes{{job=\"{job}\",instance=\"{instance}\"}}");
        var mappedSeries = Assert.Single(mapped!);
        Assert.True(double.Parse((string)mappedSeries!["value"]![1]!, CultureInfo.InvariantCulture) > 0, "node_memory_Mapped_bytes is not positive: " + mappedSeries.ToJsonString());
    }
}
