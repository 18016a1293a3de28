using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Flotel.Store.Metrics;

/// <summary>
/// Encoder for one compressed chunk of a series' samples, written from the description in Pelkonen et al.,
/// "Gorilla: A Fast, Scalable, In-Memory Time Series Database", VLDB 2015, §4.1: timestamps as
/// delta-of-delta, values as XOR with the previous value. Timestamps here are milliseconds, so the
/// delta-of-delta buckets are wider than the paper's second-based 7/9/12 bits (14/17/20 bits, which hold
/// ±8 s, ±65 s and ±524 s of jitter).
/// <code>
/// chunk   = count:uint16 LE · encoding:uint8 (0 = XOR, this class; 1 = decimal, <see cref="DecimalChunkEncoder"/>;
///           2 = compact, <see cref="CompactChunkEncoder"/>)
///           · bitstream (most significant bit first, zero-padded to a byte)
/// bitstream = t0:64 (two's complement) · v0:64 (IEEE-754 bits) · sample*(count-1)
/// sample  = dod · xor
///   dod   = delta(i) - delta(i-1), delta(0) = 0, delta > 0 always (strictly increasing timestamps)
///           '0'                     dod = 0
///           '10'   + 4-bit signed
///           '110'  + 14-bit signed
///           '1110' + 20-bit signed
///           '1111' + 64-bit
///   xor   = bits(v) ^ bits(v_prev)
///           '0'                     xor = 0 (same value, NaN payloads included)
///           '10' + meaningful bits  the xor fits inside the previous leading/trailing-zero window
///           '11' + leading:5 + (length-1):6 + meaningful bits   a new window (leading capped at 31)
/// </code>
/// XOR of raw bits keeps every NaN payload, so Prometheus's stale marker (0x7ff0000000000002) survives exactly.
/// <para>
/// In memory the chunk's first <see cref="InlineBytes"/> bytes live inside this object and only the rest in an array
/// (bytes [InlineBytes, …)): a head of a sample or two, what most of a fleet's million series hold between samples a
/// minute apart, costs no array (the array header alone is 24 bytes), and a longer one loses nothing to the inline part.
/// <see cref="Bytes"/> is then a view of the inline bytes, or a copy once the chunk is longer.
/// </para>
/// <para>
/// <see cref="Spill"/> lets a caller that has the chunk's samples elsewhere (the metric store, once a flush wrote them)
/// drop its bytes: the appender then starts a new chunk with the next sample but keeps <see cref="FirstTimestamp"/>,
/// the first timestamp of everything appended since the last <see cref="Reset"/>.
/// </para>
/// </summary>
public class XorChunkAppender
{
    /// <summary>Bytes before the bitstream (sample count, encoding).</summary>
    internal const int HeaderBytes = 3;

    /// <summary>Encoding byte of an XOR chunk.</summary>
    internal const byte XorEncoding = 0;

    /// <summary>A chunk holds at most this many samples (the count is a uint16).</summary>
    internal const int MaxSamples = ushort.MaxValue;

    /// <summary>Chunk bytes held inside the object: the header, one sample (16 bytes) and about one more at a minute's spacing.</summary>
    internal const int InlineBytes = 32;

    /// <summary>Trailing zeros of the current window before there is one (a window has at most 63).</summary>
    private const byte NoWindow = byte.MaxValue;

    /// <summary>
    /// <see cref="FirstTimestamp"/> before a first sample (no flag field, as for the window): a chunk's first sample sets
    /// it only then, so a chunk begun after <see cref="Spill"/> keeps the earlier one. A chunk that is spilled must not
    /// begin at this timestamp (the store never stores it: a sample must be after its series' last, at first this value).
    /// </summary>
    private const long NoFirstTimestamp = long.MinValue;

    private InlineChunkBytes _inline;
    private byte[]? _more;
    private int _bitPos = HeaderBytes * 8;
    private long _lastT;
    private long _lastDelta;
    private ulong _lastBits;
    private ushort _count;
    private byte _leading;

    // NoWindow until a value opens the first leading/trailing-zero window (no flag field: with one, the series object,
    // which derives from this class, is 8 bytes larger; MemSeriesTests).
    private byte _trailing = NoWindow;

    /// <summary>
    /// An appender whose chunk continues past the inline bytes in an array of <paramref name="initialCapacity"/> -
    /// <see cref="InlineBytes"/> bytes, allocated now (none when the inline bytes are all it asks for).
    /// </summary>
    public XorChunkAppender(int initialCapacity = 64)
    {
        if (initialCapacity > InlineBytes)
        {
            _more = new byte[initialCapacity - InlineBytes];
        }
    }

    /// <summary>Samples in the chunk (since the last <see cref="Reset"/> or <see cref="Spill"/>).</summary>
    public int Count => _count;

    /// <summary>
    /// Timestamp of the first sample appended since the last <see cref="Reset"/> (<see cref="Spill"/> keeps it; valid
    /// when a sample was appended since that reset).
    /// </summary>
    public long FirstTimestamp { get; private set; } = NoFirstTimestamp;

    /// <summary>Timestamp of the first sample of the chunk in memory, read from its bytes (valid when <see cref="Count"/> &gt; 0).</summary>
    public long ChunkFirstTimestamp => BinaryPrimitives.ReadInt64BigEndian(((ReadOnlySpan<byte>)_inline)[HeaderBytes..]);

    /// <summary>Timestamp of the last sample (valid when <see cref="Count"/> &gt; 0).</summary>
    public long LastTimestamp => _lastT;

    /// <summary>Encoded size so far, header included.</summary>
    public int ByteLength => (_bitPos + 7) >> 3;

    /// <summary>
    /// The encoded chunk (header updated): a view valid until the next append or reset while the chunk fits the inline
    /// bytes, else a copy (<see cref="ToArray"/> copies once in either case).
    /// </summary>
    public ReadOnlySpan<byte> Bytes => ByteLength <= InlineBytes ? InlineSpan()[..ByteLength] : ToArray();

    /// <summary>A copy of the encoded chunk (header updated).</summary>
    public byte[] ToArray()
    {
        var length = ByteLength;
        var copy = new byte[length];
        var inline = InlineSpan();
        if (length <= InlineBytes)
        {
            inline[..length].CopyTo(copy);
        }
        else
        {
            inline.CopyTo(copy);
            _more.AsSpan(0, length - InlineBytes).CopyTo(copy.AsSpan(InlineBytes));
        }

        return copy;
    }

    /// <summary>Empties the chunk, keeping the array it grew into.</summary>
    public void Reset()
    {
        if (ByteLength > InlineBytes)
        {
            Array.Clear(_more!, 0, ByteLength - InlineBytes);
        }

        ClearEncoderState();
        FirstTimestamp = NoFirstTimestamp;
    }

    /// <summary>
    /// Drops the chunk's bytes and its array (the caller holds its samples elsewhere) but keeps
    /// <see cref="FirstTimestamp"/>: the next sample begins a new chunk, with its own first timestamp and value in full.
    /// </summary>
    public void Spill()
    {
        _more = null;
        ClearEncoderState();
    }

    /// <summary>An empty chunk's bytes and encoder state (the array, if any, and <see cref="FirstTimestamp"/> are the caller's).</summary>
    private void ClearEncoderState()
    {
        _inline = default;
        _bitPos = HeaderBytes * 8;
        _count = 0;
        _lastT = 0;
        _lastDelta = 0;
        _lastBits = 0;
        _leading = 0;
        _trailing = NoWindow;
    }

    /// <summary>
    /// After a <see cref="Spill"/> whose samples are gone (deleted by retention): the chunk in memory is all there is, so
    /// <see cref="FirstTimestamp"/> becomes its first sample's (or unset when it is empty).
    /// </summary>
    public void ForgetSpilled() => FirstTimestamp = _count > 0 ? ChunkFirstTimestamp : NoFirstTimestamp;

    /// <summary>
    /// Appends a sample. Returns false (and writes nothing) when <paramref name="timestampMs"/> is not after
    /// the last timestamp (the format has no negative or zero deltas) or the chunk is full.
    /// </summary>
    public bool TryAppend(long timestampMs, double value)
    {
        var bits = (ulong)BitConverter.DoubleToInt64Bits(value);
        if (_count == 0)
        {
            WriteBits((ulong)timestampMs, 64);
            WriteBits(bits, 64);
            if (FirstTimestamp == NoFirstTimestamp)
            {
                FirstTimestamp = timestampMs;
            }

            _lastT = timestampMs;
            _lastBits = bits;
            _count = 1;
            return true;
        }

        if (timestampMs <= _lastT || _count == MaxSamples)
        {
            return false;
        }

        var delta = timestampMs - _lastT;
        var dod = delta - _lastDelta;
        if (dod == 0)
        {
            WriteBits(0, 1);
        }
        else if (FitsSigned(dod, 4))
        {
            WriteBits(0b10, 2);
            WriteBits((ulong)dod, 4);
        }
        else if (FitsSigned(dod, 14))
        {
            WriteBits(0b110, 3);
            WriteBits((ulong)dod, 14);
        }
        else if (FitsSigned(dod, 20))
        {
            WriteBits(0b1110, 4);
            WriteBits((ulong)dod, 20);
        }
        else
        {
            WriteBits(0b1111, 4);
            WriteBits((ulong)dod, 64);
        }

        var xor = bits ^ _lastBits;
        if (xor == 0)
        {
            WriteBits(0, 1);
        }
        else
        {
            var leading = Math.Min(BitOperations.LeadingZeroCount(xor), 31);
            var trailing = BitOperations.TrailingZeroCount(xor);
            if (_trailing != NoWindow && leading >= _leading && trailing >= _trailing)
            {
                var length = 64 - _leading - _trailing;
                WriteBits(0b10, 2);
                WriteBits(xor >> _trailing, length);
            }
            else
            {
                var length = 64 - leading - trailing;
                WriteBits(0b11, 2);
                WriteBits((ulong)leading, 5);
                WriteBits((ulong)(length - 1), 6);
                WriteBits(xor >> trailing, length);
                _leading = (byte)leading;
                _trailing = (byte)trailing;
            }
        }

        _lastDelta = delta;
        _lastT = timestampMs;
        _lastBits = bits;
        _count++;
        return true;
    }

    internal static bool FitsSigned(long v, int bits) => v >= -(1L << (bits - 1)) && v < (1L << (bits - 1));

    /// <summary>The inline bytes, the count written into its header first.</summary>
    private Span<byte> InlineSpan()
    {
        Span<byte> inline = _inline;
        BinaryPrimitives.WriteUInt16LittleEndian(inline, _count);
        return inline;
    }

    /// <summary>Writes the low <paramref name="count"/> bits of <paramref name="value"/>, most significant first.</summary>
    private void WriteBits(ulong value, int count)
    {
        while (count > 0)
        {
            var free = 8 - (_bitPos & 7);
            var n = Math.Min(free, count);
            var chunk = (byte)((value >> (count - n)) & ((1UL << n) - 1));
            ByteAt(_bitPos >> 3) |= (byte)(chunk << (free - n));
            _bitPos += n;
            count -= n;
        }
    }

    private ref byte ByteAt(int index)
    {
        if (index < InlineBytes)
        {
            return ref _inline[index];
        }

        index -= InlineBytes;
        if (_more is null || index >= _more.Length)
        {
            Array.Resize(ref _more, Math.Max(index + 1, Math.Max(InlineBytes, (_more?.Length ?? 0) * 2)));
        }

        return ref _more[index];
    }

    [InlineArray(InlineBytes)]
    private struct InlineChunkBytes
    {
        private byte _first;
    }
}
