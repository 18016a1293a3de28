using Flotel.Bench;
using Flotel.Model.Metrics;
using Flotel.Wire.Exposition;
using Flotel.Wire.RemoteWrite;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// Builds the pre-encoded request bodies. Request r carries series group <c>r mod Groups</c> and that group's time
/// window <c>r / Groups</c>, so every series gets new, later samples in each of its requests (Prometheus answers 400
/// to an out-of-order sample). The samples end about now, so no receiver drops them as too old.
/// Each series' labels come from <see cref="NodeSeries"/> (bench/Shared/NodeSeries.cs), its values from NodeSeries or
/// <see cref="DecimalSeries"/> (<c>--values</c>). With <c>--scrape</c> the bodies carry real scrapes instead.
/// </summary>
internal static class BodyFactory
{
    /// <summary>The bodies and the samples each one carries (read from, or written to, <see cref="LoadOptions.Bodies"/>).</summary>
    public static (byte[][] Bodies, long[] Samples) EncodeOrLoad(LoadOptions options, long endMs)
    {
        if (options.Bodies is { Exists: true } file)
        {
            using var reader = new BinaryReader(file.OpenRead());
            var n = reader.ReadInt32();
            var loaded = new byte[n][];
            var loadedCounts = new long[n];
            for (var i = 0; i < n; i++)
            {
                loadedCounts[i] = reader.ReadInt64();
                loaded[i] = reader.ReadBytes(reader.ReadInt32());
            }

            return (loaded, loadedCounts);
        }

        var (bodies, counts) = Encode(options, endMs);
        if (options.Bodies is { } target)
        {
            using var writer = new BinaryWriter(target.Create());
            writer.Write(bodies.Length);
            for (var i = 0; i < bodies.Length; i++)
            {
                writer.Write(counts[i]);
                writer.Write(bodies[i].Length);
                writer.Write(bodies[i]);
            }
        }

        return (bodies, counts);
    }

    private static (byte[][] Bodies, long[] Samples) Encode(LoadOptions options, long endMs)
    {
        if (options.Scrape is not null)
        {
            return EncodeScrapes(options, endMs);
        }

        var windows = (options.Requests + options.Groups - 1) / options.Groups;
        var samplesPerSeries = options.SamplesPerSeries;
        var firstMs = endMs - (windows * samplesPerSeries * options.StepMs);
        firstMs -= firstMs % options.StepMs;
        var labels = new LabelSet[options.Groups * options.SeriesPerRequest];
        for (var id = 0; id < labels.Length; id++)
        {
            labels[id] = NodeSeries.LabelsOf(id);
        }

        Func<int, long, double> valueOf = options.Values == "decimal" ? DecimalSeries.ValueOf : NodeSeries.ValueOf;
        var bodies = new byte[options.Requests][];
        var counts = new long[options.Requests];
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
                    samples[j] = new Sample(firstMs + (k * options.StepMs), valueOf(id, k));
                }

                series[s] = new TimeSeries(labels[id], samples);
            }

            bodies[r] = RemoteWriteCodec.Encode(new WriteRequest(series));
            counts[r] = (long)series.Length * samplesPerSeries;
        });
        return (bodies, counts);
    }

    /// <summary>
    /// REQUESTS × SAMPLES scrapes of the exporter, taken back to back, the i-th stamped <c>first + i·STEP</c> (ending about
    /// now) and labelled job="node", instance="edge-0000:9100"; each body carries SAMPLES consecutive scrapes. A series
    /// missing from a scrape just has no sample there.
    /// </summary>
    private static (byte[][] Bodies, long[] Samples) EncodeScrapes(LoadOptions options, long endMs)
    {
        var scrapes = (long)options.Requests * options.SamplesPerSeries;
        var firstMs = endMs - (scrapes * options.StepMs);
        firstMs -= firstMs % options.StepMs;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var bodies = new byte[options.Requests][];
        var counts = new long[options.Requests];
        for (var r = 0; r < options.Requests; r++)
        {
            var bySeries = new Dictionary<LabelSet, List<Sample>>();
            for (var j = 0; j < options.SamplesPerSeries; j++)
            {
                var t = firstMs + ((((long)r * options.SamplesPerSeries) + j) * options.StepMs);
                var text = http.GetByteArrayAsync(options.Scrape).GetAwaiter().GetResult();
                foreach (var s in ExpositionParser.ParseAll(text).Samples)
                {
                    var labels = new List<Label>(s.Labels) { new("instance", "edge-0000:9100"), new("job", "node") };
                    var key = new LabelSet(labels);
                    if (!bySeries.TryGetValue(key, out var list))
                    {
                        bySeries[key] = list = [];
                    }

                    list.Add(new Sample(t, s.Value));
                }
            }

            var series = new List<TimeSeries>(bySeries.Count);
            foreach (var (labels, samples) in bySeries)
            {
                series.Add(new TimeSeries(labels, samples.ToArray()));
                counts[r] += samples.Count;
            }

            bodies[r] = RemoteWriteCodec.Encode(new WriteRequest(series));
        }

        return (bodies, counts);
    }
}
