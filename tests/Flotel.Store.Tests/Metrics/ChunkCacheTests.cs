using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class ChunkCacheTests
{
    private static ChunkCache.CachedChunk[] Chunks(int count, int bytes, long start = 0) =>
        [.. Enumerable.Range(0, count).Select(i => new ChunkCache.CachedChunk(start + (i * 100), start + (i * 100) + 99, new byte[bytes]))];

    private static long SizeOf(int chunks, int bytes) => ChunkCache.EntryOverheadBytes + ((long)chunks * (bytes + ChunkCache.ChunkOverheadBytes));

    [Fact]
    public void Put_BeyondTheBound_EvictsTheLeastRecentlyUsedSeries()
    {
        var cache = new ChunkCache(3 * SizeOf(4, 100));
        cache.Put(1, 0, Chunks(4, 100));
        cache.Put(2, 0, Chunks(4, 100));
        cache.Put(3, 0, Chunks(4, 100));
        Assert.True(cache.TryGet(1, 0, out _)); // 2 is now the least recently used

        cache.Put(4, 0, Chunks(4, 100));

        Assert.Equal(3, cache.Count);
        Assert.Equal(3 * SizeOf(4, 100), cache.Bytes);
        Assert.False(cache.TryGet(2, 0, out _));
        Assert.True(cache.TryGet(1, 0, out _));
        Assert.True(cache.TryGet(3, 0, out _));
        Assert.True(cache.TryGet(4, 0, out _));
    }

    [Fact]
    public void Put_ManySeries_NeverHoldsMoreThanTheBound()
    {
        const long Bound = 50_000;
        var cache = new ChunkCache(Bound);
        var rng = new Random(5);
        for (var id = 0; id < 2_000; id++)
        {
            cache.Put(id % 300, 0, Chunks(rng.Next(1, 20), rng.Next(1, 600)));
            if (id % 7 == 0)
            {
                cache.Written(rng.Next(300), 10_000 + id, 10_000 + id, new byte[rng.Next(1, 600)]);
            }

            Assert.InRange(cache.Bytes, 0, Bound);
        }

        Assert.True(cache.Count > 1);
    }

    [Fact]
    public void Put_AnEntryLargerThanTheBound_IsNotKept()
    {
        var cache = new ChunkCache(SizeOf(2, 100));
        cache.Put(1, 0, Chunks(2, 100));
        cache.Put(2, 0, Chunks(3, 100));

        Assert.True(cache.TryGet(1, 0, out _));
        Assert.False(cache.TryGet(2, 0, out _));
        Assert.Equal(SizeOf(2, 100), cache.Bytes);
    }

    [Fact]
    public void TryGet_FromBeforeTheEntryStart_Misses()
    {
        var cache = new ChunkCache(1 << 20);
        cache.Put(1, 500, Chunks(3, 10, start: 500));

        Assert.True(cache.TryGet(1, 500, out var chunks));
        Assert.Equal(3, chunks.Length);
        Assert.True(cache.TryGet(1, 900, out _));
        Assert.False(cache.TryGet(1, 499, out _));
        Assert.Equal(2, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void Written_SameMinT_ReplacesTheRowAndANewOneIsInsertedInOrder()
    {
        var cache = new ChunkCache(1 << 20);
        cache.Put(1, 0, Chunks(3, 10)); // rows at 0, 100, 200
        Assert.True(cache.TryGet(1, 0, out var before));
        var rewritten = new byte[] { 1, 2, 3 };

        cache.Written(1, 100, 150, rewritten);
        cache.Written(1, 300, 399, [4]);
        cache.Written(1, 250, 260, [5]);

        Assert.True(cache.TryGet(1, 0, out var after));
        Assert.Equal([0L, 100, 200, 250, 300], after.Select(c => c.MinT));
        Assert.Same(rewritten, after[1].Data);
        Assert.Equal(150, after[1].MaxT);
        Assert.Equal(3, before.Length); // a query holding the old array keeps what it read
        Assert.Equal(SizeOf(5, 10) - (10 * 3) + 3 + 1 + 1, cache.Bytes);
    }

    [Fact]
    public void Written_ForAnUncachedSeriesOrBeforeTheEntry_ChangesNothing()
    {
        var cache = new ChunkCache(1 << 20);
        cache.Put(1, 1_000, Chunks(1, 10, start: 1_000));

        cache.Written(2, 0, 10, [1]);
        cache.Written(1, 0, 999, [1]);

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(1, 1_000, out var chunks));
        Assert.Single(chunks);
    }

    [Fact]
    public void ZeroBound_KeepsNothing()
    {
        var cache = new ChunkCache(0);
        cache.Put(1, 0, Chunks(1, 1));
        Assert.False(cache.TryGet(1, 0, out _));
        Assert.Equal(0, cache.Bytes);
    }
}
