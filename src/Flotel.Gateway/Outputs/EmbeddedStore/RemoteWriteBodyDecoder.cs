using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// Queue records → remote-write bodies for the metric store, as slices of the records' memory (the store decodes the
/// snappy body itself, straight into its heads). A record whose header cannot be read, or of another kind, yields
/// nothing and is not counted: bodies are validated on input, and the store counts a body it cannot decode.
/// </summary>
public sealed class RemoteWriteBodyDecoder : IRecordDecoder<ReadOnlyMemory<byte>>
{
    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(ReadOnlyMemory<byte> Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (GatewayRecord.TryReadHeader(record.Payload.Span, out var kind, out _, out _, out var offset) && kind == GatewayRecordKind.RemoteWrite)
        {
            into.Add((record.Payload[offset..], record.Payload.Length - offset));
        }

        return true;
    }
}
