using System.Diagnostics;
using System.Globalization;
using Flotel.Bench;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Benchmarks;

/// <summary>
/// A stopwatch harness for the five range queries of <c>bench/peers/promql-range.sh</c>, in process (no HTTP, no
/// JSON): fills a metric store with the samples that script's generator writes (4,000 series, 15 s apart, the same
/// labels and value kinds as bench/Flotel.RemoteWriteLoad), then times the chunk read under the store's lock
/// (<c>SelectChunks</c>: SQLite rows on the first run, the chunk cache on the repeats), the store's read (<c>Select</c>) and the whole
/// <c>PromEngine.Range</c> of each query (wall and process CPU time: on a shared machine the CPU time says more), the
/// median of REPEATS runs. It separates store and engine costs, which the
/// peer script's wall times cannot.
/// <code>
/// dotnet run -c Release --project bench/Flotel.Benchmarks -- promql-range [--dir D] [--hours H] [--repeats N]
/// </code>
/// With <c>--dir</c> the store is kept there and reused by the next run (filled only when empty).
/// </summary>
internal static class PromQlRangeHarness
{
    private const int Series = 4000;
    private const long StepMs = 15_000;

    // Each query with the selector it reads.
    private static readonly (string Query, string Selector)[] Queries =
    [
        ("rate(node_network_transmit_packets_total[5m])", "node_network_transmit_packets_total"),
        ("sum by (mode) (rate(node_cpu_seconds_total[5m]))", "node_cpu_seconds_total"),
        ("avg_over_time(node_memory_MemAvailable_bytes[10m])", "node_memory_MemAvailable_bytes"),
        ("topk(5, rate(node_network_transmit_packets_total[5m]))", "node_network_transmit_packets_total"),
        ("sum(rate(node_cpu_seconds_total{device_id=\"dev-0001\"}[5m]))", "node_cpu_seconds_total{device_id=\"dev-0001\"}"),
    ];

    public static int Run(string[] args)
    {
        string? dir = null;
        var hours = 24;
        var repeats = 5;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--dir": dir = args[i + 1]; break;
                case "--hours": hours = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine("usage: promql-range [--dir D] [--hours H] [--repeats N]"); return 2;
            }
        }

        var keep = dir is not null;
        dir ??= Path.Combine(Path.GetTempPath(), "flotel-promql-range-" + Guid.NewGuid().ToString("N"));
        var samplesPerSeries = hours * 240;
        // Fixed times so a kept store answers the same queries on the next run.
        const long endMs = 1_800_000_000_000;
        var firstMs = endMs - (samplesPerSeries * StepMs);
        using (var store = MetricStore.Open(new MetricStoreOptions { DataDirectory = dir }))
        {
            if (store.SeriesCount == 0)
            {
                var sw = Stopwatch.StartNew();
                Fill(store, firstMs, samplesPerSeries);
                store.FlushAsync().GetAwaiter().GetResult();
                Console.WriteLine($"filled {Series} series × {samplesPerSeries} samples in {sw.Elapsed.TotalSeconds:F1} s");
            }

            var start = endMs - (hours * 3_600_000L);
            Console.WriteLine($"| query | series | chunks read | samples read | chunk read s | chunk read CPU s | Select s | Range s | Range CPU s |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (q, selectorText) in Queries)
            {
                var expr = PromParser.Parse(q);
                var selector = (VectorSelector)PromParser.Parse(selectorText);
                var selectTimes = new List<double>();
                var rangeTimes = new List<double>();
                var rangeCpu = new List<double>();
                var series = 0;
                long samples = 0;
                var rows = 0;
                var chunksTimes = new List<double>();
                var chunksCpu = new List<double>();
                for (var r = 0; r < repeats; r++)
                {
                    var sw = Stopwatch.StartNew();
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var chunks = store.SelectChunks(selector.Matchers, start - 600_000, endMs);
                    chunksTimes.Add(sw.Elapsed.TotalSeconds);
                    chunksCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
                    rows = 0;
                    foreach (var c in chunks)
                    {
                        rows += c.ChunkCount;
                    }

                    sw.Restart();
                    var selected = store.Select(selector.Matchers, start - 600_000, endMs);
                    selectTimes.Add(sw.Elapsed.TotalSeconds);
                    samples = 0;
                    foreach (var s in selected)
                    {
                        samples += s.Samples.Length;
                    }

                    sw.Restart();
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var result = new PromEngine(store).Range(expr, start, endMs, 60_000);
                    rangeTimes.Add(sw.Elapsed.TotalSeconds);
                    rangeCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
                    series = result.Count;
                }

                Console.WriteLine($"| `{q}` | {series} | {rows} | {samples} | {Median(chunksTimes):F4} | {Median(chunksCpu):F4} "
                    + $"| {Median(selectTimes):F3} | {Median(rangeTimes):F3} | {Median(rangeCpu):F3} |");
            }
        }

        if (!keep)
        {
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[(xs.Count - 1) / 2];
    }

    /// <summary>One request per group of 1,000 series and hour, in time order (as the generator's single sender).</summary>
    private static void Fill(MetricStore store, long firstMs, int samplesPerSeries)
    {
        var labels = new LabelSet[Series];
        for (var id = 0; id < Series; id++)
        {
            labels[id] = NodeSeries.LabelsOf(id);
        }

        const int perRequest = 240;
        for (var window = 0; window * perRequest < samplesPerSeries; window++)
        {
            for (var group = 0; group < Series / 1000; group++)
            {
                var series = new List<TimeSeries>(1000);
                for (var s = 0; s < 1000; s++)
                {
                    var id = (group * 1000) + s;
                    var n = Math.Min(perRequest, samplesPerSeries - (window * perRequest));
                    var samples = new Sample[n];
                    for (var j = 0; j < n; j++)
                    {
                        long k = ((long)window * perRequest) + j;
                        samples[j] = new Sample(firstMs + (k * StepMs), NodeSeries.ValueOf(id, k));
                    }

                    series.Add(new TimeSeries(labels[id], samples));
                }

                store.Append(WriteRequestEncoder.Encode(new WriteRequest(series)));
            }
        }
    }
}
