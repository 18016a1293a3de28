using System.Buffers;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// The frames of one TCP read or one burst of UDP datagrams, laid out as queue records (<see cref="GatewayRecord"/>
/// header, transport byte, frames) of about <see cref="RecordBytes"/> each, to be appended together with one
/// durability wait. A record holds the frames of one peer.
/// </summary>
internal sealed class SyslogRecordBatch
{
    /// <summary>
    /// Records stay below the 85,000-byte large-object threshold, so the store's queue reader reads them into small
    /// chunks: 1 MiB records made it allocate a large object per record, and their gen-2 collections swung the
    /// gateway's peak RSS by tens of MiB (docs/benchmarks.md).
    /// </summary>
    public const int RecordBytes = 32 * 1024;

    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<int> _starts = [];
    private readonly List<ReadOnlyMemory<byte>> _records = [];
    private string? _peer;

    /// <summary>Frames added since <see cref="Clear"/>.</summary>
    public int Frames { get; private set; }

    /// <summary>Bytes of those frames (without record headers).</summary>
    public long FrameBytes { get; private set; }

    /// <summary>Bytes of the records so far, headers included.</summary>
    public int WrittenBytes => _buffer.WrittenCount;

    /// <summary>
    /// Adds a frame to the open record, or to a new one when there is none, the open one reached
    /// <see cref="RecordBytes"/>, or the frame is from another peer.
    /// </summary>
    public void Add(ReadOnlySpan<byte> frame, long receivedAtMs, string peer, byte transport)
    {
        OpenRecord(receivedAtMs, peer, transport);
        GatewayRecord.WriteFrame(_buffer, frame);
        Frames++;
        FrameBytes += frame.Length;
    }

    /// <inheritdoc cref="Add(ReadOnlySpan{byte}, long, string, byte)"/>
    public void Add(ReadOnlySequence<byte> frame, long receivedAtMs, string peer, byte transport)
    {
        OpenRecord(receivedAtMs, peer, transport);
        GatewayRecord.WriteFrame(_buffer, frame);
        Frames++;
        FrameBytes += frame.Length;
    }

    /// <summary>The records, valid until the next <c>Add</c> or <see cref="Clear"/>.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Records()
    {
        _records.Clear();
        for (var i = 0; i < _starts.Count; i++)
        {
            var end = i + 1 < _starts.Count ? _starts[i + 1] : _buffer.WrittenCount;
            _records.Add(_buffer.WrittenMemory[_starts[i]..end]);
        }

        return _records;
    }

    private void OpenRecord(long receivedAtMs, string peer, byte transport)
    {
        if (_starts.Count == 0 || _buffer.WrittenCount - _starts[^1] >= RecordBytes || !string.Equals(peer, _peer, StringComparison.Ordinal))
        {
            _starts.Add(_buffer.WrittenCount);
            GatewayRecord.WriteHeader(_buffer, GatewayRecordKind.SyslogFrames, receivedAtMs, peer);
            _buffer.GetSpan(1)[0] = transport;
            _buffer.Advance(1);
            _peer = peer;
        }
    }

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear()
    {
        _buffer.ResetWrittenCount();
        _starts.Clear();
        _records.Clear();
        _peer = null;
        Frames = 0;
        FrameBytes = 0;
    }
}
