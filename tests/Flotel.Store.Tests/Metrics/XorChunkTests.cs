using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class XorChunkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly Gen<long> Delta = Gen.OneOf<long>(
        Gen.Const(15_000L), Gen.Long[14_990, 15_010], Gen.Long[1, 100], Gen.Long[1, 10_000_000], Gen.Long[1, 1L << 45]);

    private static readonly Gen<double> Value = Gen.OneOf<double>(
        Gen.Double, Gen.Double.Special, Gen.Const(Sample.StaleMarker), Gen.Const(double.NaN), Gen.Const(-0d), Gen.Int[0, 1000].Select(i => (double)i),
        Gen.ULong.Select(u => BitConverter.Int64BitsToDouble((long)u)));

    private static Sample[] RoundTrip(Sample[] samples)
    {
        var appender = new XorChunkAppender();
        foreach (var s in samples)
        {
            Assert.True(appender.TryAppend(s.TimestampMs, s.Value));
        }

        var bytes = appender.Bytes.ToArray();
        var it = new XorChunkIterator(bytes);
        var result = new List<Sample>();
        while (it.MoveNext(out var t, out var v))
        {
            result.Add(new Sample(t, v));
        }

        return [.. result];
    }

    private static void AssertBitExact(Sample[] expected, Sample[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].TimestampMs, actual[i].TimestampMs);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Value), BitConverter.DoubleToInt64Bits(actual[i].Value));
        }
    }

    [Fact]
    public void RoundTrip_RandomTimestampsAndValues_IsBitExact()
    {
        Gen.Select(Gen.Long[-1_000_000_000_000_000, 1_000_000_000_000_000], Gen.Select(Delta, Value).Array[1, 300]).Sample((start, pairs) =>
        {
            var samples = new Sample[pairs.Length];
            var t = start;
            for (var i = 0; i < pairs.Length; i++)
            {
                if (i > 0)
                {
                    t += pairs[i].Item1;
                }

                samples[i] = new Sample(t, pairs[i].Item2);
            }

            AssertBitExact(samples, RoundTrip(samples));
        });
    }

    private static Sample[] Decode(byte[] chunk)
    {
        var it = new XorChunkIterator(chunk);
        var result = new List<Sample>();
        while (it.MoveNext(out var t, out var v))
        {
            result.Add(new Sample(t, v));
        }

        return [.. result];
    }

    [Fact]
    public void DecimalEncoding_ExactDecimals_RoundTripBitExact()
    {
        Gen.Select(Gen.Int[0, 6], Gen.Long[-1_000_000_000, 1_000_000_000], Gen.Select(Delta, Gen.OneOf(Gen.Const(0L), Gen.Long[-2000, 2000], Gen.Long[-(1L << 40), 1L << 40])).Array[1, 200])
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

                var chunk = DecimalChunkEncoder.TryEncode(samples);
                Assert.NotNull(chunk);
                Assert.Equal(DecimalChunkEncoder.Encoding, chunk[2]);
                AssertBitExact(samples, Decode(chunk));
            });
    }

    [Fact]
    public void DecimalEncoding_AnyValues_EitherDeclinesOrRoundTripsBitExact()
    {
        Gen.Select(Delta, Value).Array[1, 100].Sample(pairs =>
        {
            var t = 0L;
            var samples = pairs.Select((p, i) => new Sample(t += i == 0 ? 0 : p.Item1, p.Item2)).ToArray();
            var chunk = DecimalChunkEncoder.TryEncode(samples);
            if (chunk is not null)
            {
                AssertBitExact(samples, Decode(chunk));
            }
        });
    }

    [Fact]
    public void DecimalEncoding_NegativeZeroOrStaleMarker_IsDeclined()
    {
        Assert.Null(DecimalChunkEncoder.TryEncode([new Sample(1, 1), new Sample(2, -0d)]));
        Assert.Null(DecimalChunkEncoder.TryEncode([new Sample(1, 1), new Sample(2, Sample.StaleMarker)]));
        Assert.Null(DecimalChunkEncoder.TryEncode([new Sample(1, 0.1 + 0.2)])); // 17 significant digits
    }

    [Fact]
    public void RoundTrip_StaleMarkerBetweenValues_KeepsItsBitPattern()
    {
        Sample[] samples = [new(1000, 1), new(2000, Sample.StaleMarker), new(3000, double.NaN), new(4000, 2), new(5000, Sample.StaleMarker)];
        var back = RoundTrip(samples);
        AssertBitExact(samples, back);
        Assert.True(back[1].IsStaleMarker);
        Assert.False(back[2].IsStaleMarker);
    }

    [Fact]
    public void TryAppend_EarlierOrEqualTimestamp_IsRejectedAndChunkUnchanged()
    {
        var appender = new XorChunkAppender();
        Assert.True(appender.TryAppend(10_000, 1));
        Assert.True(appender.TryAppend(20_000, 2));
        var before = appender.Bytes.ToArray();
        Assert.False(appender.TryAppend(19_999, 3));
        Assert.False(appender.TryAppend(20_000, 3));
        Assert.Equal(before, appender.Bytes.ToArray());
        Assert.Equal(2, appender.Count);
    }

    [Fact]
    public void RoundTrip_HugeGapsAndExtremeTimestamps_Survive()
    {
        Sample[] samples = [new(long.MinValue / 2, 1), new(0, 2), new(1, 3), new(long.MaxValue / 2, 4), new((long.MaxValue / 2) + 1, 5)];
        AssertBitExact(samples, RoundTrip(samples));
    }

    [Theory]
    [InlineData("constant gauge", 0.0, 1.3)]
    [InlineData("counter +0..50 near 1e6", 50.0, 4.0)]
    public void Encode_RegularScrape_StaysWithinExpectedBytesPerSample(string series, double maxIncrement, double maxBytesPerSample)
    {
        // 120 samples 15 s apart with ±1 ms jitter, as a scraper produces them.
        Assert.NotEmpty(series);
        var appender = new XorChunkAppender();
        var rng = new Random(42);
        var value = 1_000_000.0;
        for (var i = 0; i < 120; i++)
        {
            value += Math.Floor(rng.NextDouble() * maxIncrement);
            Assert.True(appender.TryAppend(1_700_000_000_000 + (i * 15_000) + rng.Next(-1, 2), value));
        }

        Assert.InRange(appender.ByteLength / 120.0, 0.05, maxBytesPerSample);
    }

    [Fact]
    public void Iterator_TruncatedChunk_ThrowsInvalidData()
    {
        var appender = new XorChunkAppender();
        for (var i = 0; i < 10; i++)
        {
            Assert.True(appender.TryAppend(i * 1000, i * 1.5));
        }

        var bytes = appender.Bytes.ToArray()[..^3];
        Assert.Throws<InvalidDataException>(() =>
        {
            var it = new XorChunkIterator(bytes);
            while (it.MoveNext(out _, out _))
            {
            }
        });
    }

    [Fact]
    public void Reset_ThenAppend_StartsAFreshChunk()
    {
        var appender = new XorChunkAppender();
        for (var i = 1; i <= 50; i++)
        {
            Assert.True(appender.TryAppend(i * 1000, i));
        }

        appender.Reset();
        Sample[] samples = [new(5, 7), new(9, 8)];
        foreach (var s in samples)
        {
            Assert.True(appender.TryAppend(s.TimestampMs, s.Value));
        }

        var it = new XorChunkIterator(appender.Bytes);
        Assert.Equal(2, it.Count);
        Assert.True(it.MoveNext(out var t, out var v));
        Assert.Equal((5L, 7d), (t, v));
        Assert.True(it.MoveNext(out t, out v));
        Assert.Equal((9L, 8d), (t, v));
        Assert.False(it.MoveNext(out _, out _));
    }

    [Fact]
    public void Codecs_StopwatchLoop_RoundTripMillionsOfSamples()
    {
        // Rough per-sample rates for the report (run with -c Release); the assertion is the round trip itself.
        var rng = new Random(3);
        var samples = new Sample[240];
        var value = 1_000_000.0;
        for (var i = 0; i < samples.Length; i++)
        {
            value += rng.Next(0, 1000);
            samples[i] = new Sample(1_700_000_000_000 + (i * 15_000L) + rng.Next(0, 3), value);
        }

        var appender = new XorChunkAppender(4096);
        const int rounds = 5000;
        var encode = System.Diagnostics.Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            appender.Reset();
            foreach (var s in samples)
            {
                appender.TryAppend(s.TimestampMs, s.Value);
            }
        }

        encode.Stop();
        var chunk = appender.Bytes.ToArray();
        var sum = 0.0;
        var decode = System.Diagnostics.Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            var it = new XorChunkIterator(chunk);
            while (it.MoveNext(out _, out var v))
            {
                sum += v;
            }
        }

        decode.Stop();
        var seal = System.Diagnostics.Stopwatch.StartNew();
        byte[]? dec = null;
        for (var r = 0; r < rounds / 10; r++)
        {
            dec = DecimalChunkEncoder.TryEncode(samples);
        }

        seal.Stop();
        var n = (double)rounds * samples.Length;
        output.WriteLine($"XOR encode {n / encode.Elapsed.TotalSeconds / 1e6:F1} M samples/s, decode {n / decode.Elapsed.TotalSeconds / 1e6:F1} M samples/s, decimal encode {n / 10 / seal.Elapsed.TotalSeconds / 1e6:F1} M samples/s; XOR {chunk.Length} bytes, decimal {dec!.Length} bytes for 240 samples");
        Assert.Equal(samples.Sum(s => s.Value) * rounds, sum, 1e-3);
        AssertBitExact(samples, Decode(dec));
    }
}
