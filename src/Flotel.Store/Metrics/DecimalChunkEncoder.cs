using System.Buffers.Binary;
using System.Numerics;
using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// Second chunk encoding, which earlier stores wrote when a head chunk closed (now <see cref="CompactChunkEncoder"/>
/// is, and uses this class's exactness test; chunks already written this way are still read): most exported values
/// are decimals (counters of bytes, seconds with two decimals, temperatures with three), whose float bits XOR badly
/// because every decimal step flips many mantissa bits. When every value of the chunk equals <c>m / 10^e</c> exactly (same e ≤ 15,
/// |m| ≤ 2^53, finite, no negative zero), the integers m are stored instead — the idea behind VictoriaMetrics'
/// decimal conversion, written here from that description. The chunk is kept only if smaller than the XOR one.
/// <code>
/// chunk     = count:uint16 LE · encoding:uint8 = 1 · bitstream
/// bitstream = t0:64 · e:4 · zigzag(m0):64 · sample*(count-1)
/// sample    = dod (as in the XOR encoding) · value
///   value   = '0'                              m unchanged
///             '10' + zigzag(Δm):w              fits the previous width w
///             '11' + (w'-1):6 + zigzag(Δm):w'  new width w' = bits needed
/// </code>
/// Decoding divides m by 10^e: IEEE division is correctly rounded and 10^e (e ≤ 15) is exact, so the encoder's
/// exactness check (<c>m / 10^e == v</c>, bit for bit) guarantees a lossless round trip.
/// </summary>
public static class DecimalChunkEncoder
{
    internal const byte Encoding = 1;
    internal const int MaxExponent = 15;
    private const double MaxMantissa = 9007199254740992; // 2^53

    internal static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>Encodes <paramref name="samples"/> (strictly increasing timestamps) or returns null when a value is not an exact decimal.</summary>
    public static byte[]? TryEncode(ReadOnlySpan<Sample> samples)
    {
        if (samples.IsEmpty || samples.Length > XorChunkAppender.MaxSamples)
        {
            return null;
        }

        var e = FindExponent(samples);
        if (e < 0)
        {
            return null;
        }

        var w = new ChunkBitWriter(XorChunkAppender.HeaderBytes + (samples.Length * 3) + 24);
        var p = Pow10[e];
        var prevM = (long)Math.Round(samples[0].Value * p);
        w.Write((ulong)samples[0].TimestampMs, 64);
        w.Write((ulong)e, 4);
        w.Write(ZigZag(prevM), 64);
        var prevT = samples[0].TimestampMs;
        long prevDelta = 0;
        var width = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            var t = samples[i].TimestampMs;
            var delta = t - prevT;
            if (delta <= 0)
            {
                return null;
            }

            var dod = delta - prevDelta;
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

            prevT = t;
            prevDelta = delta;
            var m = (long)Math.Round(samples[i].Value * p);
            var z = ZigZag(m - prevM);
            prevM = m;
            if (z == 0)
            {
                w.Write(0, 1);
                continue;
            }

            var needed = 64 - BitOperations.LeadingZeroCount(z);
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

        var bytes = w.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)samples.Length);
        bytes[2] = Encoding;
        return bytes;
    }

    /// <summary>The smallest e ≤ <see cref="MaxExponent"/> with every value exactly m / 10^e, or -1.</summary>
    internal static int FindExponent(ReadOnlySpan<Sample> samples)
    {
        for (var candidate = 0; candidate <= MaxExponent; candidate++)
        {
            if (AllExact(samples, candidate))
            {
                return candidate;
            }
        }

        return -1;
    }

    private static bool AllExact(ReadOnlySpan<Sample> samples, int e)
    {
        var p = Pow10[e];
        foreach (var s in samples)
        {
            var v = s.Value;
            if (!double.IsFinite(v) || (v == 0 && double.IsNegative(v)))
            {
                return false;
            }

            var m = Math.Round(v * p);
            if (Math.Abs(m) > MaxMantissa || BitConverter.DoubleToInt64Bits(m / p) != BitConverter.DoubleToInt64Bits(v))
            {
                return false;
            }
        }

        return true;
    }

    internal static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    internal static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);
}
