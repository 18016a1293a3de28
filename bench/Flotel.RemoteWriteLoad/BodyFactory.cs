using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// Builds the pre-encoded request bodies. Request r carries series group <c>r mod Groups</c> and that group's time
/// window <c>r / Groups</c>, so every series gets new, later samples in each of its requests (Prometheus answers 400
/// to an out-of-order sample). The samples end about now, so no receiver drops them as too old.
/// <para>
/// Values are a node_exporter-like mix, one kind per series (<c>id mod 4</c>): a constant, an integer counter, a
/// counter with two decimals (CPU seconds) and a gauge with one decimal following a slow wave. How well a store
/// compresses depends on this mix, so bytes/sample are only comparable between stores fed by this generator.
/// </para>
/// </summary>
internal static class BodyFactory
{
    private static readonly string[] Modes = ["user", "system", "idle", "iowait"];
    private static readonly string[] Names =
    [
        "node_memory_MemTotal_bytes", "node_network_transmit_packets_total", "node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
    ];

    public static byte[][] Encode(LoadOptions options, long endMs)
    {
        var windows = (options.Requests + options.Groups - 1) / options.Groups;
        var samplesPerSeries = options.SamplesPerSeries;
        var firstMs = endMs - (windows * samplesPerSeries * options.StepMs);
        firstMs -= firstMs % options.StepMs;
        var labels = new LabelSet[options.Groups * options.SeriesPerRequest];
        for (var id = 0; id < labels.Length; id++)
        {
            labels[id] = LabelsOf(id);
        }

        var bodies = new byte[options.Requests][];
        Parallel.For(0, options.Requests, r =>
        {
            var group = r % options.Groups;
            var window = r / options.Groups;
            var series = new TimeSeries[options.SeriesPerRequest];
            for (var s = 0; s < series.Length; s++)
            {
                var id = (group * options.SeriesPerRequest) + s;
                var samples = new Sample[samplesPerSeries];
                for (var j = 0; j < samplesPerSeries; j++)
                {
                    long k = ((long)window * samplesPerSeries) + j;
                    samples[j] = new Sample(firstMs + (k * options.StepMs), ValueOf(id, k));
                }

                series[s] = new TimeSeries(labels[id], samples);
            }

            bodies[r] = RemoteWriteCodec.Encode(new WriteRequest(series));
        });
        return bodies;
    }

    private static LabelSet LabelsOf(int id)
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

    private static double ValueOf(int id, long k) => (id % 4) switch
    {
        0 => 8_000_000_000d + id,
        1 => k * (1 + (id % 7)) * 3,
        2 => Math.Round(k * (0.37 + (id % 5)), 2),
        _ => Math.Round(40 + (20 * Math.Sin((k + id) / 12.0)), 1),
    };
}
