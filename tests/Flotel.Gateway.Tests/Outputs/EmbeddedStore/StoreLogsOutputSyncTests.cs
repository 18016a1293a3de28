using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Outputs.EmbeddedStore;

/// <summary>
/// <c>store-logs</c> moves its queue cursor only over batches a sync point of the store made durable: what a power loss
/// may take from the store (commits with <c>synchronous=NORMAL</c> since the last sync) is still queued. The clock is
/// fake, so no sync interval passes unless a test advances it.
/// </summary>
public sealed class StoreLogsOutputSyncTests
{
    private static readonly DateTime Received = new(2022, 5, 13, 1, 30, 5, DateTimeKind.Utc);

    [Fact]
    public async Task StoreLogs_BatchesCommittedWithinOneSyncInterval_CursorWaitsForOneSyncPoint()
    {
        await using var fixture = new HttpOutputFixture();
        using var logs = OpenStore(fixture.Directory);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        // More records than one read takes: two batches, two transactions.
        const int Records = 520;
        for (var i = 0; i < Records; i++)
        {
            await fixture.AppendSyslogAsync(Received, "10.0.0.7", $"<13>May 12 20:22:01 host app[1]: line {i}");
        }

        await using var output = new StoreLogsOutput(fixture.Context with { Time = clock }, logs, new EmbeddedStoreCounters(new MetricsRegistry()));
        output.Start();
        await Eventually(async () => (await logs.ReadPositionAsync(StoreLogsOutput.ReaderName))?.Sequence == Records);

        Assert.Equal(Records, Documents(logs));
        Assert.Equal(0, logs.Syncs);
        Assert.Equal(0, Committed(fixture.Queue));

        clock.Advance(EmbeddedStoreOutput.LogsSyncInterval);
        await Eventually(() => Task.FromResult(Committed(fixture.Queue) == Records));
        Assert.Equal(1, logs.Syncs);
        await output.StopAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task StoreLogs_Stopped_SyncsAndCommitsEverythingStored()
    {
        await using var fixture = new HttpOutputFixture();
        using var logs = OpenStore(fixture.Directory);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:01 host app[1]: one", "<13>May 12 20:22:02 host app[1]: two");
        await fixture.AppendBulkAsync(("logs-a", null!, false, "{\"message\":\"three\"}"));

        await using var output = new StoreLogsOutput(fixture.Context with { Time = clock }, logs, new EmbeddedStoreCounters(new MetricsRegistry()));
        output.Start();
        await Eventually(async () => (await logs.ReadPositionAsync(StoreLogsOutput.ReaderName))?.Sequence == 2);
        Assert.Equal(0, Committed(fixture.Queue));

        await output.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, Committed(fixture.Queue));
        Assert.Equal(1, logs.Syncs);
        Assert.Equal(3, Documents(logs));
    }

    [Fact]
    public async Task StoreLogs_PowerLossAfterUnsyncedCommits_QueueDeliversThemAgainAndEachLineIsStoredOnce()
    {
        await using var fixture = new HttpOutputFixture();
        var directory = Path.Combine(fixture.Directory, "before");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var counters = new EmbeddedStoreCounters(new MetricsRegistry());
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:01 host app[1]: one", "<13>May 12 20:22:02 host app[1]: two");
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:03 host app[1]: three");
        var survived = Path.Combine(fixture.Directory, "after");
        using var logs = OpenStore(directory);
        await using (var output = new StoreLogsOutput(fixture.Context with { Time = clock }, logs, counters))
        {
            output.Start();
            await Eventually(async () => (await logs.ReadPositionAsync(StoreLogsOutput.ReaderName))?.Sequence == 2);
            clock.Advance(EmbeddedStoreOutput.LogsSyncInterval);
            await Eventually(() => Task.FromResult(Committed(fixture.Queue) == 2));

            // What a power loss leaves: the files as they were at the sync point (nothing is written while the output waits).
            CopyStoreFiles(directory, survived);

            // One record: the output reads it at once and then waits for its linger, which the fake clock never ends.
            await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:04 host app[1]: four", "<13>May 12 20:22:05 host app[1]: five");
            await Eventually(async () => (await logs.ReadPositionAsync(StoreLogsOutput.ReaderName))?.Sequence == 3);
            Assert.Equal(5, Documents(logs));
            Assert.Equal(2, Committed(fixture.Queue));

            // The power goes: the store is gone before the next sync point, so the stop cannot move the cursor.
            logs.Dispose();
            await output.StopAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(2, Committed(fixture.Queue));
        using var restored = OpenStore(survived);
        Assert.Equal(3, Documents(restored));
        var metrics = new MetricsRegistry();
        await using (var again = new StoreLogsOutput(fixture.Context with { Metrics = metrics }, restored, new EmbeddedStoreCounters(metrics)))
        {
            again.Start();
            await Eventually(() => Task.FromResult(Committed(fixture.Queue) == 3));
            await again.StopAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(5, Documents(restored));
        Assert.Equal(0, metrics.Sum("flotel_store_log_replay_skipped_total"));
        Assert.Equal(2, metrics.Sum("flotel_store_log_events_total"));
        Assert.Equal(new LogStorePosition(StoreLogsOutput.ReaderName, fixture.Queue.Identity, 3), await restored.ReadPositionAsync(StoreLogsOutput.ReaderName));
    }

    private static LogStore OpenStore(string directory) =>
        LogStore.Open(new LogStoreOptions { DataDirectory = Path.Combine(directory, "logs"), MaxAge = null });

    private static void CopyStoreFiles(string from, string to)
    {
        var target = Directory.CreateDirectory(Path.Combine(to, "logs")).FullName;
        foreach (var name in new[] { "logs.db", "logs.db-wal" })
        {
            var source = Path.Combine(from, "logs", name);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(target, name));
            }
        }
    }

    private static long Documents(LogStore logs) => logs.ListIndices().Sum(i => i.DocumentCount);

    private static long Committed(DurableQueue queue) =>
        queue.GetStats().Readers.Single(r => r.Name == StoreLogsOutput.ReaderName).CommittedSequence;

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(20);
        }
    }
}
