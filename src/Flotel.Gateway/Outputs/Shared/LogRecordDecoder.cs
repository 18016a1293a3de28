using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;
using Flotel.Wire.Syslog;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// Queue records → documents for log outputs: syslog frames are parsed with the gateway's parser and rendered with
/// <see cref="LogEventJson"/> (the same <c>_source</c> the embedded store keeps and <c>_search</c> returns,
/// architecture §5; a record that names a device overwrites the identity fields, <see cref="DeviceFields"/>) into the index <see cref="LogstashIndexPattern"/> gives for <c>@timestamp</c> (UTC);
/// <c>_bulk</c> documents keep their index, id and action. Remote-write records are not a log output's and are skipped.
/// An item's size is the bytes it adds to a <c>_bulk</c> body (source + action line), so byte caps hold.
/// Used by the driver's single loop only (not thread-safe).
/// </summary>
public sealed class LogRecordDecoder : IRecordDecoder<LogDocument>, IDisposable
{
    /// <summary>Bytes of an action line besides the index and id: <c>{"create":{"_index":"","_id":""}}\n</c> and the source's newline.</summary>
    public const int ActionOverheadBytes = 34;

    private readonly SyslogParser _parser;
    private readonly LogstashIndexPattern _indexPattern;
    private readonly bool _deterministicIds;
    private readonly SyslogStringPool _pool = new();
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly Utf8JsonWriter _writer;

    /// <param name="parser">The gateway's syslog parser (its timezone rules).</param>
    /// <param name="indexPattern">Index names for syslog events.</param>
    /// <param name="deterministicIds">
    /// Give syslog events an <c>_id</c> derived from their queue position and content, so a batch sent twice (a timeout
    /// after the peer stored it, a crash before the cursor commit) overwrites instead of duplicating.
    /// </param>
    public LogRecordDecoder(SyslogParser parser, LogstashIndexPattern indexPattern, bool deterministicIds)
    {
        _parser = parser;
        _indexPattern = indexPattern;
        _deterministicIds = deterministicIds;
        _writer = new Utf8JsonWriter(_json, LogEventJson.WriterOptions);
    }

    /// <summary>Syslog events decoded (parse failures included: they are events tagged <c>_syslogparsefailure</c>).</summary>
    public long Events { get; private set; }

    /// <summary><c>_bulk</c> documents decoded.</summary>
    public long Documents { get; private set; }

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(LogDocument Item, int Bytes)> into)
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
                    return false;
                }

                var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(receivedMs).UtcDateTime;
                var frames = payload[(offset + 1)..];
                var ordinal = 0;
                while (GatewayRecord.TryReadFrame(ref frames, out var frame))
                {
                    var logEvent = _parser.ParseEvent(frame, receivedAt, peer, _pool);
                    DeviceFields.Apply(logEvent, device);
                    _json.ResetWrittenCount();
                    _writer.Reset();
                    LogEventJson.Write(_writer, logEvent);
                    _writer.Flush();
                    var source = _json.WrittenSpan.ToArray();
                    var index = _indexPattern.Render(logEvent.Timestamp);
                    var id = _deterministicIds ? DeterministicId(record.Sequence, ordinal, source) : null;
                    into.Add((new LogDocument(index, id, source), Size(index, id, source.Length)));
                    ordinal++;
                    Events++;
                }

                // Frames before a damaged tail are kept (they are intact); the record still counts as undecodable.
                return frames.IsEmpty;

            case GatewayRecordKind.BulkDocuments:
                var body = payload[offset..];
                var n = 0;
                while (GatewayRecord.TryReadDocument(ref body, out var docIndex, out var docId, out var createOnly, out var docSource))
                {
                    var copy = docSource.ToArray();
                    docId ??= _deterministicIds ? DeterministicId(record.Sequence, n, copy) : null;
                    into.Add((new LogDocument(docIndex, docId, copy, createOnly), Size(docIndex, docId, copy.Length)));
                    n++;
                    Documents++;
                }

                return body.IsEmpty;

            case GatewayRecordKind.RemoteWrite:
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// 20 URL-safe characters (the shape of Elasticsearch's own ids) from SHA-256 over the record's sequence, the
    /// item's position in it and its source: equal for the same queued event however often it is sent.
    /// </summary>
    public static string DeterministicId(long sequence, int ordinal, ReadOnlySpan<byte> source)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> position = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(position, sequence);
        BinaryPrimitives.WriteInt32LittleEndian(position[8..], ordinal);
        hash.AppendData(position);
        hash.AppendData(source);
        Span<byte> digest = stackalloc byte[32];
        _ = hash.GetHashAndReset(digest);
        return Base64Url.EncodeToString(digest[..15]);
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();

    private static int Size(string index, string? id, int sourceLength) =>
        ActionOverheadBytes + index.Length + (id?.Length ?? 0) + sourceLength;
}
