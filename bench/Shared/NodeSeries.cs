using System.Globalization;
using Flotel.Model.Metrics;

namespace Flotel.Bench;

/// <summary>
/// The series the metric benchmarks write, as node_exporter on a fleet of edge devices would: series <c>id</c> has its
/// labels from <see cref="LabelsOf"/> (500 series per host) and its k-th sample's value from <see cref="ValueOf"/>.
/// Values are a node_exporter-like mix, one kind per series (<c>id mod 4</c>): a constant, an integer counter, a
/// counter with two decimals (CPU seconds) and a gauge with one decimal following a slow wave. How well a store
/// compresses depends on this mix, so bytes/sample are only comparable between stores fed by it. Linked into
/// bench/Flotel.RemoteWriteLoad and bench/Flotel.Benchmarks, so the load generator and the in-process PromQL harness
/// write the same data.
/// </summary>
internal static class NodeSeries
{
    private static readonly string[] Modes = ["user", "system", "idle", "iowait"];
    private static readonly string[] Names =
    [
        "node_memory_MemTotal_bytes", "node_network_transmit_packets_total", "node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
    ];

    public static LabelSet LabelsOf(int id)
    {
        var host = (id / 500).ToString("D4", CultureInfo.InvariantCulture);
        return LabelSet.Of(
            Label.MetricNameLabel, Names[id % 4],
            "instance", "edge-" + host + ":9100",
            "job", "node",
            "device_id", "dev-" + host,
            "cpu", (id % 8).ToString(CultureInfo.InvariantCulture),
            "mode", Modes[(id / 8) % 4],
            "series", id.ToString(CultureInfo.InvariantCulture),
            "region", "eu-west-1");
    }

    public static double ValueOf(int id, long k) => (id % 4) switch
    {
        0 => 8_000_000_000d + id,
        1 => k * (1 + (id % 7)) * 3,
        2 => Math.Round(k * (0.37 + (id % 5)), 2),
        _ => Math.Round(40 + (20 * Math.Sin((k + id) / 12.0)), 1),
    };
}
