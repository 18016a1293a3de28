using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Outputs.Hosting;

/// <summary>
/// The host's record-kind filter. Every output has its own cursor over the shared queue, but a log output has nothing
/// to do with a remote-write body and a metric output nothing with syslog frames (up to 1 MiB each). <see cref="Wants"/>
/// is the queue reader's filter (<see cref="QueueDelivery{T}"/>'s <c>wantedRecords</c>): a record of another kind is
/// passed over on its first byte, its payload never read from disk, and the cursor moves past it. As a decoder in front
/// of the output's, it settles such a record as "nothing to send" should one still arrive — no header parse, no peer
/// string, no snappy. Records of a kind the output takes go to its decoder; so do records of no known kind (damaged),
/// which the decoder refuses and the driver counts as <c>undecodable</c>. Used by the driver's single loop only.
/// </summary>
public sealed class RecordKindFilter<T> : IRecordDecoder<T>
{
    /// <summary>Kinds the output takes, as bits <c>1 &lt;&lt; kind</c> (kinds are small enum values).</summary>
    private readonly uint _taken;

    /// <summary>Every defined kind, same bits: a record outside it is damaged, not someone else's.</summary>
    private readonly uint _known;

    private long _skipped;

    /// <param name="decoder">The output's decoder.</param>
    /// <param name="kinds">The kinds the output takes (<see cref="RecordKinds"/>).</param>
    public RecordKindFilter(IRecordDecoder<T> decoder, IReadOnlyList<GatewayRecordKind> kinds)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(kinds);
        Decoder = decoder;
        foreach (var kind in kinds)
        {
            _taken |= Bit(kind);
        }

        foreach (var kind in Enum.GetValues<GatewayRecordKind>())
        {
            _known |= Bit(kind);
        }
    }

    /// <summary>The output's decoder.</summary>
    public IRecordDecoder<T> Decoder { get; }

    /// <summary>Records of a kind the output does not take that reached <see cref="TryDecode"/> anyway (the reader passes them over).</summary>
    public long Skipped => Volatile.Read(ref _skipped);

    /// <summary>True when the output takes records of <paramref name="kind"/>.</summary>
    public bool Takes(GatewayRecordKind kind) => (_taken & Bit(kind)) != 0;

    /// <summary>The reader's filter: false for a record whose first byte is another output's known kind (with or without a device).</summary>
    public bool Wants(byte firstByte)
    {
        var bit = Bit(GatewayRecord.KindOf(firstByte));
        return (_known & bit) == 0 || (_taken & bit) != 0;
    }

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(T Item, int Bytes)> into)
    {
        if (GatewayRecord.TryPeekKind(record.Payload.Span, out var kind) && !Wants((byte)kind))
        {
            Volatile.Write(ref _skipped, _skipped + 1);
            return true;
        }

        return Decoder.TryDecode(record, into);
    }

    private static uint Bit(GatewayRecordKind kind) => (byte)kind < 32 ? 1u << (byte)kind : 0;
}
