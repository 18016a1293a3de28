using Flotel.Model.Logs;
using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>Bytes on disk: the WAL kept small while writing and gone after a clean stop, and retention by size.</summary>
public sealed class LogStoreDiskTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 22, 1, DateTimeKind.Utc);

    // About 1 MB of _source per batch, with words that vary so the full-text index grows as with real lines; with
    // randomWords the padding is random hex words (about 0.5 MB per batch once compressed in blocks, where the x's
    // compress to almost nothing).
    private static List<LogEvent> Batch(int batch, int events = 2000, bool randomWords = false)
    {
        var random = new Random(batch);
        return [.. Enumerable.Range(0, events).Select(i => TestLogStore.Event(May12.AddMilliseconds((batch * events) + i),
            $"batch{batch} event{i} user{i % 97} GET /api/v1/items/{(batch * 7919) + i} status {200 + (i % 5)} took {i % 1000} ms "
            + (randomWords ? TestLogStore.RandomWords(random, 200 + (i % 300)) : new string('x', 200 + (i % 300)))))];
    }

    private static async Task WaitForCheckpointerAsync(LogStore store)
    {
        // A safety limit only: the checkpointer finishes long before on any machine.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!store.CheckpointerIdle && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(store.CheckpointerIdle, "the background checkpoint did not finish");
    }

    [Fact]
    public async Task WriteAsync_ManyBatches_WalStaysNearItsCheckpointSizeAndAfterDisposeIsGone()
    {
        using var t = new TestLogStore();
        long largest = 0;
        for (int batch = 0; batch < 40; batch++)
        {
            await t.Store.WriteAsync(Batch(batch, randomWords: true));
            largest = Math.Max(largest, t.Store.WalBytes);
            await WaitForCheckpointerAsync(t.Store);
        }

        // ~40 MB of _source went through the WAL; it never held much more than one checkpoint's worth and a batch.
        Assert.True(largest <= 2 * LogStore.CheckpointWalBytes, $"the WAL reached {largest} bytes");
        Assert.True(t.Store.BackgroundCheckpoints > 1, "no background checkpoints ran");
        Assert.Equal(80_000, Assert.Single(t.Store.ListIndices()).DocumentCount);

        string wal = t.Options.DatabasePath + "-wal";
        t.Store.Dispose();
        Assert.False(File.Exists(wal) && new FileInfo(wal).Length > 0, "a WAL was left after a clean stop");
        t.Reopen();
        Assert.Equal(80_000, Assert.Single(t.Store.ListIndices()).DocumentCount);
    }

    [Fact]
    public async Task WriteAsync_SmallDatabase_WalStaysNearATenthOfItInsteadOfTheFullCheckpointSize()
    {
        using var t = new TestLogStore();
        long largest = 0;
        for (int batch = 0; batch < 120; batch++)
        {
            await t.Store.WriteAsync(Batch(batch, events: 200, randomWords: true));
            largest = Math.Max(largest, t.Store.WalBytes);
            await WaitForCheckpointerAsync(t.Store);
        }

        // ~12 MB of _source, a database of ~14 MB: its threshold is 1–1.4 MiB, far below the fixed 8 MiB, and the WAL never
        // held more than that, a batch and one idle re-pack's rewrite of the small blocks (about 1.5 MB here; 3 MiB allowed).
        long database = new FileInfo(t.Options.DatabasePath).Length;
        Assert.True(database / 10 < LogStore.CheckpointWalBytes / 4, $"the database ({database} bytes) is too large for this test");
        long repack = 3 * LogStore.MinCheckpointWalBytes;
        Assert.True(largest <= Math.Max(LogStore.MinCheckpointWalBytes, database / 10) + repack, $"the WAL reached {largest} bytes");
        Assert.Equal(24_000, Assert.Single(t.Store.ListIndices()).DocumentCount);
    }

    [Fact]
    public async Task WriteAsync_ContinuousIngestUnderMaxBytes_FileStopsGrowingAndTheNewestStaySearchable()
    {
        // Reached within the first half of the batches (about 170 kB per batch in use), so the second half shows the file
        // holding still under the limit.
        const long limit = 2 * 1024 * 1024;
        using var t = new TestLogStore(o => o.MaxBytes = limit);
        var sizes = new List<long>();
        const int batches = 30;
        for (int batch = 0; batch < batches; batch++)
        {
            await t.Store.WriteAsync(Batch(batch));
            await WaitForCheckpointerAsync(t.Store);
            sizes.Add(t.Store.DatabaseBytes());
        }

        // ~30 MB of _source into a 2 MiB bound: without deletions and page reuse the file would pass 40 MB.
        long largestSecondHalf = sizes.Skip(batches / 2).Max();
        Assert.True(largestSecondHalf <= 2 * limit, $"the database grew to {largestSecondHalf} bytes: {string.Join(", ", sizes)}");
        Assert.True(sizes[^1] <= sizes[batches / 2] + (limit / 2), $"the file kept growing: {string.Join(", ", sizes)}");
        Assert.True(t.Store.UsedBytes() <= limit + (limit / 2), $"{t.Store.UsedBytes()} bytes in use");

        // The oldest went first; the newest batch is whole and searchable by a word of its own.
        (long byAge, long bySize) = t.Store.RetentionDeletedEvents;
        Assert.Equal(0, byAge);
        long kept = Assert.Single(t.Store.ListIndices()).DocumentCount;
        Assert.Equal(batches * 2000, kept + bySize);
        Assert.Equal(0, t.Store.Search(new LogSearch(["logstash-2022.05.12"], new MatchQuery("message", "batch0", false), [], 0, 0), countOnly: true).Total);
        var lastBatch = new LogSearch(["logstash-2022.05.12"], new MatchQuery("message", $"batch{batches - 1}", false), [], 0, 0);
        Assert.Equal(2000, t.Store.Search(lastBatch, countOnly: true).Total);
        Assert.Equal(kept, t.Store.Search(new LogSearch(["logstash-2022.05.12"], new ExistsQuery("message"), [], 0, 0), countOnly: true).Total);
    }
}
