using System.Globalization;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// Agent restart with <c>kill -9</c> loses no metrics: <c>flotel agent</c> runs as a process, the receiver goes away, the agent
/// is killed with a backlog in its WAL, then both come back. node_exporter counts the scrapes it served
/// (<c>promhttp_metric_handler_requests_total</c>), so Prometheus must hold one sample per served scrape — at most
/// the one scrape in flight at the kill may be missing.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsAgentKillTests
{
    private const string Device = "edge-device-1";

    [Fact]
    public async Task AgentProcess_KilledWithBacklogThenRestarted_EveryServedScrapeReachesPrometheus()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var prometheus = new MetricsRestartablePrometheus();
        await prometheus.StartAsync();
        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, prometheus.WriteUrl));
        var data = PeerProcess.CreateTempDirectory("agent-data");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // Scrapes node_exporter answered for the agent: its promhttp counter (requests finished before this one) minus
        // the requests this test made itself.
        var own = 0;
        async Task<double> ServedAsync()
        {
            var text = await http.GetStringAsync(MetricsTestKit.NodeExporterUrl(nodeExporter));
            const string series = "promhttp_metric_handler_requests_total{code=\"200\"} ";
            var line = text.Split('\n').Single(l => l.StartsWith(series, StringComparison.Ordinal));
            return double.Parse(line[series.Length..], CultureInfo.InvariantCulture) - own++;
        }

        var count = "count_over_time(node_memory_Mapped_bytes{edgedeviceid=\"" + Device + "\"}[15m])";
        try
        {
            using (var first = await MetricsAgentProcess.StartAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter)))
            {
                Assert.True(
                    await MetricsTestKit.UntilAsync(async () => MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, count)) >= 2, TimeSpan.FromSeconds(60)),
                    "nothing arrived: " + first.Output);
                prometheus.Stop();
                await Task.Delay(TimeSpan.FromSeconds(6)); // ~6 scrapes only in the WAL
                await first.SignalAndWaitAsync(9, TimeSpan.FromSeconds(10));
            }

            await prometheus.StartAsync();
            var served = 0.0;
            using (var second = await MetricsAgentProcess.StartAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter)))
            {
                Assert.True(
                    await MetricsTestKit.UntilAsync(
                        async () => MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, count)) >= await ServedAsync() - 1,
                        TimeSpan.FromSeconds(60)),
                    "backlog not delivered: " + second.Output);
                await second.SignalAndWaitAsync(15, TimeSpan.FromSeconds(30)); // clean stop: the last scrapes are flushed
                Assert.Contains("wrote metrics range ", second.Output, StringComparison.Ordinal);
            }

            served = await ServedAsync();
            double? stored = null;
            await MetricsTestKit.UntilAsync(
                async () => (stored = MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, count))) >= served - 1,
                TimeSpan.FromSeconds(10));
            Assert.InRange(stored ?? 0, served - 1, served);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }
}
