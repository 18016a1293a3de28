using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// The bytes of one pending group commit, already in on-disk record format, so the commit loop writes them with one
/// call per segment. Appenders fill it under the queue's lock; the commit loop owns it once it has swapped it out.
/// </summary>
internal sealed class RecordBuffer
{
    // Kept after a commit so steady traffic never reallocates; a burst that grew it past this is given back.
    private const int RetainedCapacity = 4 << 20;
    private const int InitialCapacity = 64 << 10;

    private byte[] _buffer = new byte[InitialCapacity];

    /// <summary>Bytes written.</summary>
    public int Length { get; private set; }

    /// <summary>Records written.</summary>
    public int Count { get; private set; }

    /// <summary>Payload bytes written (headers excluded).</summary>
    public long PayloadBytes { get; private set; }

    /// <summary>The records written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    /// <summary>Appends one record: header (length, CRC-32C, sequence) then payload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Append(long sequence, ReadOnlySpan<byte> payload)
    {
        var size = DurableQueue.RecordHeaderSize + payload.Length;
        if (_buffer.Length - Length < size)
        {
            Grow(size);
        }

        var span = _buffer.AsSpan(Length, size);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Crc32C.OfRecord(sequence, payload));
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], sequence);
        payload.CopyTo(span[DurableQueue.RecordHeaderSize..]);
        Length += size;
        Count++;
        PayloadBytes += payload.Length;
    }

    /// <summary>Empties the buffer for reuse.</summary>
    public void Reset()
    {
        if (_buffer.Length > RetainedCapacity)
        {
            _buffer = new byte[InitialCapacity];
        }

        Length = 0;
        Count = 0;
        PayloadBytes = 0;
    }

    private void Grow(int needed)
    {
        var capacity = Math.Max((long)_buffer.Length * 2, (long)Length + needed);
        if (capacity > Array.MaxLength)
        {
            throw new InvalidOperationException("A single group commit cannot exceed 2 GiB.");
        }

        Array.Resize(ref _buffer, (int)capacity);
    }
}
