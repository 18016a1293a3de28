using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Store.Tests.Metrics;

/// <summary>
/// The store answers the same with its chunk cache as without it, whatever happened to the rows in between: chunks
/// closed, heads flushed and their rows replaced, rows deleted by age or by size.
/// </summary>
public sealed class MetricStoreChunkCacheTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private const long Step = 15_000;
    private readonly StoreFixture _cached = new();
    private readonly StoreFixture _uncached = new();

    public void Dispose()
    {
        _cached.Dispose();
        _uncached.Dispose();
    }

    private static LabelMatcher Eq(string name, string value) => new(LabelMatchType.Equal, name, value);

    private static LabelSet Labels(int id) => LabelSet.Of("__name__", "m", "id", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Samples <paramref name="from"/> … <paramref name="to"/> − 1 of a series, 15 s apart from T0.</summary>
    private static Sample[] Samples(int id, int from, int to) =>
        [.. Enumerable.Range(from, to - from).Select(k => new Sample(T0 + (k * Step), (id * 1000) + k))];

    /// <summary>Both stores get the same samples.</summary>
    private static void Append(MetricStore a, MetricStore b, int series, int from, int to)
    {
        for (var id = 0; id < series; id++)
        {
            a.Append(Labels(id), Samples(id, from, to));
            b.Append(Labels(id), Samples(id, from, to));
        }
    }

    /// <summary>Both stores answer the same for a few ranges (and the cached one twice, the second from its cache).</summary>
    private static void AssertSameAnswers(MetricStore cached, MetricStore uncached, int expectedSamplesOfAll)
    {
        (long, long)[] ranges =
        [
            (long.MinValue, long.MaxValue), (T0 + (100 * Step), T0 + (700 * Step)), (T0 + (500 * Step), long.MaxValue), (T0 - 1, T0 + (3 * Step)),
        ];
        foreach (var (minT, maxT) in ranges)
        {
            var expected = uncached.Select([Eq("__name__", "m")], minT, maxT);
            for (var repeat = 0; repeat < 2; repeat++)
            {
                var actual = cached.Select([Eq("__name__", "m")], minT, maxT);
                Assert.Equal(expected.Count, actual.Count);
                for (var i = 0; i < expected.Count; i++)
                {
                    Assert.Equal(expected[i].Labels, actual[i].Labels);
                    Assert.Equal(expected[i].Samples, actual[i].Samples);
                }
            }
        }

        Assert.Equal(expectedSamplesOfAll, cached.Select([Eq("__name__", "m")], long.MinValue, long.MaxValue).Sum(s => s.Samples.Length));
    }

    private MetricStore OpenUncached(TimeProvider? time = null, Action<MetricStoreOptions>? configure = null) =>
        _uncached.Open(time, o =>
        {
            configure?.Invoke(o);
            o.ChunkCacheBytes = 0;
        });

    [Fact]
    public void Select_Repeated_IsAnsweredFromTheCache()
    {
        using var cached = _cached.Open();
        using var uncached = OpenUncached();
        Append(cached, uncached, 20, 0, 1000);

        cached.Select([Eq("__name__", "m")], T0, long.MaxValue);
        var first = cached.ChunkCacheStatistics();
        cached.Select([Eq("__name__", "m")], T0 + Step, T0 + (500 * Step));
        var second = cached.ChunkCacheStatistics();

        Assert.Equal((0, 20), (first.Hits, first.Misses));
        Assert.Equal((20, 20), (second.Hits, second.Misses));
        Assert.Equal(20, second.Series);
        Assert.True(second.Bytes > 0);
        AssertSameAnswers(cached, uncached, 20 * 1000);
    }

    [Fact]
    public async Task Select_AfterChunksCloseAndHeadsAreFlushedAndRewritten_SeesEveryRowAsStored()
    {
        using var cached = _cached.Open();
        using var uncached = OpenUncached();
        Append(cached, uncached, 5, 0, 500);
        AssertSameAnswers(cached, uncached, 5 * 500);

        // The head's row is written by a flush, replaced by the next flush, then replaced by the closed chunk.
        await cached.FlushAsync();
        await uncached.FlushAsync();
        AssertSameAnswers(cached, uncached, 5 * 500);
        Append(cached, uncached, 5, 500, 600);
        await cached.FlushAsync();
        await uncached.FlushAsync();
        AssertSameAnswers(cached, uncached, 5 * 600);
        Append(cached, uncached, 5, 600, 900);
        AssertSameAnswers(cached, uncached, 5 * 900);
        await cached.FlushAsync();
        await uncached.FlushAsync();
        Append(cached, uncached, 5, 900, 1000);
        AssertSameAnswers(cached, uncached, 5 * 1000);
    }

    [Fact]
    public void Select_AfterRetentionByAge_DoesNotReturnDeletedChunks()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + (1000 * Step)));
        using var cached = _cached.Open(time, o => o.RetentionAge = TimeSpan.FromHours(2));
        using var uncached = OpenUncached(time, o => o.RetentionAge = TimeSpan.FromHours(2));
        Append(cached, uncached, 5, 0, 1000);
        AssertSameAnswers(cached, uncached, 5 * 1000);

        var result = cached.ApplyRetention();
        uncached.ApplyRetention();

        Assert.True(result.ChunksDeleted > 0);
        var left = uncached.Select([Eq("__name__", "m")], long.MinValue, long.MaxValue).Sum(s => s.Samples.Length);
        Assert.True(left < 5 * 1000);
        AssertSameAnswers(cached, uncached, left);
    }

    [Fact]
    public void Select_AfterRetentionBySizeDeletesWholeSeries_DoesNotReturnThem()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + (5000 * Step)));
        using var cached = _cached.Open(time);
        using var uncached = OpenUncached(time);
        var rng = new Random(7);
        for (var id = 0; id < 10; id++)
        {
            // Noise, so the chunks are large; the first five series end early.
            var samples = Samples(id, 0, id < 5 ? 1000 : 5000).Select(s => new Sample(s.TimestampMs, rng.NextDouble())).ToArray();
            cached.Append(Labels(id), samples);
            uncached.Append(Labels(id), samples);
        }

        var all = uncached.Select([Eq("__name__", "m")], long.MinValue, long.MaxValue).Sum(s => s.Samples.Length);
        AssertSameAnswers(cached, uncached, all);
        var limit = uncached.UsedBytes() / 2;
        cached.Dispose();
        uncached.Dispose();

        using var cachedAgain = _cached.Open(time, o => o.RetentionBytes = limit);
        using var uncachedAgain = OpenUncached(time, o => o.RetentionBytes = limit);
        AssertSameAnswers(cachedAgain, uncachedAgain, all);
        var result = cachedAgain.ApplyRetention();
        uncachedAgain.ApplyRetention();

        Assert.True(result.SeriesDeleted > 0);
        var left = uncachedAgain.Select([Eq("__name__", "m")], long.MinValue, long.MaxValue).Sum(s => s.Samples.Length);
        AssertSameAnswers(cachedAgain, uncachedAgain, left);
    }

    [Fact]
    public void Select_WithASmallBound_KeepsTheCacheUnderItAndAnswersTheSame()
    {
        const long Bound = 20_000;
        using var cached = _cached.Open(configure: o => o.ChunkCacheBytes = Bound);
        using var uncached = OpenUncached();
        Append(cached, uncached, 40, 0, 1000);

        AssertSameAnswers(cached, uncached, 40 * 1000);
        for (var id = 0; id < 40; id++)
        {
            cached.Select([Eq("id", id.ToString(System.Globalization.CultureInfo.InvariantCulture))], long.MinValue, long.MaxValue);
            Assert.InRange(cached.ChunkCacheStatistics().Bytes, 1, Bound);
        }
    }

    [Fact]
    public void Select_OfAnOldRange_IsReadAsAskedAndNotCached()
    {
        using var cached = _cached.Open();
        using var uncached = OpenUncached();
        Append(cached, uncached, 3, 0, 2000);

        var old = cached.Select([Eq("__name__", "m")], T0, T0 + (100 * Step));

        Assert.Equal(3, old.Count);
        Assert.Equal(0, cached.ChunkCacheStatistics().Series);
        AssertSameAnswers(cached, uncached, 3 * 2000);
    }
}
