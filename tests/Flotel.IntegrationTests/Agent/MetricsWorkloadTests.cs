using System.Globalization;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// Workload metrics per the EdgeWorkload's <c>metrics</c> section (docs/reference/flotta-device-worker.md §2.3, §4.4): a host-network pod with three
/// containers — one on the workload's port and path (a real node_exporter stands in for its exporter), one with a
/// per-container override (a small exporter on another port and path, exposing its own timestamps, gzip), one disabled
/// (never contacted). Scraped on 127.0.0.1, filtered by the workload's allow list, stored in a real Prometheus.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsWorkloadTests
{
    private const string Device = "edge-device-1";
    private const string Workload = "exporter-workload";

    [Fact]
    public async Task Workload_HostNetworkPodWithOverrideAndDisabledContainer_ScrapedPerItsMetricsSection()
    {
        using var systemExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var workloadExporter = await MetricsTestKit.StartNodeExporterAsync();
        var exposed = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();
        using var custom = new MetricsTestExporter(
            "/custom",
            "# TYPE workload_custom_total counter\nworkload_custom_total{kind=\"a\"} 42 " + exposed.ToString(CultureInfo.InvariantCulture) + "\nworkload_requests_total 7\n");
        using var disabled = new MetricsTestExporter("/metrics", "never_scraped 1\n");
        using var prometheus = await PeerProcess.StartPrometheusReceiverAsync();
        var workload = $"""
            ---
            apiVersion: management.project-flotta.io/v1alpha1
            kind: EdgeWorkload
            metadata:
              name: {Workload}
              namespace: default
            spec:
              deviceSelector:
                matchLabels:
                  app: foo
              type: pod
              metrics:
                port: {workloadExporter.Port}
                path: /metrics
                interval: 1
                allowList:
                  name: workload-allow-list
                containers:
                  custom:
                    port: {custom.Port}
                    path: /custom
                  quiet:
                    port: {disabled.Port}
                    disabled: true
              pod:
                spec:
                  hostNetwork: true
                  containers:
                    - name: exporter
                      image: localhost/busybox:local
                    - name: custom
                      image: localhost/busybox:local
                    - name: quiet
                      image: localhost/busybox:local
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: workload-allow-list
              namespace: default
            data:
              metrics_list.yaml: |
                names:
                  - node_memory_Mapped_bytes
                  - workload_custom_total
            """;
        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, prometheus.BaseUrl + "/api/v1/write") + "\n" + workload);
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            await using var agent = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(systemExporter));
            var metrics = agent.GetMetricsComponent();
            var workloadUrl = "http://127.0.0.1:" + workloadExporter.Port.ToString(CultureInfo.InvariantCulture) + "/metrics";
            var customUrl = "http://127.0.0.1:" + custom.Port.ToString(CultureInfo.InvariantCulture) + "/custom";
            Assert.Contains(Workload + "|" + workloadUrl, metrics.TargetKeys);
            Assert.Contains(Workload + "|" + customUrl, metrics.TargetKeys);
            Assert.Equal(4, metrics.TargetKeys.Count); // system, flotel-agent and the two enabled containers

            Assert.True(await MetricsTestKit.UntilAsync(() => metrics.Scrapes(Workload) >= 6 && metrics.PendingRecords == 0, TimeSpan.FromSeconds(60)));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var selector = "{edgedeviceid=\"" + Device + "\"}";
            SortedSet<string> names = [];
            var expected = new SortedSet<string>(["node_memory_Mapped_bytes", "workload_custom_total", "up", "scrape_duration_seconds", "scrape_samples_scraped"], StringComparer.Ordinal);
            Assert.True(
                await MetricsTestKit.UntilAsync(async () => (names = MetricsTestKit.Names([.. MetricsTestKit.FromSource(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, selector), Workload).Select(n => n.DeepClone())])).SetEquals(expected), TimeSpan.FromSeconds(20)),
                "names: " + string.Join(",", names));

            // Two endpoints, both up; the disabled container was never contacted.
            var up = MetricsTestKit.FromSource(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, "up" + selector), Workload);
            Assert.Equal([1.0, 1.0], up.Select(MetricsTestKit.Value));
            Assert.Empty(disabled.Hits);

            // The override's own timestamp is kept, and its repeats are stored once (not rejected by the receiver).
            Assert.Equal(exposed / 1000.0, MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, "timestamp(workload_custom_total)")));
            Assert.Equal(1.0, MetricsTestKit.SingleValue(await MetricsTestKit.QueryAsync(http, prometheus.BaseUrl, "count_over_time(workload_custom_total[15m])")));
            Assert.True(agent.Metrics.Sum("flotel_agent_metrics_samples_total", ("target", Workload), ("result", "out_of_order")) >= 1);
            Assert.Equal(0, agent.Metrics.Sum("flotel_output_items_total", ("result", "dead_lettered")));

            // Scraped as Flotta does: OpenMetrics preferred, gzip accepted, on the override's path.
            Assert.All(custom.Hits, h =>
            {
                Assert.Equal("/custom", h.Path);
                Assert.Contains("gzip", h.AcceptEncoding, StringComparison.OrdinalIgnoreCase);
                Assert.StartsWith("application/openmetrics-text", h.Accept, StringComparison.Ordinal);
            });
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }
}
