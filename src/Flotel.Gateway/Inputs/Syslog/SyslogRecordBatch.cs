using System.Buffers;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// The frames of one TCP read or one burst of UDP datagrams, laid out as queue records (<see cref="GatewayRecord"/>
/// header, transport byte, frames) of about <see cref="RecordBytes"/> each, to be appended together with one
/// durability wait. A record holds the frames of one peer, and names the device when the connection presented a device
/// certificate (docs/fleet.md §6: one string per connection, nothing per frame). The bytes live in an array rented from the shared pool on
/// the first frame and returned by <see cref="Release"/>, so a batch kept by an idle TCP connection holds no buffer.
/// </summary>
internal sealed class SyslogRecordBatch
{
    /// <summary>
    /// Records stay below the 85,000-byte large-object threshold, so the store's queue reader reads them into small
    /// chunks: 1 MiB records made it allocate a large object per record, and their gen-2 collections swung the
    /// gateway's peak RSS by tens of MiB (docs/benchmarks.md).
    /// </summary>
    public const int RecordBytes = 32 * 1024;

    private readonly PooledWriter _buffer = new();
    private readonly List<int> _starts = [];
    private readonly List<ReadOnlyMemory<byte>> _records = [];
    private string? _peer;
    private string? _device;

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
        OpenRecord(receivedAtMs, peer, transport, device: null);
        GatewayRecord.WriteFrame(_buffer, frame);
        Frames++;
        FrameBytes += frame.Length;
    }

    /// <summary>
    /// Adds a frame as <see cref="Add(ReadOnlySpan{byte}, long, string, byte)"/> does; <paramref name="device"/> is the
    /// CN of the connection's device certificate, null without one.
    /// </summary>
    public void Add(ReadOnlySequence<byte> frame, long receivedAtMs, string peer, byte transport, string? device = null)
    {
        OpenRecord(receivedAtMs, peer, transport, device);
        GatewayRecord.WriteFrame(_buffer, frame);
        Frames++;
        FrameBytes += frame.Length;
    }

    /// <summary>
    /// Makes room for about <paramref name="frameBytes"/> of frames before they are added, so the batch rents one array of
    /// about their size instead of a larger first one (TCP: many connections may hold a batch while they wait for the queue).
    /// </summary>
    public void Reserve(int frameBytes) => _buffer.GetSpan(frameBytes + 256);

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

    private void OpenRecord(long receivedAtMs, string peer, byte transport, string? device)
    {
        if (_starts.Count == 0 || _buffer.WrittenCount - _starts[^1] >= RecordBytes || !string.Equals(peer, _peer, StringComparison.Ordinal)
            || !string.Equals(device, _device, StringComparison.Ordinal))
        {
            _starts.Add(_buffer.WrittenCount);
            GatewayRecord.WriteHeader(_buffer, GatewayRecordKind.SyslogFrames, receivedAtMs, peer, device);
            _buffer.GetSpan(1)[0] = transport;
            _buffer.Advance(1);
            _peer = peer;
            _device = device;
        }
    }

    /// <summary>Empties the batch and returns its buffer to the pool (the next frame rents one again).</summary>
    public void Release()
    {
        Clear();
        _buffer.Release();
    }

    /// <summary>Empties the batch for reuse.</summary>
    public void Clear()
    {
        _buffer.ResetWrittenCount();
        _starts.Clear();
        _records.Clear();
        _peer = null;
        _device = null;
        Frames = 0;
        FrameBytes = 0;
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> over one array rented from <see cref="ArrayPool{T}.Shared"/>, grown by renting a larger one.</summary>
    private sealed class PooledWriter : IBufferWriter<byte>
    {
        /// <summary>Smallest array rented (UDP adds datagram by datagram; TCP reserves the bytes it read first).</summary>
        private const int FirstBytes = 512;
        private byte[]? _array;

        public int WrittenCount { get; private set; }

        public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, WrittenCount);

        public void Advance(int count)
        {
            if (count < 0 || _array is null || WrittenCount + count > _array.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }

            WrittenCount += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(WrittenCount);

        public Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(WrittenCount);

        public void ResetWrittenCount() => WrittenCount = 0;

        public void Release()
        {
            WrittenCount = 0;
            if (_array is not null)
            {
                ArrayPool<byte>.Shared.Return(_array);
                _array = null;
            }
        }

        private byte[] Reserve(int sizeHint)
        {
            var need = WrittenCount + Math.Max(sizeHint, 1);
            if (_array is not null && need <= _array.Length)
            {
                return _array;
            }

            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(need, Math.Max(FirstBytes, (_array?.Length ?? 0) * 2)));
            if (_array is not null)
            {
                _array.AsSpan(0, WrittenCount).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_array);
            }

            _array = grown;
            return grown;
        }
    }
}
