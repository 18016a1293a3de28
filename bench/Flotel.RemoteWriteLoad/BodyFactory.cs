using Flotel.Bench;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// Builds the pre-encoded request bodies. Request r carries series group <c>r mod Groups</c> and that group's time
/// window <c>r / Groups</c>, so every series gets new, later samples in each of its requests (Prometheus answers 400
/// to an out-of-order sample). The samples end about now, so no receiver drops them as too old.
/// Each series' labels and values come from <see cref="NodeSeries"/> (bench/Shared/NodeSeries.cs).
/// </summary>
internal static class BodyFactory
{
    public static byte[][] Encode(LoadOptions options, long endMs)
    {
        var windows = (options.Requests + options.Groups - 1) / options.Groups;
        var samplesPerSeries = options.SamplesPerSeries;
        var firstMs = endMs - (windows * samplesPerSeries * options.StepMs);
        firstMs -= firstMs % options.StepMs;
        var labels = new LabelSet[options.Groups * options.SeriesPerRequest];
        for (var id = 0; id < labels.Length; id++)
        {
            labels[id] = NodeSeries.LabelsOf(id);
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
                    samples[j] = new Sample(firstMs + (k * options.StepMs), NodeSeries.ValueOf(id, k));
                }

                series[s] = new TimeSeries(labels[id], samples);
            }

            bodies[r] = RemoteWriteCodec.Encode(new WriteRequest(series));
        });
        return bodies;
    }
}
