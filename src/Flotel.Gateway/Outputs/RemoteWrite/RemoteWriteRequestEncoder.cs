using Flotel.Gateway.Outputs.Shared;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// Batch → remote-write 1.0 body (protobuf <c>WriteRequest</c>, snappy block format; remote-write spec 1.0): runs of
/// consecutive samples with the same labels become one <c>TimeSeries</c>, so samples of a series keep their queue order
/// (the spec requires timestamp order per series). Labels are already sorted by name (<see cref="LabelSet"/>), as the
/// spec requires.
/// </summary>
public static class RemoteWriteRequestEncoder
{
    /// <summary>The request for <paramref name="batch"/>, before compression.</summary>
    public static WriteRequest ToWriteRequest(IReadOnlyList<SeriesSample> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var series = new List<TimeSeries>();
        var i = 0;
        while (i < batch.Count)
        {
            var labels = batch[i].Labels;
            var end = i + 1;
            while (end < batch.Count && (ReferenceEquals(batch[end].Labels, labels) || batch[end].Labels.Equals(labels)))
            {
                end++;
            }

            var samples = new Sample[end - i];
            for (var j = i; j < end; j++)
            {
                samples[j - i] = batch[j].Sample;
            }

            series.Add(new TimeSeries(labels, samples));
            i = end;
        }

        return new WriteRequest(series);
    }

    /// <summary>The HTTP body for <paramref name="batch"/>: snappy-compressed protobuf.</summary>
    /// <exception cref="RemoteWriteException">A series has labels the spec forbids (inputs validate, so only a damaged record).</exception>
    public static byte[] Encode(IReadOnlyList<SeriesSample> batch) => RemoteWriteCodec.Encode(ToWriteRequest(batch));
}
