using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

/// <summary>The compact chunk encoding (<see cref="CompactChunkEncoder"/>): exact round trips, what it declines, and its size on regular scrapes.</summary>
public sealed class CompactChunkTests
{
    private static readonly Gen<long> Delta = Gen.OneOf<long>(
        Gen.Const(15_000L), Gen.Const(15_000L), Gen.Long[14_990, 15_010], Gen.Long[1, 100], Gen.Long[1, 1L << 45]);

    // Mantissa steps: constant, a counter's steady step, small and huge moves, resets to zero (a negative step).
    private static readonly Gen<long> Step = Gen.OneOf<long>(
        Gen.Const(0L), Gen.Const(37L), Gen.Long[-2000, 2000], Gen.Long[-(1L << 40), 1L << 40]);

    private static readonly Gen<double> AnyValue = Gen.OneOf<double>(
        Gen.Double, Gen.Double.Special, Gen.Const(Sample.StaleMarker), Gen.Const(double.NaN), Gen.Const(-0d),
        Gen.Const(double.PositiveInfinity), Gen.Const(double.NegativeInfinity), Gen.Int[0, 1000].Select(i => i / 10.0));

    private static Sample[] Decode(byte[] chunk, long minT = long.MinValue, long maxT = long.MaxValue)
    {
        var into = new Sample[ushort.MaxValue];
        var n = ChunkDecoder.Decode(chunk, minT, maxT, into, 0);
        return into.AsSpan(0, n).ToArray();
    }

    private static Sample[] Iterate(byte[] chunk)
    {
        var result = new List<Sample>();
        var it = new XorChunkIterator(chunk);
        while (it.MoveNext(out var t, out var v))
        {
            result.Add(new Sample(t, v));
        }

        return [.. result];
    }

    private static void AssertBitExact(ReadOnlySpan<Sample> expected, ReadOnlySpan<Sample> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].TimestampMs, actual[i].TimestampMs);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Value), BitConverter.DoubleToInt64Bits(actual[i].Value));
        }
    }

    private static Sample[] Regular(int count, Func<int, double> value, long step = 15_000)
    {
        var samples = new Sample[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = new Sample(1_700_000_000_000 + (i * step), value(i));
        }

        return samples;
    }

    [Fact]
    public void ExactDecimals_RoundTripBitExact_ThroughDecoderAndIterator()
    {
        Gen.Select(Gen.Int[0, 6], Gen.Long[-1_000_000_000, 1_000_000_000], Gen.Select(Delta, Step).Array[1, 300])
            .Sample((e, m0, steps) =>
            {
                var samples = new Sample[steps.Length];
                var t = 1_700_000_000_000L;
                var m = m0;
                for (var i = 0; i < steps.Length; i++)
                {
                    t += i == 0 ? 0 : steps[i].Item1;
                    m += i == 0 ? 0 : steps[i].Item2;
                    samples[i] = new Sample(t, m / DecimalChunkEncoder.Pow10[e]);
                }

                var chunk = CompactChunkEncoder.TryEncode(samples);
                Assert.NotNull(chunk);
                Assert.Equal(CompactChunkEncoder.Encoding, chunk[2]);
                AssertBitExact(samples, Decode(chunk));
                AssertBitExact(samples, Iterate(chunk));
            });
    }

    [Fact]
    public void AnyValues_EitherDeclinesOrRoundTripsBitExact()
    {
        Gen.Select(Delta, AnyValue).Array[1, 100].Sample(pairs =>
        {
            var t = 0L;
            var samples = pairs.Select((p, i) => new Sample(t += i == 0 ? 0 : p.Item1, p.Item2)).ToArray();
            var chunk = CompactChunkEncoder.TryEncode(samples);
            if (chunk is not null)
            {
                AssertBitExact(samples, Decode(chunk));
            }
        });
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(-0d)]
    [InlineData(0.30000000000000004)]
    public void NonDecimalValue_IsDeclined(double value)
    {
        Assert.Null(CompactChunkEncoder.TryEncode([new Sample(1, 1), new Sample(2, value), new Sample(3, 2)]));
        Assert.Null(CompactChunkEncoder.TryEncode([new Sample(1, 1), new Sample(2, Sample.StaleMarker)]));
    }

    [Fact]
    public void NonIncreasingTimestamps_AreDeclined()
    {
        Assert.Null(CompactChunkEncoder.TryEncode([new Sample(5, 1), new Sample(5, 2)]));
        Assert.Null(CompactChunkEncoder.TryEncode([new Sample(5, 1), new Sample(6, 2), new Sample(4, 3)]));
        Assert.Null(CompactChunkEncoder.TryEncode([]));
    }

    [Fact]
    public void RangeDecode_ReturnsOnlyTheSamplesInside()
    {
        var samples = Regular(240, i => Math.Round(i * 0.37, 2));
        var chunk = CompactChunkEncoder.TryEncode(samples)!;
        var minT = samples[17].TimestampMs;
        var maxT = samples[200].TimestampMs - 1;
        AssertBitExact(samples.AsSpan(17, 200 - 17), Decode(chunk, minT, maxT));
    }

    [Fact]
    public void CounterReset_RoundTrips()
    {
        var samples = Regular(240, i => i < 100 ? i * 1024.0 : (i - 100) * 512.0);
        AssertBitExact(samples, Decode(CompactChunkEncoder.TryEncode(samples)!));
    }

    [Fact]
    public void SingleSampleAndTwoSamples_RoundTrip()
    {
        Sample[] one = [new(-5, 12.5)];
        AssertBitExact(one, Decode(CompactChunkEncoder.TryEncode(one)!));
        Sample[] two = [new(long.MinValue / 2, -3), new(long.MaxValue / 2, 9_007_199_254_740_992)];
        AssertBitExact(two, Decode(CompactChunkEncoder.TryEncode(two)!));
    }

    // A regular scrape of a constant, a counter with a steady step and a two-decimal counter store no bits per sample:
    // the chunk is its header (t0, interval, mode, first value and step) whatever its length.
    [Theory]
    [InlineData("constant", 30)]
    [InlineData("counter", 30)]
    [InlineData("seconds", 30)]
    public void RegularScrape_SteadySeries_CostsOnlyTheHeader(string kind, int maxBytes)
    {
        Func<int, double> value = kind switch
        {
            "constant" => _ => 8_000_000_000,
            "counter" => i => i * 21.0,
            _ => i => Math.Round(i * 2.37, 2),
        };
        var samples = Regular(240, value);
        var chunk = CompactChunkEncoder.TryEncode(samples)!;
        Assert.InRange(chunk.Length, 1, maxBytes);
        Assert.True(chunk.Length < DecimalChunkEncoder.TryEncode(samples)!.Length);
        AssertBitExact(samples, Decode(chunk));
    }

    [Fact]
    public void SmoothGauge_IsSmallerThanTheDecimalEncoding()
    {
        var samples = Regular(240, i => Math.Round(40 + (20 * Math.Sin(i / 12.0)), 1));
        var compact = CompactChunkEncoder.TryEncode(samples)!;
        Assert.True(compact.Length < DecimalChunkEncoder.TryEncode(samples)!.Length);
        AssertBitExact(samples, Decode(compact));
    }

    [Fact]
    public void JitteredTimestamps_RoundTrip()
    {
        var t = 1_700_000_000_000L;
        var samples = Regular(240, i => i * 3.0);
        for (var i = 0; i < samples.Length; i++)
        {
            t += 15_000 + ((i * 7919) % 23) - 11;
            samples[i] = samples[i] with { TimestampMs = t };
        }

        AssertBitExact(samples, Decode(CompactChunkEncoder.TryEncode(samples)!));
    }

    [Fact]
    public void CorruptChunk_DecodesOrThrowsInvalidData_NeverAnythingElse()
    {
        var valid = CompactChunkEncoder.TryEncode(Regular(60, i => Math.Round(Math.Sin(i) * 100, 2)))!;
        Gen.Select(Gen.Byte.Array[0, 80], Gen.Int[0, 400], Gen.Int[0, 7]).Sample((random, flipAt, bit) =>
        {
            // Random bitstreams behind a compact header, and the valid chunk with one bit flipped.
            byte[] chunk = [(byte)(random.Length % 70), 0, CompactChunkEncoder.Encoding, .. random];
            var flipped = valid.ToArray();
            flipped[3 + (flipAt % (flipped.Length - 3))] ^= (byte)(1 << bit);
            foreach (var c in new[] { chunk, flipped })
            {
                try
                {
                    Decode(c);
                    Iterate(c);
                }
                catch (InvalidDataException)
                {
                }
            }
        });
    }

    [Fact]
    public void TruncatedChunk_ThrowsInvalidData()
    {
        var samples = Regular(50, i => Math.Round(Math.Sin(i) * 100, 2));
        var chunk = CompactChunkEncoder.TryEncode(samples)!;
        for (var length = 0; length < chunk.Length; length++)
        {
            var cut = chunk.AsSpan(0, length).ToArray();
            Assert.Throws<InvalidDataException>(() => Decode(cut));
        }
    }
}
