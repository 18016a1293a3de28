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

    /// <summary>24 samples a minute apart with a few ms of jitter and changing values: 215 bytes, past the inline ones.</summary>
    private static Sample[] MinuteSamples(int n)
    {
        double[] values = [1.0, 1.5, 1024.25, -3.0, 1e300, 0.1];
        var samples = new Sample[n];
        for (var i = 0; i < n; i++)
        {
            samples[i] = new Sample(1_700_000_000_000 + (i * 60_000L) + (i * 7919 % 13), values[i % 6] * (i + 1));
        }

        return samples;
    }

    [Fact]
    public void Bytes_ShortAndLongerThanTheInlineBytes_AreTheLayoutsBytes()
    {
        // Expected bytes from a separate implementation of the layout in XorChunkAppender's comment (a short script, not
        // this encoder): the in-memory split of the chunk (inline bytes, then an array) must not change them.
        const string two = "0200000000018bcfe568003ff0000000000000e0ea62c25fff80";
        const string all = "1800000000018bcfe568003ff0000000000000e0ea62c25fffb42140036062020006c1fdf3aeea5d5004981a41beee789933a0374fffe66666666"
            + "6669bff3800d0000000000003001b0075009000000000280fc01200000000057c9cd9d33b00a1b69060d7f6abacd8fbd3fec99999999999a6ffce0"
            + "01f000000000000c006c01f603c000000000a02180780000000015f18b14028403e7b24185ae4c9c4cb03b4ff9f99999999999a8003400000000000"
            + "37fe7007580a80000000060036808581500000000057da358170380a9108fa087ce2cbcd9ef0";
        foreach (var capacity in new[] { XorChunkAppender.InlineBytes, 64, 4096 })
        {
            var appender = new XorChunkAppender(capacity);
            var samples = MinuteSamples(24);
            for (var i = 0; i < samples.Length; i++)
            {
                Assert.True(appender.TryAppend(samples[i].TimestampMs, samples[i].Value));
                if (i == 1)
                {
                    Assert.Equal(two, Convert.ToHexStringLower(appender.Bytes));
                    Assert.Equal(two, Convert.ToHexStringLower(appender.ToArray()));
                }
            }

            Assert.Equal(all, Convert.ToHexStringLower(appender.Bytes));
            Assert.Equal(all, Convert.ToHexStringLower(appender.ToArray()));
            Assert.Equal(all.Length / 2, appender.ByteLength);
        }
    }

    [Fact]
    public void Reset_AfterGrowingPastTheInlineBytes_EncodesAgainAsAFreshAppender()
    {
        var samples = MinuteSamples(24);
        var reused = new XorChunkAppender(XorChunkAppender.InlineBytes);
        foreach (var s in samples)
        {
            reused.TryAppend(s.TimestampMs, s.Value);
        }

        reused.Reset();
        Assert.Equal(0, reused.Count);
        Assert.Equal(XorChunkAppender.HeaderBytes, reused.ByteLength);
        var fresh = new XorChunkAppender(XorChunkAppender.InlineBytes);
        foreach (var s in samples.AsSpan(3, 12))
        {
            reused.TryAppend(s.TimestampMs, s.Value);
            fresh.TryAppend(s.TimestampMs, s.Value);
        }

        Assert.Equal(fresh.ToArray(), reused.ToArray());
        AssertBitExact(samples.AsSpan(3, 12).ToArray(), Decode(reused.ToArray()));
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
