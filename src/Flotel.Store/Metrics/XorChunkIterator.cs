using System.Buffers.Binary;

namespace Flotel.Store.Metrics;

/// <summary>
/// Decoder for every chunk encoding: XOR (<see cref="XorChunkAppender"/>), decimal (<see cref="DecimalChunkEncoder"/>)
/// and compact (<see cref="CompactChunkEncoder"/>, decoded whole by <see cref="ChunkDecoder"/>); the layouts are documented there.
/// A chunk that ends early or carries a non-increasing timestamp throws <see cref="InvalidDataException"/>:
/// the store only reads what it wrote, so that means on-disk corruption.
/// </summary>
public ref struct XorChunkIterator
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _count;
    private int _bitPos;
    private int _read;
    private long _t;
    private long _delta;
    private ulong _bits;
    private int _leading;
    private int _trailing;
    private readonly byte _encoding;
    private long _m;
    private int _width;
    private double _pow;
    private readonly Flotel.Model.Metrics.Sample[]? _decoded;

    public XorChunkIterator(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < XorChunkAppender.HeaderBytes)
        {
            throw new InvalidDataException("metric chunk shorter than its header");
        }

        _data = chunk;
        _count = BinaryPrimitives.ReadUInt16LittleEndian(chunk);
        _encoding = chunk[2];
        if (_encoding == CompactChunkEncoder.Encoding)
        {
            // Decoded whole, once: the compact encoding is written only for closed chunks, which nothing appends to.
            var samples = new Flotel.Model.Metrics.Sample[_count];
            _decoded = samples.AsSpan(0, ChunkDecoder.Decode(chunk, long.MinValue, long.MaxValue, samples, 0)).ToArray();
        }
        else if (_encoding is not (XorChunkAppender.XorEncoding or DecimalChunkEncoder.Encoding))
        {
            throw new InvalidDataException("metric chunk has unknown encoding " + _encoding.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _bitPos = XorChunkAppender.HeaderBytes * 8;
    }

    /// <summary>Samples declared by the chunk header.</summary>
    public readonly int Count => _count;

    /// <summary>Reads the next sample; false after the last one.</summary>
    public bool MoveNext(out long timestampMs, out double value)
    {
        if (_read == _count)
        {
            timestampMs = 0;
            value = 0;
            return false;
        }

        if (_decoded is not null)
        {
            if (_read == _decoded.Length)
            {
                throw new InvalidDataException("metric chunk holds fewer samples than its header declares");
            }

            (timestampMs, value) = (_decoded[_read].TimestampMs, _decoded[_read].Value);
            _read++;
            return true;
        }

        if (_read == 0)
        {
            _t = (long)ReadBits(64);
            if (_encoding == DecimalChunkEncoder.Encoding)
            {
                var e = (int)ReadBits(4);
                if (e > DecimalChunkEncoder.MaxExponent)
                {
                    throw new InvalidDataException("metric chunk has a decimal exponent out of range");
                }

                _pow = DecimalChunkEncoder.Pow10[e];
                _m = DecimalChunkEncoder.UnZigZag(ReadBits(64));
                _bits = (ulong)BitConverter.DoubleToInt64Bits(_m / _pow);
            }
            else
            {
                _bits = ReadBits(64);
            }
        }
        else
        {
            long dod;
            if (ReadBits(1) == 0)
            {
                dod = 0;
            }
            else if (ReadBits(1) == 0)
            {
                dod = SignExtend(ReadBits(4), 4);
            }
            else if (ReadBits(1) == 0)
            {
                dod = SignExtend(ReadBits(14), 14);
            }
            else if (ReadBits(1) == 0)
            {
                dod = SignExtend(ReadBits(20), 20);
            }
            else
            {
                dod = (long)ReadBits(64);
            }

            var delta = _delta + dod;
            if (delta <= 0)
            {
                throw new InvalidDataException("metric chunk has a non-increasing timestamp");
            }

            _delta = delta;
            _t += delta;
            if (_encoding == DecimalChunkEncoder.Encoding)
            {
                ReadDecimal();
            }
            else if (ReadBits(1) != 0)
            {
                if (ReadBits(1) != 0)
                {
                    _leading = (int)ReadBits(5);
                    var length = (int)ReadBits(6) + 1;
                    _trailing = 64 - _leading - length;
                    if (_trailing < 0)
                    {
                        throw new InvalidDataException("metric chunk has an impossible XOR window");
                    }
                }

                var meaningful = 64 - _leading - _trailing;
                _bits ^= ReadBits(meaningful) << _trailing;
            }
        }

        _read++;
        timestampMs = _t;
        value = BitConverter.Int64BitsToDouble((long)_bits);
        return true;
    }

    private void ReadDecimal()
    {
        if (ReadBits(1) == 0)
        {
            return;
        }

        if (ReadBits(1) != 0)
        {
            _width = (int)ReadBits(6) + 1;
        }
        else if (_width == 0)
        {
            throw new InvalidDataException("metric chunk reuses a width before setting one");
        }

        _m += DecimalChunkEncoder.UnZigZag(ReadBits(_width));
        _bits = (ulong)BitConverter.DoubleToInt64Bits(_m / _pow);
    }

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);

    /// <summary>
    /// The next <paramref name="count"/> (1–64) bits, most significant first. A range query decodes every sample of
    /// every selected series (5.8 M for a 24 h panel over 1,000 series), so the usual case reads one unaligned
    /// big-endian word and shifts, instead of a loop per byte; only the last 8 bytes of a chunk and reads over 56 bits
    /// take the byte loop.
    /// </summary>
    private ulong ReadBits(int count)
    {
        if (_bitPos + count > _data.Length * 8)
        {
            throw new InvalidDataException("metric chunk ends inside a sample");
        }

        var index = _bitPos >> 3;
        if (count <= 56 && index + 8 <= _data.Length)
        {
            var word = BinaryPrimitives.ReadUInt64BigEndian(_data[index..]);
            var result = (word << (_bitPos & 7)) >> (64 - count);
            _bitPos += count;
            return result;
        }

        return ReadBitsSlow(count);
    }

    private ulong ReadBitsSlow(int count)
    {
        ulong result = 0;
        while (count > 0)
        {
            var avail = 8 - (_bitPos & 7);
            var n = Math.Min(avail, count);
            var b = (ulong)(_data[_bitPos >> 3] >> (avail - n)) & ((1UL << n) - 1);
            result = (result << n) | b;
            _bitPos += n;
            count -= n;
        }

        return result;
    }
}
