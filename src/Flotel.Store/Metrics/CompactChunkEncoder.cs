using System.Buffers.Binary;
using System.Numerics;
using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// Third chunk encoding, written when a chunk closes (or a flush snapshots a head) and its values are exact decimals
/// (the test of <see cref="DecimalChunkEncoder"/>): scrapes come at a fixed interval and most series are constants,
/// counters growing by a steady step or gauges moving smoothly, so this encoding spends no bits on what repeats. A
/// regular interval costs nothing per sample (one flag), a constant or a counter with a constant step nothing per
/// sample (a mode), and other series store the decimal mantissas, their deltas or their deltas of deltas, in
/// variable-width codes or bit-packed against the chunk's smallest one, whichever is smallest.
/// <code>
/// chunk     = count:uint16 LE · encoding:uint8 = 2 · bitstream (most significant bit first, zero-padded to a byte)
/// bitstream = t0:64 · [count ≥ 2: width(d1) · regular:1]
///             · e:4 · mode:3 · width(zigzag(m0)) · [count ≥ 2 and mode ≠ 0: width(zigzag(Δm1))]
///             · [mode ≥ 4: width(zigzag(base)) · b:7] · sample*(count-2)     (samples 2 … count-1)
/// width(x)  = (w-1):6 · x:w                         w = bits needed by x (at least 1)
/// sample    = [regular = 0: dod, as in the XOR encoding] · [mode 2 or 3: value] · [mode ≥ 4: (r_i - base):b]
/// mode      = 0 constant (m_i = m0) · 1 linear (m_i = m_{i-1} + Δm1) · 2 delta (value = zigzag(Δm_i))
///             · 3 delta of delta (value = zigzag(Δm_i - Δm_{i-1}))
///             · 4, 5, 6 packed: r_i = m_i, Δm_i or Δm_i - Δm_{i-1}, each stored as r_i - base in b bits (b = 0:
///               every r_i is base), base the smallest r_i — noisy series cost the bits of their range, no codes
/// value     = '0' zero · '10' + w bits (fits the previous width w) · '11' + (w'-1):6 + w' bits (new width w')
/// </code>
/// Timestamps are t0, t0 + d1, then each delta is the previous one (regular) or the previous one plus its dod.
/// A value is m_i / 10^e, exact for the same reason as in <see cref="DecimalChunkEncoder"/>.
/// </summary>
public static class CompactChunkEncoder
{
    internal const byte Encoding = 2;

    internal const int ModeConstant = 0;
    internal const int ModeLinear = 1;
    internal const int ModeDelta = 2;
    internal const int ModeDeltaOfDelta = 3;
    internal const int ModePackedValue = 4;
    internal const int ModePackedDelta = 5;
    internal const int ModePackedDeltaOfDelta = 6;

    /// <summary>Encodes <paramref name="samples"/> (strictly increasing timestamps) or returns null when a value is not an exact decimal.</summary>
    public static byte[]? TryEncode(ReadOnlySpan<Sample> samples)
    {
        if (samples.IsEmpty || samples.Length > XorChunkAppender.MaxSamples)
        {
            return null;
        }

        var e = DecimalChunkEncoder.FindExponent(samples);
        if (e < 0)
        {
            return null;
        }

        var n = samples.Length;
        var p = DecimalChunkEncoder.Pow10[e];
        var m = new long[n];
        var regular = true;
        for (var i = 0; i < n; i++)
        {
            m[i] = (long)Math.Round(samples[i].Value * p);
            if (i > 0 && samples[i].TimestampMs <= samples[i - 1].TimestampMs)
            {
                return null;
            }

            if (i > 1 && samples[i].TimestampMs - samples[i - 1].TimestampMs != samples[1].TimestampMs - samples[0].TimestampMs)
            {
                regular = false;
            }
        }

        var mode = ChooseMode(m);
        var w = new ChunkBitWriter(XorChunkAppender.HeaderBytes + 32 + (regular ? 0 : n / 4) + (mode >= ModeDelta ? n : 0));
        w.Write((ulong)samples[0].TimestampMs, 64);
        if (n >= 2)
        {
            WriteWidth(ref w, (ulong)(samples[1].TimestampMs - samples[0].TimestampMs));
            w.Write(regular ? 1UL : 0UL, 1);
        }

        w.Write((ulong)e, 4);
        w.Write((ulong)mode, 3);
        WriteWidth(ref w, DecimalChunkEncoder.ZigZag(m[0]));
        if (n >= 2 && mode != ModeConstant)
        {
            WriteWidth(ref w, DecimalChunkEncoder.ZigZag(m[1] - m[0]));
        }

        var (packedBase, packedWidth) = mode >= ModePackedValue ? Range(m, mode) : (0L, 0);
        if (mode >= ModePackedValue)
        {
            WriteWidth(ref w, DecimalChunkEncoder.ZigZag(packedBase));
            w.Write((ulong)packedWidth, 7);
        }

        var width = 0;
        for (var i = 2; i < n; i++)
        {
            if (!regular)
            {
                var dod = samples[i].TimestampMs - samples[i - 1].TimestampMs - (samples[i - 1].TimestampMs - samples[i - 2].TimestampMs);
                WriteTimestampDod(ref w, dod);
            }

            if (mode >= ModePackedValue)
            {
                if (packedWidth > 0)
                {
                    w.Write((ulong)(Residual(m, i, mode) - packedBase), packedWidth);
                }
            }
            else if (mode >= ModeDelta)
            {
                WriteValue(ref w, DecimalChunkEncoder.ZigZag(Residual(m, i, mode)), ref width);
            }
        }

        var bytes = w.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)n);
        bytes[2] = Encoding;
        return bytes;
    }

    /// <summary>A timestamp's delta-of-delta code, as in the XOR encoding ('0', '10'+4, '110'+14, '1110'+20, '1111'+64 bits).</summary>
    internal static void WriteTimestampDod(ref ChunkBitWriter w, long dod)
    {
        if (dod == 0)
        {
            w.Write(0, 1);
        }
        else if (XorChunkAppender.FitsSigned(dod, 4))
        {
            w.Write(0b10, 2);
            w.Write((ulong)dod, 4);
        }
        else if (XorChunkAppender.FitsSigned(dod, 14))
        {
            w.Write(0b110, 3);
            w.Write((ulong)dod, 14);
        }
        else if (XorChunkAppender.FitsSigned(dod, 20))
        {
            w.Write(0b1110, 4);
            w.Write((ulong)dod, 20);
        }
        else
        {
            w.Write(0b1111, 4);
            w.Write((ulong)dod, 64);
        }
    }

    /// <summary>Bits needed by <paramref name="z"/> (at least 1).</summary>
    internal static int WidthOf(ulong z) => Math.Max(1, 64 - BitOperations.LeadingZeroCount(z));

    private static void WriteWidth(ref ChunkBitWriter w, ulong x)
    {
        var width = WidthOf(x);
        w.Write((ulong)(width - 1), 6);
        w.Write(x, width);
    }

    private static void WriteValue(ref ChunkBitWriter w, ulong z, ref int width)
    {
        if (z == 0)
        {
            w.Write(0, 1);
            return;
        }

        var needed = WidthOf(z);
        if (width > 0 && needed <= width)
        {
            w.Write(0b10, 2);
            w.Write(z, width);
        }
        else
        {
            w.Write(0b11, 2);
            w.Write((ulong)(needed - 1), 6);
            w.Write(z, needed);
            width = needed;
        }
    }

    /// <summary>Sample i's (i ≥ 2) stored residual in mode <paramref name="mode"/>: the mantissa, its delta or its delta of delta.</summary>
    private static long Residual(long[] m, int i, int mode) => mode switch
    {
        ModePackedValue => m[i],
        ModeDelta or ModePackedDelta => m[i] - m[i - 1],
        _ => m[i] - m[i - 1] - (m[i - 1] - m[i - 2]),
    };

    /// <summary>The smallest residual of samples 2 … n-1 and the bits (0–64) every residual minus it fits in.</summary>
    private static (long Base, int Width) Range(long[] m, int mode)
    {
        if (m.Length < 3)
        {
            return (0, 0);
        }

        long min = long.MaxValue, max = long.MinValue;
        for (var i = 2; i < m.Length; i++)
        {
            var r = Residual(m, i, mode);
            min = Math.Min(min, r);
            max = Math.Max(max, r);
        }

        var span = (ulong)(max - min);
        return (min, span == 0 ? 0 : 64 - BitOperations.LeadingZeroCount(span));
    }

    /// <summary>Constant or linear when they hold; else the mode (2–6) that writes the fewest bits.</summary>
    private static int ChooseMode(long[] m)
    {
        bool constant = true, linear = true;
        for (var i = 1; i < m.Length; i++)
        {
            constant &= m[i] == m[0];
            linear &= m[i] - m[i - 1] == m[1] - m[0];
        }

        if (constant)
        {
            return ModeConstant;
        }

        if (linear)
        {
            return ModeLinear;
        }

        var best = ModeDelta;
        var bestBits = ValueBits(m, ModeDelta);
        for (var mode = ModeDeltaOfDelta; mode <= ModePackedDeltaOfDelta; mode++)
        {
            var bits = ValueBits(m, mode);
            if (bits < bestBits)
            {
                (best, bestBits) = (mode, bits);
            }
        }

        return best;
    }

    private static long ValueBits(long[] m, int mode)
    {
        if (mode >= ModePackedValue)
        {
            var (b, packed) = Range(m, mode);
            return 6 + WidthOf(DecimalChunkEncoder.ZigZag(b)) + 7 + ((long)packed * Math.Max(0, m.Length - 2));
        }

        long bits = 0;
        var width = 0;
        for (var i = 2; i < m.Length; i++)
        {
            var z = DecimalChunkEncoder.ZigZag(Residual(m, i, mode));
            if (z == 0)
            {
                bits++;
                continue;
            }

            var needed = WidthOf(z);
            if (width > 0 && needed <= width)
            {
                bits += 2 + width;
            }
            else
            {
                bits += 8 + needed;
                width = needed;
            }
        }

        return bits;
    }
}
