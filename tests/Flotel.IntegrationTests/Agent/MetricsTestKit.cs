using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Flotel.Agent.Hosting;
using Flotel.Agent.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.IntegrationTests.Agent;

/// <summary>Helpers for the agent metrics tests: manifests in the blog's shape, an in-process agent, peers, queries.</summary>
internal static class MetricsTestKit
{
    /// <summary>The blog's system allow list (examples/blog/system-allow-list.yaml).</summary>
    public static readonly string[] BlogAllowList = ["node_disk_io_now", "node_memory_Mapped_bytes", "node_network_speed_bytes"];

    public static Task<PeerProcess> StartNodeExporterAsync() => PeerProcess.StartAsync(
        "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter",
        (port, _) => ["--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
        "/metrics");

    public static Task<PeerProcess> StartVictoriaMetricsAsync() => PeerProcess.StartAsync(
        "/usr/bin/victoria-metrics", "victoria-metrics",
        (port, dir) =>
        [
            "-httpListenAddr=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "-storageDataPath=" + Path.Combine(dir, "data"),
            // Queries normally hide the last 30 s (data still arriving); the test wants what was just written.
            "-search.latencyOffset=0s",
            "-search.disableCache",
        ],
        "/health");

    /// <summary>
    /// The blog's EdgeDevice (examples/blog/device.yaml, metrics part) with the receiver at <paramref name="receiverUrl"/>,
    /// the system interval <paramref name="intervalSeconds"/> and the blog's allow list.
    /// </summary>
    public static string BlogDevice(string device, string receiverUrl, int intervalSeconds = 1, string extraMetrics = "") => $"""
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata:
          name: {device}
          namespace: default
          labels:
            app: foo
        spec:
          metrics:
            receiverConfiguration:
              url: {receiverUrl}
            system:
              allowList:
                name: system-allow-list
              interval: {intervalSeconds}
        {extraMetrics}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: system-allow-list
          namespace: default
        data:
          metrics_list.yaml: |
            names:
              - node_disk_io_now
              - node_memory_Mapped_bytes
              - node_network_speed_bytes
        """;

    /// <summary>A fresh temp directory holding <paramref name="yaml"/> as <c>device.yaml</c>.</summary>
    public static string WriteManifests(string yaml, string? directory = null)
    {
        var dir = directory ?? PeerProcess.CreateTempDirectory("agent-manifests");
        File.WriteAllText(Path.Combine(dir, "device.yaml"), yaml);
        return dir;
    }

    /// <summary>Test retry waits: short, so an outage test ends soon after the receiver is back.</summary>
    public static MetricsComponentOptions FastSettings() => new()
    {
        RetryInitial = TimeSpan.FromMilliseconds(100),
        RetryMax = TimeSpan.FromSeconds(1),
    };

    /// <summary>Starts an in-process agent whose only component is the metrics component (no podman needed).</summary>
    public static Task<AgentHost> StartAgentAsync(string manifests, string data, Uri nodeExporter, MetricsComponentOptions? settings = null, ILoggerFactory? loggers = null) =>
        AgentHost.StartAsync(
            new AgentOptions
            {
                ManifestsDirectory = manifests,
                DataDirectory = data,
                NodeExporterUrl = nodeExporter,
                WatchManifests = false,
            },
            loggers ?? NullLoggerFactory.Instance,
            TimeProvider.System,
            (options, metrics, loggerFactory, time) => [new MetricsComponent(options, metrics, loggerFactory, time, settings ?? FastSettings())]);

    public static MetricsComponent GetMetricsComponent(this AgentHost host) => host.Components.OfType<MetricsComponent>().Single();

    public static Uri NodeExporterUrl(PeerProcess nodeExporter) => new(nodeExporter.BaseUrl + "/metrics");

    /// <summary>GET {baseUrl}/api/v1/query; the result array, or null while the answer is not a success.</summary>
    public static async Task<JsonArray?> QueryAsync(HttpClient http, string baseUrl, string query)
    {
        using var response = await http.GetAsync(new Uri(baseUrl + "/api/v1/query?query=" + Uri.EscapeDataString(query)));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        return JsonNode.Parse(text)?["data"]?["result"]?.AsArray();
    }

    /// <summary>The distinct <c>__name__</c> values of a vector result.</summary>
    public static SortedSet<string> Names(JsonArray? result) =>
        new((result ?? []).Select(r => (string?)r?["metric"]?["__name__"] ?? string.Empty), StringComparer.Ordinal);

    /// <summary>
    /// The elements of a vector result whose <c>metric-source</c> label is <paramref name="source"/> (PromQL before
    /// Prometheus 3 cannot select on a hyphenated label name, so tests filter the results).
    /// </summary>
    public static List<JsonNode> FromSource(JsonArray? result, string source) =>
        [.. (result ?? []).Where(r => (string?)r?["metric"]?["metric-source"] == source).Select(r => r!)];

    /// <summary>The value of a vector element.</summary>
    public static double Value(JsonNode element) => double.Parse((string)element["value"]![1]!, CultureInfo.InvariantCulture);

    /// <summary>The scalar value of the only element of a vector result (null when empty).</summary>
    public static double? SingleValue(JsonArray? result) =>
        result is { Count: 1 } ? double.Parse((string)result[0]!["value"]![1]!, CultureInfo.InvariantCulture) : null;

    /// <summary>Polls until <paramref name="probe"/> holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> probe, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await probe())
            {
                return true;
            }

            if (watch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(250);
        }
    }

    public static Task<bool> UntilAsync(Func<bool> probe, TimeSpan timeout) => UntilAsync(() => Task.FromResult(probe()), timeout);

    public static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
