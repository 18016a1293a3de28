using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;

namespace Flotel.Gateway.Tests.Outputs.EmbeddedStore;

/// <summary>
/// <c>store-logs</c> after a crash between the store's commit and the queue cursor's: the queue delivers the batch again
/// and the store's own position decides what is stored.
/// </summary>
public sealed class StoreLogsOutputReplayTests
{
    private static readonly DateTime Received = new(2022, 5, 13, 1, 30, 5, DateTimeKind.Utc);

    [Fact]
    public async Task StoreLogs_ReplayedAfterTheStoreCommittedButNotTheCursor_StoresEachLineOnce()
    {
        await using var fixture = new HttpOutputFixture();
        using var logs = OpenStore(fixture.Directory);

        // Keeps every segment, so the records the first run committed can be delivered again.
        using var holder = fixture.Queue.OpenReader("holder");
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:01 host app[1]: one", "<13>May 12 20:22:02 host app[1]: two");
        await fixture.AppendBulkAsync(("logs-a", null!, false, "{\"message\":\"three\"}"));
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:03 host app[1]: four");
        await RunUntilDrainedAsync(fixture, logs, new MetricsRegistry());
        Assert.Equal(4, Documents(logs));

        // The crash: the store holds the batches, the cursor never moved (a reader made again starts at the oldest record).
        Assert.True(fixture.Queue.DeleteReader(StoreLogsOutput.ReaderName));
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:04 host app[1]: five");
        var metrics = new MetricsRegistry();
        await RunUntilDrainedAsync(fixture, logs, metrics);

        Assert.Equal(5, Documents(logs));
        Assert.Equal(4, metrics.Sum("flotel_store_log_replay_skipped_total"));
        Assert.Equal(1, metrics.Sum("flotel_store_log_events_total"));
        Assert.Equal(0, metrics.Sum("flotel_store_bulk_documents_total"));
        Assert.Equal(new LogStorePosition(StoreLogsOutput.ReaderName, fixture.Queue.Identity, 4), await logs.ReadPositionAsync(StoreLogsOutput.ReaderName));
    }

    [Fact]
    public async Task StoreLogs_PositionOfAnotherQueue_SkipsNothing()
    {
        await using var first = new HttpOutputFixture();
        using var logs = OpenStore(first.Directory);
        for (var i = 0; i < 3; i++)
        {
            await first.AppendSyslogAsync(Received, "10.0.0.7", $"<13>May 12 20:22:0{i} host app[1]: first queue {i}");
        }

        await RunUntilDrainedAsync(first, logs, new MetricsRegistry());

        // A wiped queue directory: sequence ids start again at 1, under a new identity.
        await using var second = new HttpOutputFixture();
        await second.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:05 host app[1]: second queue 0");
        await second.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:06 host app[1]: second queue 1");
        var metrics = new MetricsRegistry();
        await RunUntilDrainedAsync(second, logs, metrics);

        Assert.NotEqual(first.Queue.Identity, second.Queue.Identity);
        Assert.Equal(5, Documents(logs));
        Assert.Equal(0, metrics.Sum("flotel_store_log_replay_skipped_total"));
        Assert.Equal(new LogStorePosition(StoreLogsOutput.ReaderName, second.Queue.Identity, 2), await logs.ReadPositionAsync(StoreLogsOutput.ReaderName));
    }

    [Fact]
    public async Task StoreLogs_StoreDeletedWhileTheQueueRemains_StoresWhatTheQueueDeliversAgain()
    {
        await using var fixture = new HttpOutputFixture();
        using var holder = fixture.Queue.OpenReader("holder");
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:01 host app[1]: one", "<13>May 12 20:22:02 host app[1]: two");
        using (var logs = OpenStore(Path.Combine(fixture.Directory, "old")))
        {
            await RunUntilDrainedAsync(fixture, logs, new MetricsRegistry());
        }

        Assert.True(fixture.Queue.DeleteReader(StoreLogsOutput.ReaderName));
        using var fresh = OpenStore(Path.Combine(fixture.Directory, "new"));
        var metrics = new MetricsRegistry();
        await RunUntilDrainedAsync(fixture, fresh, metrics);

        Assert.Equal(2, Documents(fresh));
        Assert.Equal(0, metrics.Sum("flotel_store_log_replay_skipped_total"));
    }

    private static LogStore OpenStore(string directory) =>
        LogStore.Open(new LogStoreOptions { DataDirectory = Path.Combine(directory, "logs"), MaxAge = null });

    private static long Documents(LogStore logs) => logs.ListIndices().Sum(i => i.DocumentCount);

    /// <summary>Runs <c>store-logs</c> until its cursor is at the queue's last record, then stops it.</summary>
    private static async Task RunUntilDrainedAsync(HttpOutputFixture fixture, LogStore logs, MetricsRegistry metrics)
    {
        var context = fixture.Context with { Metrics = metrics };
        await using var output = new StoreLogsOutput(context, logs, new EmbeddedStoreCounters(metrics));
        output.Start();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Committed(fixture.Queue) < fixture.Queue.GetStats().LastSequence)
        {
            Assert.True(DateTime.UtcNow < deadline, "store-logs did not commit the queue within 30 s");
            await Task.Delay(20);
        }

        await output.StopAsync(TimeSpan.FromSeconds(10));
    }

    private static long Committed(DurableQueue queue) =>
        queue.GetStats().Readers.Single(r => r.Name == StoreLogsOutput.ReaderName).CommittedSequence;
}
