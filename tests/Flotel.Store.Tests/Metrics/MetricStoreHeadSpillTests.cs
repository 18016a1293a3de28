using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Store.Tests.Metrics;

/// <summary>A flushed head's bytes leave memory (MemSeries: spilled heads) and every sample stays readable.</summary>
public sealed class MetricStoreHeadSpillTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();
    private readonly List<string> _copies = [];

    public void Dispose()
    {
        _fixture.Dispose();
        foreach (var dir in _copies)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static LabelMatcher Eq(string name, string value) => new(LabelMatchType.Equal, name, value);

    /// <summary>Samples <paramref name="step"/> apart with values the compact encoding cannot take (the XOR head's worst case).</summary>
    private static Sample[] Random(int count, long start, int seed, long step = 15_000)
    {
        var rng = new Random(seed);
        var samples = new Sample[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = new Sample(start + (i * step), rng.NextDouble() * 1000);
        }

        return samples;
    }

    private static Sample[] All(MetricStore store, string name) =>
        Assert.Single(store.Select([Eq("__name__", name)], long.MinValue, long.MaxValue)).Samples;

    [Fact]
    public async Task Flush_HeadsPastTheirInlineBytes_DropTheirBytesAndQueriesReadTheSameSamples()
    {
        using var store = _fixture.Open();
        var first = Random(200, T0, seed: 1);
        for (var s = 0; s < 10; s++)
        {
            store.Append(LabelSet.Of("__name__", "m" + s), first);
        }

        var before = All(store, "m3");
        var (spilledBefore, bytesBefore) = store.HeadMemory();
        await store.FlushAsync();
        var (spilled, bytes) = store.HeadMemory();

        Assert.Equal(0, spilledBefore);
        Assert.True(bytesBefore > 10 * 200 * 4, $"{bytesBefore} head bytes before the flush");
        Assert.Equal(10, spilled);
        Assert.Equal(10 * XorChunkAppender.HeaderBytes, bytes);
        Assert.Equal(first, before);
        Assert.Equal(first, All(store, "m3"));
        Assert.Equal(first[50..120], Assert.Single(store.Select([Eq("__name__", "m3")], first[50].TimestampMs, first[119].TimestampMs)).Samples);
    }

    [Fact]
    public async Task Append_AfterASpill_QueriesReadTheRowAndTheTailAndTheNextFlushJoinsThem()
    {
        using var store = _fixture.Open();
        var samples = Random(300, T0, seed: 2);
        store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(0, 100));
        await store.FlushAsync();
        store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(100, 5));

        Assert.Equal(samples[..105], All(store, "m"));
        Assert.Equal(samples[98..103], Assert.Single(store.Select([Eq("__name__", "m")], samples[98].TimestampMs, samples[102].TimestampMs)).Samples);
        Assert.Equal(samples[101..104], Assert.Single(store.Select([Eq("__name__", "m")], samples[101].TimestampMs, samples[103].TimestampMs)).Samples);

        await store.FlushAsync();
        store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(105));
        await store.FlushAsync();

        Assert.Equal(samples, All(store, "m"));
        Assert.Equal((1, 1), (store.ChunkStatistics().Chunks, store.HeadMemory().Spilled));
    }

    [Fact]
    public async Task Flush_BetweenEverySample_LeavesTheSameRowsAsOneFlushAtTheEnd()
    {
        // Closed at 100 samples: the joined chunks must be the bytes a head kept whole in memory would have closed to.
        var samples = Random(250, T0, seed: 3);
        async Task<(long, long)> Stats(string dir, int flushEvery)
        {
            using var store = MetricStore.Open(new MetricStoreOptions { DataDirectory = dir, MaxSamplesPerChunk = 100 });
            for (var i = 0; i < samples.Length; i += flushEvery)
            {
                store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(i, Math.Min(flushEvery, samples.Length - i)));
                await store.FlushAsync();
            }

            Assert.Equal(samples, All(store, "m"));
            return store.ChunkStatistics();
        }

        var often = await Stats(Path.Combine(_fixture.DataDirectory, "often"), 1);
        var once = await Stats(Path.Combine(_fixture.DataDirectory, "once"), samples.Length);

        Assert.Equal(once, often);
        Assert.Equal(3, once.Item1);
    }

    [Fact]
    public async Task Restart_FromTheFilesAsAKillLeavesThem_ReadsEveryFlushedSample()
    {
        var samples = Random(130, T0, seed: 4);
        var copy = Path.Combine(Path.GetTempPath(), "flotel-metricstore-copy-" + Guid.NewGuid().ToString("N"));
        _copies.Add(copy);
        using (var store = _fixture.Open())
        {
            store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(0, 60));
            await store.FlushAsync();
            store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(60, 60));
            await store.FlushAsync();
            store.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(120));

            // The store is open and its last samples only in memory: a copy of its files is what kill -9 leaves.
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(_fixture.DataDirectory))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }

            Assert.Equal(samples, All(store, "m"));
        }

        using (var restarted = MetricStore.Open(new MetricStoreOptions { DataDirectory = copy }))
        {
            Assert.Equal(samples[..120], All(restarted, "m"));
            var replay = restarted.Append(LabelSet.Of("__name__", "m"), samples.AsSpan(100));
            Assert.Equal(new AppendResult(10, 19, 1, 0), replay);
            Assert.Equal(samples, All(restarted, "m"));
        }

        using var reopened = _fixture.Open();
        Assert.Equal(samples, All(reopened, "m"));
    }

    [Fact]
    public async Task ApplyRetention_DeletingASpilledHeadsRow_LeavesItsTailAsTheHead()
    {
        // Heads span up to 4 h and samples are kept 30 min: the row of a spilled head can age out while its tail is new.
        var minute = TimeSpan.FromMinutes(1).Ticks / TimeSpan.TicksPerMillisecond;
        var old = Random(200, T0, seed: 5, step: minute);
        var recent = Random(30, T0 + (230 * minute), seed: 6, step: minute);
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(recent[^1].TimestampMs));
        using var store = _fixture.Open(time, o => (o.MaxChunkSpan, o.RetentionAge) = (TimeSpan.FromHours(4), TimeSpan.FromMinutes(30)));
        store.Append(LabelSet.Of("__name__", "m"), old);
        await store.FlushAsync();
        store.Append(LabelSet.Of("__name__", "m"), recent.AsSpan(0, 10));

        var result = store.ApplyRetention();
        Assert.Equal(new RetentionResult(1, 0), result);
        Assert.Equal(recent[..10], All(store, "m"));

        await store.FlushAsync();
        store.Append(LabelSet.Of("__name__", "m"), recent.AsSpan(10));
        Assert.Equal(recent, All(store, "m"));
        await store.FlushAsync();
        Assert.Equal(recent, All(store, "m"));
        Assert.Equal(1, store.ChunkStatistics().Chunks);
    }
}
