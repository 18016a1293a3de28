using Flotel.Wire.Manifests;
using static Flotel.Wire.Tests.Manifests.ManifestTestKit;

namespace Flotel.Wire.Tests.Manifests;

public sealed class DevicePlanSummaryTests
{
    [Fact]
    public void Render_BlogExample_SaysWhatTheDeviceWillDo()
    {
        var lines = ManifestCheck.Run(BlogDirectory()).Lines;

        Assert.Equal("device edge-device-1 (namespace default), labels: app=foo", lines[0]);
        Assert.Contains("  logstash-syslog: tcp://127.0.0.1:5140, format flotta, buffer 10 KiB", lines);
        Assert.Contains("  random-workload: image localhost/busybox:local, host network", lines);
        Assert.Contains("    logs -> logstash-syslog: tcp://127.0.0.1:5140, format flotta, buffer 10 KiB", lines);
        Assert.Contains("  remote write -> http://127.0.0.1:9201/api/v1/write, requestNumSamples 30000, timeoutSeconds 10", lines);
        Assert.Contains("  system -> node_exporter every 5 s, allow list: system-allow-list: node_disk_io_now, node_memory_Mapped_bytes, node_network_speed_bytes", lines);
        Assert.Contains("  retention -> 168 h, no size limit", lines);
        Assert.Equal("0 errors, 0 warnings", lines[^1]);
    }

    [Fact]
    public void Render_DefaultAllowListAndWorkloadMetrics_Shown()
    {
        var yaml = Replace(Base, "  type: pod\n", "  type: pod\n  metrics:\n    port: 8080\n");

        var lines = DevicePlanSummary.Render(Resolve(yaml));

        Assert.Contains(lines, l => l.StartsWith("  system -> node_exporter every 60 s, allow list: Flotta default (12 names): node_cpu_frequency_hertz,", StringComparison.Ordinal));
        Assert.Contains("    metrics -> scrape port 8080 path / every 60 s, allow list: everything", lines);
        Assert.Contains("  remote write -> off (no receiverConfiguration.url), requestNumSamples 30000, timeoutSeconds 10", lines);
    }

    [Fact]
    public void Render_Diagnostics_OneLineEachThenCount()
    {
        var yaml = Replace(Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSize: 10mb\n      colour: red\n"), "  logCollection: syslog1", "  logCollection: nope");

        var lines = DevicePlanSummary.Render(Resolve(yaml));

        Assert.Contains($"test.yaml:{LineOf(yaml, "bufferSize: 10mb")}: spec.logCollection.syslog1.bufferSize: expected an integer, got \"10mb\"", lines);
        Assert.Contains($"test.yaml:{LineOf(yaml, "colour: red")}: spec.logCollection.syslog1.colour: warning: unknown field, ignored", lines);
        Assert.Contains(lines, l => l.StartsWith($"test.yaml:{LineOf(yaml, "logCollection: nope")}: spec.logCollection: unknown log target \"nope\"", StringComparison.Ordinal));
        Assert.Equal("2 errors, 1 warning", lines[^1]);
        Assert.Contains("workloads: none", lines);
    }

    [Fact]
    public void Render_NoDevice_OnlyDiagnostics()
    {
        var lines = DevicePlanSummary.Render(Resolve("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"));

        Assert.Equal(["manifests: no EdgeDevice found in the manifests", "1 error, 0 warnings"], lines);
    }
}
