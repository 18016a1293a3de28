using Flotel.Model.Logs;
using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>What an index takes in logs.db (<c>_cat/indices</c>' store.size), measured on a real store.</summary>
public sealed class LogStoreStoredBytesTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime May13 = new(2022, 5, 13, 10, 0, 0, DateTimeKind.Utc);

    // 2,000 events of about 600 bytes of message each: repetitive lines (zstd and the full-text index make little of
    // them) or random hex words (every word a new term, and hex compresses only to about half).
    private static List<LogEvent> Events(DateTime day, bool random, int events = 2000)
    {
        var rng = new Random(7);
        return [.. Enumerable.Range(0, events).Select(i => TestLogStore.Event(day.AddMilliseconds(i),
            random ? TestLogStore.RandomWords(rng, 600) : "GET /api/v1/items status 200 " + new string('x', 570)))];
    }

    [Fact]
    public async Task StoredBytes_RepetitiveEvents_AreFarBelowTheirSourceBytes()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(May12, random: false));

        LogIndexInfo index = Assert.Single(t.Store.ListIndices());
        long stored = t.Store.StoredBytes([index.Name])[index.Name];

        // The rows alone (id, timestamp, value ids) take tens of bytes per event; the 1.2 MB of _source compress to little.
        Assert.InRange(stored, 2000 * 10, index.SourceBytes / 4);
    }

    [Fact]
    public async Task StoredBytes_TwoIndicesOfEqualSourceBytes_FollowWhatIsStoredAndFitInTheFile()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(May12, random: false));
        await t.Store.WriteAsync(Events(May13, random: true));

        IReadOnlyList<LogIndexInfo> indices = t.Store.ListIndices();
        IReadOnlyDictionary<string, long> stored = t.Store.StoredBytes(indices.Select(i => i.Name));

        long repetitive = stored["logstash-2022.05.12"];
        long random = stored["logstash-2022.05.13"];
        Assert.InRange(indices[1].SourceBytes, indices[0].SourceBytes * 9 / 10, indices[0].SourceBytes * 11 / 10);
        Assert.True(random > 4 * repetitive, $"random {random} B, repetitive {repetitive} B");
        // Records without page slack: together never more than the pages the database uses.
        Assert.True(repetitive + random <= t.Store.UsedBytes(), $"{repetitive} + {random} B > {t.Store.UsedBytes()} B used");
        Assert.True(random >= t.Store.UsedBytes() / 2, $"random {random} B of {t.Store.UsedBytes()} B used");
    }

    [Fact]
    public async Task StoredBytes_AfterMoreEventsAndADeletedIndex_MeasuresAgainAndLeavesUnknownNamesOut()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(May12, random: true, events: 200));
        await t.Store.WriteAsync(Events(May13, random: true, events: 200));
        long before = t.Store.StoredBytes(["logstash-2022.05.12"])["logstash-2022.05.12"];

        await t.Store.WriteAsync(Events(May12.AddHours(1), random: true, events: 2000));
        Assert.True(await t.Store.DeleteIndexAsync("logstash-2022.05.13"));
        IReadOnlyDictionary<string, long> after = t.Store.StoredBytes(["logstash-2022.05.12", "logstash-2022.05.13", "nothing"]);

        Assert.Equal(["logstash-2022.05.12"], after.Keys);
        Assert.True(after["logstash-2022.05.12"] > 5 * before, $"{before} B, then {after["logstash-2022.05.12"]} B");
    }

    [Fact]
    public async Task StoredBytes_EmptyPartialIndexOfRowsWithoutTimestamp_CountsNothing()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(May12, random: false));
        string name = Assert.Single(t.Store.ListIndices()).Name;
        long stored = t.Store.StoredBytes([name])[name];

        // docs_1_nots holds only rows without @timestamp: none here, so without it the index measures the same.
        t.Store.Dispose();
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = t.Options.DatabasePath, Pooling = false }.ToString()))
        {
            connection.Open();
            using Microsoft.Data.Sqlite.SqliteCommand drop = connection.CreateCommand();
            drop.CommandText = "DROP INDEX docs_1_nots";
            _ = drop.ExecuteNonQuery();
        }

        t.Reopen();
        Assert.Equal(stored, t.Store.StoredBytes([name])[name]);
    }
}
