using System.Runtime.CompilerServices;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;
using Flotel.Wire.Syslog;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// Queue records → the log store's items: syslog frames are parsed into events, <c>_bulk</c> documents point into the
/// record's memory instead of copying their source (the host's reader gives every read arrays of its own, so the
/// memory stays valid while the batch is written). A record with a damaged header, of no known kind, or with a damaged
/// tail after intact items is refused (the intact items are kept) and counted by the output. Syslog frames of a record
/// that names a device get that device's identity fields (<see cref="DeviceFields"/>, docs/fleet.md §6). Used by the driver's
/// single loop only (the string pool is not thread-safe). Item sizes are the bytes read; the store cuts no batches.
/// </summary>
public sealed class StoreLogDecoder : IRecordDecoder<StoreLogItem>
{
    private readonly SyslogParser _parser;
    private readonly SyslogStringPool _pool = new();

    /// <param name="parser">The gateway's syslog parser (its timezone rules).</param>
    public StoreLogDecoder(SyslogParser parser)
    {
        _parser = parser;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the per-frame loop, compiled optimized from the start
    public bool TryDecode(QueueRecord record, List<(StoreLogItem Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var payload = record.Payload.Span;
        if (!GatewayRecord.TryReadHeader(payload, out var kind, out var receivedMs, out var peer, out var device, out var offset))
        {
            return false;
        }

        switch (kind)
        {
            case GatewayRecordKind.SyslogFrames:
                if (payload.Length <= offset)
                {
                    return false; // no frame-format byte: damaged
                }

                var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(receivedMs).UtcDateTime;
                var frames = payload[(offset + 1)..];
                while (GatewayRecord.TryReadFrame(ref frames, out var frame))
                {
                    var logEvent = _parser.ParseEvent(frame, receivedAt, peer, _pool);
                    DeviceFields.Apply(logEvent, device);
                    into.Add((new StoreLogItem(logEvent, null, record.Sequence), frame.Length));
                }

                return frames.IsEmpty;

            case GatewayRecordKind.BulkDocuments:
                var body = payload[offset..];
                while (GatewayRecord.TryReadDocument(ref body, out var index, out var id, out var createOnly, out var source))
                {
                    var start = payload.Length - body.Length - source.Length;
                    var document = new LogDocument(index, id, record.Payload.Slice(start, source.Length), createOnly);
                    into.Add((new StoreLogItem(null, document, record.Sequence), source.Length));
                }

                return body.IsEmpty;

            default:
                return false; // remote-write records never get here (the host's kind filter); anything else is damaged
        }
    }
}
