using Flotel.Agent.Metrics;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// The blog's metrics path end to end with real peers (architecture §7): a real node_exporter scraped by the agent per
/// the blog's EdgeDevice (system allow list node_disk_io_now, node_memory_Mapped_bytes, node_network_speed_bytes;
/// interval shortened to 1 s), remote-written to a real receiver, where exactly those node_exporter names are
/// queryable with <c>edgedeviceid</c>.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsBlogDeviceTests
{
    private const string Device = "edge-device-1";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task BlogDevice_NodeExporterToPrometheus_OnlyAllowListedNodeMetricsWithDeviceLabel()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var prometheus = await PeerProcess.StartPrometheusReceiverAsync();
        await RunBlogDeviceAsync(nodeExporter, prometheus.BaseUrl + "/api/v1/write", prometheus.BaseUrl, () => prometheus.Output);
    }

    [Fact]
    public async Task BlogDevice_NodeExporterToVictoriaMetrics_OnlyAllowListedNodeMetricsWithDeviceLabel()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var vm = await MetricsTestKit.StartVictoriaMetricsAsync();
        await RunBlogDeviceAsync(nodeExporter, vm.BaseUrl + "/api/v1/write", vm.BaseUrl, () => vm.Output);
    }

    [Fact]
    public async Task BlogDevice_NodeExporterToFlotelGateway_OnlyAllowListedNodeMetricsWithDeviceLabel()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        await using var gateway = await InProcessGateway.StartAsync();
        var baseUrl = "http://" + gateway.Host.HttpEndPoint;
        await RunBlogDeviceAsync(nodeExporter, baseUrl + "/api/v1/write", baseUrl, () => "(in-process gateway)");
    }

    private static async Task RunBlogDeviceAsync(PeerProcess nodeExporter, string writeUrl, string queryBase, Func<string> receiverOutput)
    {
        // What node_exporter itself exposes of the allow list on this machine (all three here; checked, not assumed).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var exposition = await http.GetStringAsync(MetricsTestKit.NodeExporterUrl(nodeExporter));
        var expected = new SortedSet<string>(MetricsTestKit.BlogAllowList.Where(n => exposition.Contains("\n" + n, StringComparison.Ordinal)), StringComparer.Ordinal);
        Assert.Contains("node_memory_Mapped_bytes", expected);

        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, writeUrl));
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            await using var agent = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            var metrics = agent.GetMetricsComponent();
            const string nodeSeries = "{edgedeviceid=\"" + Device + "\",__name__=~\"node_.+\"}";
            SortedSet<string> names = [];
            var arrived = await MetricsTestKit.UntilAsync(
                async () =>
                {
                    names = MetricsTestKit.Names(await MetricsTestKit.QueryAsync(http, queryBase, nodeSeries));
                    return names.SetEquals(expected);
                },
                Wait);
            Assert.True(arrived, $"expected {string.Join(",", expected)}, got {string.Join(",", names)}; agent scrapes ok={metrics.Scrapes("system")} failed={metrics.Scrapes("system", false)}; receiver: {receiverOutput()}");

            // A few scrapes later still nothing else from node_exporter (the other ~500 names were filtered on the device).
            var scraped = metrics.Scrapes("system");
            Assert.True(await MetricsTestKit.UntilAsync(() => metrics.Scrapes("system") >= scraped + 2 && metrics.PendingRecords == 0, Wait));
            Assert.True(await MetricsTestKit.UntilAsync(async () => MetricsTestKit.FromSource(await MetricsTestKit.QueryAsync(http, queryBase, "up{edgedeviceid=\"" + Device + "\"}"), "system").Count == 1, Wait));
            Assert.Equal(expected, MetricsTestKit.Names(await MetricsTestKit.QueryAsync(http, queryBase, nodeSeries)));

            // Every stored series carries the device and its source; the health series says the target is up.
            var mapped = await MetricsTestKit.QueryAsync(http, queryBase, "node_memory_Mapped_bytes");
            var only = Assert.Single(mapped!);
            Assert.Equal(Device, (string?)only!["metric"]!["edgedeviceid"]);
            Assert.Equal("system", (string?)only["metric"]!["metric-source"]);
            var up = Assert.Single(MetricsTestKit.FromSource(await MetricsTestKit.QueryAsync(http, queryBase, "up{edgedeviceid=\"" + Device + "\"}"), "system"));
            Assert.Equal(1.0, MetricsTestKit.Value(up));

            // The agent's own metrics travel the same way.
            Assert.True(await MetricsTestKit.UntilAsync(
                async () => MetricsTestKit.FromSource(
                    await MetricsTestKit.QueryAsync(http, queryBase, "flotel_agent_metrics_scrapes_total{edgedeviceid=\"" + Device + "\",target=\"system\",result=\"ok\"}"),
                    "flotel-agent").Count == 1,
                Wait));
            Assert.Equal(0, agent.Metrics.Sum("flotel_output_items_total", ("output", MetricsComponent.OutputName), ("result", "dead_lettered")));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }
}
