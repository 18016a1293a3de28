using System.Text;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>The queue position a batch stores with its rows (<see cref="LogStore.WriteBatchAsync"/>).</summary>
public sealed class LogStorePositionTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 22, 1, DateTimeKind.Utc);

    private static long Documents(LogStore store) => store.ListIndices().Sum(i => i.DocumentCount);

    private static LogDocument Document(string message) => new("logs-a", null, Encoding.UTF8.GetBytes("{\"message\":\"" + message + "\"}"));

    [Fact]
    public async Task ReadPosition_NewStore_IsNull()
    {
        using var t = new TestLogStore();

        Assert.Null(await t.Store.ReadPositionAsync("store-logs"));
    }

    [Fact]
    public async Task WriteBatch_EventsDocumentsAndPosition_AllThereAfterReopen()
    {
        using var t = new TestLogStore();
        await t.Store.WriteBatchAsync(
            [TestLogStore.Event(May12, "one"), TestLogStore.Event(May12, "two")], [Document("three")], new LogStorePosition("store-logs", "q1", 7));

        t.Reopen();

        Assert.Equal(new LogStorePosition("store-logs", "q1", 7), await t.Store.ReadPositionAsync("store-logs"));
        Assert.Equal(3, Documents(t.Store));
    }

    [Fact]
    public async Task WriteBatch_LaterBatch_ReplacesThePositionOfItsSourceOnly()
    {
        using var t = new TestLogStore();
        await t.Store.WriteBatchAsync([TestLogStore.Event(May12, "one")], [], new LogStorePosition("store-logs", "q1", 7));
        await t.Store.WriteBatchAsync([], [Document("two")], new LogStorePosition("other", "q1", 3));
        await t.Store.WriteBatchAsync([TestLogStore.Event(May12, "three")], [], new LogStorePosition("store-logs", "q2", 2));

        Assert.Equal(new LogStorePosition("store-logs", "q2", 2), await t.Store.ReadPositionAsync("store-logs"));
        Assert.Equal(new LogStorePosition("other", "q1", 3), await t.Store.ReadPositionAsync("other"));
        Assert.Equal(3, Documents(t.Store));
    }

    [Fact]
    public async Task WriteWithoutPosition_DirectBulkAndEvents_LeaveTheStoredPosition()
    {
        using var t = new TestLogStore();
        await t.Store.WriteBatchAsync([TestLogStore.Event(May12, "one")], [], new LogStorePosition("store-logs", "q1", 7));

        // Documents written straight into the store (as the API tests do) and plain event writes come from no queue.
        _ = await t.Store.WriteDocumentsAsync([Document("two")]);
        await t.Store.WriteAsync([TestLogStore.Event(May12, "three")]);

        Assert.Equal(new LogStorePosition("store-logs", "q1", 7), await t.Store.ReadPositionAsync("store-logs"));
        Assert.Equal(3, Documents(t.Store));
    }

    [Fact]
    public async Task WriteBatch_DocumentsOfABatch_AnswerAsWriteDocuments()
    {
        using var t = new TestLogStore();
        var created = new LogDocument("logs-a", "x", "{\"message\":\"a\"}"u8.ToArray(), CreateOnly: true);

        var first = await t.Store.WriteBatchAsync([], [created], new LogStorePosition("store-logs", "q1", 1));
        var again = await t.Store.WriteBatchAsync(
            [], [created, new LogDocument("logs-a", "y", "[1]"u8.ToArray())], new LogStorePosition("store-logs", "q1", 2));

        Assert.Equal(LogDocumentOutcome.Created, Assert.Single(first).Outcome);
        Assert.Equal([LogDocumentOutcome.Conflict, LogDocumentOutcome.Invalid], again.Select(r => r.Outcome));
        Assert.Equal(1, Documents(t.Store));
    }

    [Fact]
    public async Task Sync_AfterBatches_CommitsOneSyncPointEachThatALaterReaderSees()
    {
        using var t = new TestLogStore();
        await t.Store.WriteBatchAsync([TestLogStore.Event(May12, "one")], [], new LogStorePosition("store-logs", "q1", 1));
        await t.Store.SyncAsync();
        await t.Store.WriteBatchAsync([TestLogStore.Event(May12, "two")], [], new LogStorePosition("store-logs", "q1", 2));
        var walBeforeSync = t.Store.WalBytes;
        await t.Store.SyncAsync();

        // A sync point is a transaction of its own: it appends a frame to the WAL (a commit that changes nothing syncs nothing).
        Assert.True(t.Store.WalBytes > walBeforeSync);
        Assert.Equal(2, t.Store.Syncs);
        using var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={t.Options.DatabasePath};Mode=ReadOnly;Pooling=False");
        reader.Open();
        using var count = reader.CreateCommand();
        count.CommandText = "SELECT count FROM sync_points WHERE id = 1";
        Assert.Equal(2L, count.ExecuteScalar());
    }
}
