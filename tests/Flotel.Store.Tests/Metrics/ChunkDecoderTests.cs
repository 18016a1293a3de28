using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

/// <summary>The whole-chunk decoder against the sample-by-sample iterator (the reference), on both encodings.</summary>
public sealed class ChunkDecoderTests
{
    private static readonly Gen<long> Delta = Gen.OneOf<long>(
        Gen.Const(15_000L), Gen.Long[14_990, 15_010], Gen.Long[1, 100], Gen.Long[1, 10_000_000], Gen.Long[1, 1L << 45]);

    private static readonly Gen<double> AnyValue = Gen.OneOf<double>(
        Gen.Double, Gen.Double.Special, Gen.Const(Sample.StaleMarker), Gen.Const(double.NaN), Gen.Const(-0d), Gen.Int[0, 1000].Select(i => (double)i),
        Gen.ULong.Select(u => BitConverter.Int64BitsToDouble((long)u)));

    // Series the decimal encoding takes (one exponent per series): m / 10^e with small and large steps of m.
    private static readonly Gen<double>[] DecimalValues =
    [
        Gen.Int[0, 1000].Select(i => (double)i), Gen.Int[-100_000, 100_000].Select(i => i / 100.0),
        Gen.Long[-(1L << 52), 1L << 52].Select(l => (double)l), Gen.Int[0, 99].Select(i => 40 + (i / 10.0)),
    ];

    private static Gen<Sample[]> Samples(Gen<double> values) =>
        Gen.Select(Gen.Long[-1_000_000_000_000, 1_000_000_000_000], Gen.Select(Delta, values).Array[1, 300]).Select((start, pairs) =>
        {
            var samples = new Sample[pairs.Length];
            var t = start;
            for (var i = 0; i < pairs.Length; i++)
            {
                t += i > 0 ? pairs[i].Item1 : 0;
                samples[i] = new Sample(t, pairs[i].Item2);
            }

            return samples;
        });

    private static byte[] Xor(Sample[] samples)
    {
        var appender = new XorChunkAppender();
        foreach (var s in samples)
        {
            Assert.True(appender.TryAppend(s.TimestampMs, s.Value));
        }

        return appender.Bytes.ToArray();
    }

    private static List<Sample> Reference(byte[] chunk, long minT, long maxT)
    {
        var result = new List<Sample>();
        var it = new XorChunkIterator(chunk);
        while (it.MoveNext(out var t, out var v))
        {
            if (t > maxT)
            {
                break;
            }

            if (t >= minT)
            {
                result.Add(new Sample(t, v));
            }
        }

        return result;
    }

    private static void AssertSameAsIterator(byte[] chunk, long minT, long maxT)
    {
        var expected = Reference(chunk, minT, maxT);
        var into = new Sample[expected.Count + 3];
        var n = ChunkDecoder.Decode(chunk, minT, maxT, into, 3);
        Assert.Equal(expected.Count + 3, n);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].TimestampMs, into[i + 3].TimestampMs);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Value), BitConverter.DoubleToInt64Bits(into[i + 3].Value));
        }
    }

    [Fact]
    public void Decode_XorChunks_SameSamplesAsTheIterator()
    {
        Samples(AnyValue).Sample(samples =>
        {
            var chunk = Xor(samples);
            AssertSameAsIterator(chunk, long.MinValue, long.MaxValue);
            AssertSameAsIterator(chunk, samples[samples.Length / 3].TimestampMs, samples[samples.Length * 2 / 3].TimestampMs);
            AssertSameAsIterator(chunk, samples[^1].TimestampMs + 1, long.MaxValue);
        });
    }

    [Fact]
    public void Decode_DecimalChunks_SameSamplesAsTheIterator()
    {
        var decimalChunks = 0;
        Gen.OneOf(DecimalValues.Select(Samples).ToArray()).Sample(samples =>
        {
            if (DecimalChunkEncoder.TryEncode(samples) is not { } chunk)
            {
                return;
            }

            Interlocked.Increment(ref decimalChunks);
            AssertSameAsIterator(chunk, long.MinValue, long.MaxValue);
            AssertSameAsIterator(chunk, samples[samples.Length / 3].TimestampMs, samples[samples.Length * 2 / 3].TimestampMs);
            AssertSameAsIterator(chunk, long.MinValue, samples[0].TimestampMs - 1);
        });
        Assert.True(decimalChunks > 10, "the generator made too few decimal chunks to compare: " + decimalChunks);
    }

    [Fact]
    public void Decode_EveryTruncation_FailsLikeTheIterator()
    {
        var samples = Enumerable.Range(0, 50).Select(i => new Sample(1_000 + (i * 15_000L) + (i % 3), Math.Round(i * 1.37, 2))).ToArray();
        var irregular = Enumerable.Range(0, 50).Select(i => new Sample(1_000 + (i * i * 977L), i % 7 == 0 ? double.NaN : i * 3.1e10)).ToArray();
        foreach (var chunk in new[] { Xor(samples), DecimalChunkEncoder.TryEncode(samples)!, Xor(irregular) })
        {
            for (var length = 0; length < chunk.Length; length++)
            {
                var prefix = chunk[..length];
                var referenceFails = Fails(() => Reference(prefix, long.MinValue, long.MaxValue));
                var decoderFails = Fails(() => ChunkDecoder.Decode(prefix, long.MinValue, long.MaxValue, new Sample[100], 0));
                Assert.True(referenceFails == decoderFails, $"prefix of {length} bytes: iterator fails {referenceFails}, decoder fails {decoderFails}");
            }
        }
    }

    [Fact]
    public void Decode_MoreSamplesThanRoom_IsInvalidData()
    {
        var chunk = Xor([new Sample(1, 1), new Sample(2, 2), new Sample(3, 3)]);
        Assert.Throws<InvalidDataException>(() => ChunkDecoder.Decode(chunk, long.MinValue, long.MaxValue, new Sample[2], 0));
    }

    private static bool Fails(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }
}
