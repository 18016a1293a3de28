using Flotel.Gateway.Queueing;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// Queue records → time series for metric outputs: remote-write records are decoded (they were validated on input);
/// log records are not this output's and are skipped without counting. The item size is an estimate of the series'
/// encoded size (labels + 16 bytes per sample), enough for byte caps on batches.
/// </summary>
public sealed class SeriesRecordDecoder : IRecordDecoder<TimeSeries>
{
    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(TimeSeries Item, int Bytes)> into)
    {
        var payload = record.Payload.Span;
        if (!GatewayRecord.TryReadHeader(payload, out var kind, out _, out _, out var offset))
        {
            return false;
        }

        if (kind != GatewayRecordKind.RemoteWrite)
        {
            return true;
        }

        WriteRequest request;
        try
        {
            request = RemoteWriteCodec.Decode(payload[offset..]);
        }
        catch (RemoteWriteException)
        {
            return false;
        }

        foreach (var series in request.Series)
        {
            var bytes = 16 * series.Samples.Count;
            foreach (var label in series.Labels)
            {
                bytes += label.Name.Length + label.Value.Length + 4;
            }

            into.Add((series, bytes));
        }

        return true;
    }
}
