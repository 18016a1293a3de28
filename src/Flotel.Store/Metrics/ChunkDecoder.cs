using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// Decodes a whole chunk (either encoding; layouts in <see cref="XorChunkAppender"/> and
/// <see cref="DecimalChunkEncoder"/>) into an array, for queries: a 24 h range query over 1,000 series decodes 5.8 M
/// samples, so this is the store's hot read path. Same output and the same <see cref="InvalidDataException"/>s as
/// <see cref="XorChunkIterator"/>, which stays the reference (tests compare the two), but the state lives in locals
/// and each sample's prefix codes are read from one 64-bit window instead of bit by bit.
/// </summary>
internal static class ChunkDecoder
{
    /// <summary>
    /// Zero bytes after the copied chunk, so every read of a 64-bit window stays inside the buffer: a sample is at most
    /// 145 bits (timestamp escape 4 + 64, XOR value 2 + 11 + 64) and a window reads 8 bytes from where it starts.
    /// A read past the chunk's real end is detected after the sample and reported.
    /// </summary>
    private const int Padding = 32;

    /// <summary>Chunks up to this size are copied to the stack; larger ones (rare: up to 65,535 samples) to the heap.</summary>
    private const int StackBytes = 8192;

    /// <summary>
    /// Writes the chunk's samples with <paramref name="minT"/> ≤ t ≤ <paramref name="maxT"/> into
    /// <paramref name="into"/> from index <paramref name="n"/>; returns the index after the last one written.
    /// </summary>
    /// <exception cref="InvalidDataException">The chunk is malformed, or holds more samples in range than fit.</exception>
    public static int Decode(ReadOnlySpan<byte> chunk, long minT, long maxT, Span<Sample> into, int n)
    {
        if (chunk.Length < XorChunkAppender.HeaderBytes)
        {
            throw new InvalidDataException("metric chunk shorter than its header");
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(chunk);
        var encoding = chunk[2];
        if (encoding is not (XorChunkAppender.XorEncoding or DecimalChunkEncoder.Encoding or CompactChunkEncoder.Encoding))
        {
            throw new InvalidDataException("metric chunk has unknown encoding " + encoding.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (count == 0)
        {
            return n;
        }

        var size = chunk.Length + Padding;
        var buffer = size <= StackBytes ? stackalloc byte[size] : new byte[size];
        chunk.CopyTo(buffer);
        buffer[chunk.Length..].Clear();
        var bits = new BitWindow(buffer, XorChunkAppender.HeaderBytes * 8);
        var endBits = (long)chunk.Length * 8;
        return encoding switch
        {
            DecimalChunkEncoder.Encoding => DecodeDecimal(ref bits, endBits, count, minT, maxT, into, n),
            CompactChunkEncoder.Encoding => DecodeCompact(ref bits, endBits, count, minT, maxT, into, n),
            _ => DecodeXor(ref bits, endBits, count, minT, maxT, into, n),
        };
    }

    private static int DecodeCompact(ref BitWindow bits, long endBits, int count, long minT, long maxT, Span<Sample> into, int n)
    {
        // Every header field is at most 70 bits: checked after each, so no read goes past the padding.
        var t = (long)bits.Read(64);
        CheckEnd(ref bits, endBits);
        long delta = 0;
        var regular = true;
        if (count >= 2)
        {
            delta = (long)ReadWidth(ref bits);
            regular = bits.Read(1) == 1;
            CheckEnd(ref bits, endBits);
            if (delta <= 0)
            {
                throw new InvalidDataException("metric chunk has a non-increasing timestamp");
            }
        }

        var e = (int)bits.Read(4);
        if (e > DecimalChunkEncoder.MaxExponent)
        {
            throw new InvalidDataException("metric chunk has a decimal exponent out of range");
        }

        var mode = (int)bits.Read(3);
        if (mode > CompactChunkEncoder.ModePackedDeltaOfDelta)
        {
            throw new InvalidDataException("metric chunk has an unknown value mode");
        }

        var pow = DecimalChunkEncoder.Pow10[e];
        var m = DecimalChunkEncoder.UnZigZag(ReadWidth(ref bits));
        CheckEnd(ref bits, endBits);
        var dm = count >= 2 && mode != CompactChunkEncoder.ModeConstant ? DecimalChunkEncoder.UnZigZag(ReadWidth(ref bits)) : 0;
        CheckEnd(ref bits, endBits);
        long packedBase = 0;
        var packedWidth = 0;
        if (mode >= CompactChunkEncoder.ModePackedValue)
        {
            packedBase = DecimalChunkEncoder.UnZigZag(ReadWidth(ref bits));
            packedWidth = (int)bits.Read(7);
            if (packedWidth > 64)
            {
                throw new InvalidDataException("metric chunk has a packed width over 64 bits");
            }

            CheckEnd(ref bits, endBits);
        }

        var value = m / pow;
        var width = 0;
        for (var i = 0; ; i++)
        {
            if (t > maxT)
            {
                return n;
            }

            if (t >= minT)
            {
                Put(into, ref n, t, value);
            }

            if (i + 1 == count)
            {
                return n;
            }

            if (i == 0)
            {
                t += delta;
                m += dm;
            }
            else
            {
                t = regular ? t + delta : NextTimestamp(ref bits, t, ref delta);
                if (mode == CompactChunkEncoder.ModeLinear)
                {
                    m += dm;
                }
                else if (mode >= CompactChunkEncoder.ModePackedValue)
                {
                    var residual = packedBase + (packedWidth == 0 ? 0 : (long)bits.Read(packedWidth));
                    if (mode == CompactChunkEncoder.ModePackedValue)
                    {
                        m = residual;
                    }
                    else
                    {
                        dm = mode == CompactChunkEncoder.ModePackedDelta ? residual : dm + residual;
                        m += dm;
                    }
                }
                else if (mode != CompactChunkEncoder.ModeConstant)
                {
                    var residual = ReadValue(ref bits, ref width);
                    if (mode == CompactChunkEncoder.ModeDelta)
                    {
                        dm = residual;
                    }
                    else
                    {
                        dm += residual;
                    }

                    m += dm;
                }

                CheckEnd(ref bits, endBits);
            }

            value = m / pow;
        }
    }

    /// <summary>A (w-1):6 · x:w field of the compact encoding.</summary>
    private static ulong ReadWidth(ref BitWindow bits) => bits.Read((int)bits.Read(6) + 1);

    /// <summary>A compact value code: '0' zero, '10' + w bits, '11' + (w'-1):6 + w' bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ReadValue(ref BitWindow bits, ref int width)
    {
        var w = bits.Peek();
        if ((long)w >= 0)
        {
            bits.Skip(1);
            return 0;
        }

        if ((w & (1UL << 62)) == 0)
        {
            if (width == 0)
            {
                throw new InvalidDataException("metric chunk reuses a width before setting one");
            }

            bits.Skip(2);
        }
        else
        {
            width = (int)((w >> 56) & 0x3F) + 1;
            bits.Skip(8);
        }

        return DecimalChunkEncoder.UnZigZag(bits.Read(width));
    }

    private static int DecodeXor(ref BitWindow bits, long endBits, int count, long minT, long maxT, Span<Sample> into, int n)
    {
        var t = (long)bits.Read(64);
        var value = bits.Read(64);
        CheckEnd(ref bits, endBits);
        long delta = 0;
        int leading = 0, trailing = 0;
        for (var i = 0; ; i++)
        {
            if (t > maxT)
            {
                return n;
            }

            if (t >= minT)
            {
                Put(into, ref n, t, BitConverter.Int64BitsToDouble((long)value));
            }

            if (i + 1 == count)
            {
                return n;
            }

            t = NextTimestamp(ref bits, t, ref delta);
            var w = bits.Peek();
            if ((long)w < 0)
            {
                int meaningful;
                if ((w & (1UL << 62)) == 0)
                {
                    bits.Skip(2);
                    meaningful = 64 - leading - trailing;
                }
                else
                {
                    leading = (int)((w >> 57) & 0x1F);
                    meaningful = (int)((w >> 51) & 0x3F) + 1;
                    trailing = 64 - leading - meaningful;
                    if (trailing < 0)
                    {
                        throw new InvalidDataException("metric chunk has an impossible XOR window");
                    }

                    bits.Skip(13);
                }

                value ^= bits.Read(meaningful) << trailing;
            }
            else
            {
                bits.Skip(1);
            }

            CheckEnd(ref bits, endBits);
        }
    }

    private static int DecodeDecimal(ref BitWindow bits, long endBits, int count, long minT, long maxT, Span<Sample> into, int n)
    {
        var t = (long)bits.Read(64);
        var e = (int)bits.Read(4);
        if (e > DecimalChunkEncoder.MaxExponent)
        {
            throw new InvalidDataException("metric chunk has a decimal exponent out of range");
        }

        var pow = DecimalChunkEncoder.Pow10[e];
        var m = DecimalChunkEncoder.UnZigZag(bits.Read(64));
        CheckEnd(ref bits, endBits);
        var value = m / pow;
        long delta = 0;
        var width = 0;
        for (var i = 0; ; i++)
        {
            if (t > maxT)
            {
                return n;
            }

            if (t >= minT)
            {
                Put(into, ref n, t, value);
            }

            if (i + 1 == count)
            {
                return n;
            }

            t = NextTimestamp(ref bits, t, ref delta);
            var w = bits.Peek();
            if ((long)w < 0)
            {
                if ((w & (1UL << 62)) == 0)
                {
                    if (width == 0)
                    {
                        throw new InvalidDataException("metric chunk reuses a width before setting one");
                    }

                    bits.Skip(2);
                }
                else
                {
                    width = (int)((w >> 56) & 0x3F) + 1;
                    bits.Skip(8);
                }

                m += DecimalChunkEncoder.UnZigZag(bits.Read(width));
                value = m / pow;
            }
            else
            {
                bits.Skip(1);
            }

            CheckEnd(ref bits, endBits);
        }
    }

    /// <summary>The next timestamp from its delta-of-delta code ('0', '10'+4, '110'+14, '1110'+20, '1111'+64 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long NextTimestamp(ref BitWindow bits, long t, ref long delta)
    {
        var w = bits.Peek();
        long dod;
        if ((long)w >= 0)
        {
            bits.Skip(1);
            dod = 0;
        }
        else if ((w & (1UL << 62)) == 0)
        {
            dod = SignExtend(w >> 58, 4);
            bits.Skip(6);
        }
        else if ((w & (1UL << 61)) == 0)
        {
            dod = SignExtend(w >> 47, 14);
            bits.Skip(17);
        }
        else if ((w & (1UL << 60)) == 0)
        {
            dod = SignExtend(w >> 40, 20);
            bits.Skip(24);
        }
        else
        {
            bits.Skip(4);
            dod = (long)bits.Read(64);
        }

        delta += dod;
        if (delta <= 0)
        {
            throw new InvalidDataException("metric chunk has a non-increasing timestamp");
        }

        return t + delta;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Span<Sample> into, ref int n, long t, double value)
    {
        if ((uint)n >= (uint)into.Length)
        {
            throw new InvalidDataException("metric chunk holds more samples than its header declares");
        }

        into[n++] = new Sample(t, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckEnd(ref BitWindow bits, long endBits)
    {
        if (bits.Position > endBits)
        {
            throw new InvalidDataException("metric chunk ends inside a sample");
        }
    }

    /// <summary>The low <paramref name="bits"/> of <paramref name="v"/> as a signed number.</summary>
    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);

    /// <summary>A most-significant-bit-first reader over a buffer with <see cref="Padding"/> zero bytes at its end.</summary>
    private ref struct BitWindow(ReadOnlySpan<byte> buffer, int position)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;

        public int Position = position;

        /// <summary>The next 57 or more bits at the top of a word (the rest are the bits after them).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly ulong Peek() => BinaryPrimitives.ReadUInt64BigEndian(_buffer[(Position >> 3)..]) << (Position & 7);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Skip(int count) => Position += count;

        /// <summary>The next <paramref name="count"/> (1–64) bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Read(int count)
        {
            if (count <= 56)
            {
                var v = Peek() >> (64 - count);
                Position += count;
                return v;
            }

            var high = Peek() >> 32;
            Position += 32;
            var low = Peek() >> (96 - count);
            Position += count - 32;
            return (high << (count - 32)) | low;
        }
    }
}
