using Flotel.Agent.Metrics;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// The agent's metrics path loses nothing: a real Prometheus receiver goes away and comes back, the agent stops without flushing
/// and starts again — every scrape the agent stored ends up in Prometheus exactly once per timestamp, which
/// <c>count_over_time</c> over the whole test shows against the agent's own scrape count.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsLossTests
{
    private const string Device = "edge-device-1";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReceiverOutage_PrometheusDownThenBackOnSamePort_NoScrapeMissing()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var prometheus = new MetricsRestartablePrometheus();
        await prometheus.StartAsync();
        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, prometheus.WriteUrl));
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            var agent = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            var metrics = agent.GetMetricsComponent();
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics.Scrapes("system") >= 3 && metrics.PendingRecords == 0, Wait), "no delivery before the outage");

            prometheus.Stop();
            var before = metrics.Scrapes("system");
            await Task.Delay(TimeSpan.FromSeconds(20));
            Assert.True(metrics.PendingRecords > 0, "the outage built no backlog");
            Assert.True(agent.Metrics.Sum("flotel_output_requests_total", ("output", MetricsComponent.OutputName), ("result", "retry")) > 0);
            Assert.True(metrics.Scrapes("system") > before + 5, "scraping stopped during the outage");

            await prometheus.StartAsync();
            var after = metrics.Scrapes("system");
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics.Scrapes("system") >= after + 2 && metrics.PendingRecords == 0, Wait), "backlog not drained: " + metrics.PendingRecords);
            await agent.StopAsync(TimeSpan.FromSeconds(10));
            await agent.DisposeAsync();

            Assert.Equal(0, agent.Metrics.Sum("flotel_output_items_total", ("output", MetricsComponent.OutputName), ("result", "dead_lettered")));
            await AssertEveryScrapeStoredAsync(prometheus.BaseUrl, metrics.Scrapes("system"), metrics.Scrapes("system", succeeded: false));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task AgentRestart_StoppedWithoutFlushWhileReceiverDown_BacklogSentAfterRestart()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var prometheus = new MetricsRestartablePrometheus();
        await prometheus.StartAsync();
        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, prometheus.WriteUrl));
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            // First run: delivers, then the receiver goes away and the agent is stopped with no time to flush.
            var first = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            var metrics1 = first.GetMetricsComponent();
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics1.Scrapes("system") >= 2 && metrics1.PendingRecords == 0, Wait));
            prometheus.Stop();
            var down = metrics1.Scrapes("system");
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics1.Scrapes("system") >= down + 4, Wait));
            await first.StopAsync(TimeSpan.Zero);
            await first.DisposeAsync();
            var scrapes1 = metrics1.Scrapes("system");
            var failed1 = metrics1.Scrapes("system", succeeded: false);
            Assert.True(metrics1.PendingRecords >= 4, "expected a backlog in the WAL, found " + metrics1.PendingRecords);

            // Second run on the same data directory: the WAL and its cursor carry the backlog over.
            await prometheus.StartAsync();
            var second = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            var metrics2 = second.GetMetricsComponent();
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics2.Scrapes("system") >= 2 && metrics2.PendingRecords == 0, Wait), "backlog not drained: " + metrics2.PendingRecords);
            await second.StopAsync(TimeSpan.FromSeconds(10));
            await second.DisposeAsync();
            var scrapes2 = metrics2.Scrapes("system");

            await AssertEveryScrapeStoredAsync(prometheus.BaseUrl, scrapes1 + scrapes2, failed1 + metrics2.Scrapes("system", succeeded: false));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }

    /// <summary>
    /// node_memory_Mapped_bytes is one series present in every successful node_exporter scrape, so Prometheus must hold
    /// exactly one sample per stored scrape: fewer is a gap, more would be a duplicate at another timestamp. Every
    /// scrape, failed ones included (a slow node_exporter on a busy machine), stored one <c>up</c> sample.
    /// </summary>
    private static async Task AssertEveryScrapeStoredAsync(string prometheus, long scrapes, long failed)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var query = "count_over_time(node_memory_Mapped_bytes{edgedeviceid=\"" + Device + "\"}[15m])";
        double? stored = null;
        await MetricsTestKit.UntilAsync(
            async () =>
            {
                stored = MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus, query));
                return stored == scrapes;
            },
            TimeSpan.FromSeconds(15));
        Assert.Equal(scrapes, stored);
        var up = Assert.Single(MetricsTestKit.FromSource(await MetricsTestKit.QueryAsync(http, prometheus, "count_over_time(up{edgedeviceid=\"" + Device + "\"}[15m])"), "system"));
        Assert.Equal(scrapes + failed, MetricsTestKit.Value(up));
    }
}
