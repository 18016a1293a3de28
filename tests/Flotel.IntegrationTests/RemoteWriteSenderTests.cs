using System.Diagnostics;
using System.Globalization;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests;

/// <summary>
/// Real senders (vmagent, Prometheus in agent mode) scrape a real node_exporter and remote-write to a capture
/// listener; Flotel's decoder must read every captured body and find node_exporter's series.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class RemoteWriteSenderTests
{
    private static readonly TimeSpan CaptureTimeout = TimeSpan.FromSeconds(30);

    private static Task<PeerProcess> StartNodeExporterAsync() => PeerProcess.StartAsync(
        "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter",
        (port, _) => ["--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
        "/metrics");

    private static string ScrapeConfig(PeerProcess nodeExporter) =>
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:"
        + nodeExporter.Port.ToString(CultureInfo.InvariantCulture) + "']\n";

    [Fact]
    public async Task Vmagent_ScrapingNodeExporter_SendsBodiesFlotelDecodes()
    {
        using var nodeExporter = await StartNodeExporterAsync();
        using var capture = new CaptureReceiver();
        var dir = PeerProcess.CreateTempDirectory("vmagent");
        await File.WriteAllTextAsync(Path.Combine(dir, "scrape.yml"), ScrapeConfig(nodeExporter));
        using var vmagent = await PeerProcess.StartAsync(
            "/usr/bin/vmagent", "victoria-metrics",
            (port, d) =>
            [
                "-httpListenAddr=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "-promscrape.config=" + Path.Combine(d, "scrape.yml"),
                "-remoteWrite.url=" + capture.WriteUrl,
                "-remoteWrite.tmpDataPath=" + Path.Combine(d, "queue"),
                "-remoteWrite.flushInterval=1s",
            ],
            "/health", dir);

        await AssertDecodesNodeExporterAsync(capture, nodeExporter, vmagent);
    }

    [Fact]
    public async Task PrometheusAgentMode_ScrapingNodeExporter_SendsBodiesFlotelDecodes()
    {
        using var nodeExporter = await StartNodeExporterAsync();
        using var capture = new CaptureReceiver();
        var dir = PeerProcess.CreateTempDirectory("prometheus-agent");
        await File.WriteAllTextAsync(
            Path.Combine(dir, "prometheus.yml"),
            ScrapeConfig(nodeExporter)
            + "remote_write:\n  - url: " + capture.WriteUrl + "\n    queue_config:\n      batch_send_deadline: 1s\n    metadata_config:\n      send_interval: 2s\n");
        using var prometheus = await PeerProcess.StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (port, d) =>
            [
                "--enable-feature=agent",
                "--config.file=" + Path.Combine(d, "prometheus.yml"),
                "--storage.agent.path=" + Path.Combine(d, "agent"),
                "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            ],
            "/-/ready", dir);

        await AssertDecodesNodeExporterAsync(capture, nodeExporter, prometheus);
    }

    private static async Task AssertDecodesNodeExporterAsync(CaptureReceiver capture, PeerProcess nodeExporter, PeerProcess sender)
    {
        var instance = "127.0.0.1:" + nodeExporter.Port.ToString(CultureInfo.InvariantCulture);
        var watch = Stopwatch.StartNew();
        var decoded = 0;
        var samples = 0;
        var found = false;
        while (!found && watch.Elapsed < CaptureTimeout)
        {
            while (capture.Requests.TryDequeue(out var request))
            {
                Assert.Equal("POST", request.Method);
                RemoteWriteHeaders.Validate(request.ContentType, request.ContentEncoding);
                Assert.Equal(RemoteWriteHeaders.Version, request.Version);
                var body = RemoteWriteCodec.Decode(request.Body); // throws on anything Flotel cannot read
                decoded++;
                samples += body.SampleCount;
                found |= body.Series.Any(s =>
                    s.Labels.MetricName == "node_memory_Mapped_bytes"
                    && s.Labels.TryGetValue("instance", out var i) && i == instance
                    && s.Labels.TryGetValue("job", out var j) && j == "node"
                    && s.Samples.Count > 0 && s.Samples[0].Value > 0);
            }

            if (!found)
            {
                await Task.Delay(200);
            }
        }

        Assert.True(found, $"{sender.Name}: node_memory_Mapped_bytes from {instance} not seen within {CaptureTimeout.TotalSeconds} s ({decoded} bodies, {samples} samples decoded)\n{sender.Output}");
        Assert.True(samples > 100, "only " + samples + " samples decoded");
    }
}
