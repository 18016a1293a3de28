namespace Flotel.Store.Metrics;

/// <summary>
/// Most-significant-bit-first bit writer over a growable buffer whose first <see cref="XorChunkAppender.HeaderBytes"/>
/// bytes are left zero for the chunk header. Shared by both chunk encodings. A mutable struct held in a field, so the
/// per-sample path has no extra indirection.
/// </summary>
internal struct ChunkBitWriter
{
    private byte[] _buffer;
    private int _bitPos;

    public ChunkBitWriter(int capacity)
    {
        _buffer = new byte[Math.Max(capacity, XorChunkAppender.HeaderBytes + 16)];
        _bitPos = XorChunkAppender.HeaderBytes * 8;
    }

    /// <summary>Bytes written so far, header included.</summary>
    public readonly int ByteLength => (_bitPos + 7) >> 3;

    /// <summary>The buffer (the header is written into it in place); valid until the next write.</summary>
    public readonly byte[] Buffer => _buffer;

    /// <summary>Writes the low <paramref name="count"/> bits of <paramref name="value"/>, most significant first.</summary>
    public void Write(ulong value, int count)
    {
        var needed = (_bitPos + count + 7) >> 3;
        if (needed > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        }

        while (count > 0)
        {
            var free = 8 - (_bitPos & 7);
            var n = Math.Min(free, count);
            var chunk = (byte)((value >> (count - n)) & ((1UL << n) - 1));
            _buffer[_bitPos >> 3] |= (byte)(chunk << (free - n));
            _bitPos += n;
            count -= n;
        }
    }

    /// <summary>Zeroes what was written and starts again after the header, keeping the buffer.</summary>
    public void Reset()
    {
        Array.Clear(_buffer, 0, ByteLength);
        _bitPos = XorChunkAppender.HeaderBytes * 8;
    }

    /// <summary>A copy of the written bytes.</summary>
    public readonly byte[] ToArray() => _buffer.AsSpan(0, ByteLength).ToArray();
}
