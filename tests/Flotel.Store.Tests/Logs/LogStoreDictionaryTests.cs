using System.Text;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Microsoft.Data.Sqlite;
using ZstdSharp;

namespace Flotel.Store.Tests.Logs;

/// <summary>The trained zstd dictionary of an index's messages frames (<c>dicts_N</c>; layouts in <see cref="LogBlock"/>).</summary>
public sealed class LogStoreDictionaryTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 0, 0, DateTimeKind.Utc);

    private static readonly string[] Verbs = ["GET", "POST", "PUT", "DELETE"];
    private static readonly string[] Paths = ["orders", "users/profile", "cart/items", "search", "health"];
    private static readonly string[] Users = ["alice", "bob", "carol", "dave", "erin", "frank"];

    // Messages with a shared vocabulary and variable fields, as a service's access lines have: what a dictionary learns.
    private static List<LogEvent> Events(int from, int count)
    {
        var random = new Random(from);
        return [.. Enumerable.Range(from, count).Select(i => TestLogStore.Event(May12.AddSeconds(i),
            $"{Verbs[random.Next(Verbs.Length)]} /api/{Paths[random.Next(Paths.Length)]}/{random.Next(100_000)} from 10.{random.Next(256)}."
            + $"{random.Next(256)}.{random.Next(256)} took {random.Next(2000)} ms user={Users[random.Next(Users.Length)]} request {i}",
            program: "p" + (i % 7), deviceId: "dev" + (i % 3)))];
    }

    private static LogSearchResult Find(LogStore store, LogQuery query, int size, params LogSort[] sort) =>
        store.Search(new LogSearch([.. store.ListIndices().Select(i => i.Name)], query, sort, 0, size), countOnly: false);

    // The answers of a set of searches that read sources and messages: every hit's source, in order, with the totals.
    private static List<string> Answers(LogStore store)
    {
        LogQuery[] queries =
        [
            MatchAllQuery.Instance,
            new MatchQuery("message", "alice", false),
            new PhraseQuery("message", "took 15 ms"),
            new PhraseQuery("message", "GET /api/orders"),
            new MatchQuery("message", "carol POST", true),
            new PrefixQuery("program", "p3"),
        ];
        var answers = new List<string>();
        foreach (LogQuery query in queries)
        {
            LogSearchResult result = Find(store, query, 10_000, new LogSort("@timestamp", true));
            answers.Add($"{query}: {result.Total}");
            answers.AddRange(result.Hits.Select(h => h.Source));
        }

        return answers;
    }

    private static async Task Settle(LogStore store)
    {
        for (int steps = 0; await store.MergeStepAsync() && steps < 10_000; steps++)
        {
        }
    }

    private static List<(long First, long Last, byte[] Data)> Blocks(string databasePath)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand read = connection.CreateCommand();
        read.CommandText = "SELECT first_rowid, last_rowid, data FROM blocks_1 ORDER BY last_rowid";
        using SqliteDataReader reader = read.ExecuteReader();
        var blocks = new List<(long, long, byte[])>();
        while (reader.Read())
        {
            blocks.Add((reader.GetInt64(0), reader.GetInt64(1), (byte[])reader.GetValue(2)));
        }

        return blocks;
    }

    private static void Run(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        _ = command.ExecuteNonQuery();
    }

    // A messages frame's header starts after the block's 12-byte skippable frame.
    private static uint MessagesDictionaryId(byte[] block) => LogBlock.FrameDictionaryId(block.AsSpan(12));

    private static byte[] TrainedDictionary() =>
        DictBuilder.TrainFromBuffer(Events(0, 4000).Select(e => Encoding.UTF8.GetBytes(e.Message!)), LogStore.DictionaryBytes);

    [Fact]
    public void Encode_WithADictionary_FrameNamesItAndDecodesOnlyWithIt()
    {
        byte[] dictionary = TrainedDictionary();
        uint id = LogBlock.DictionaryId(dictionary);
        Assert.NotEqual(0u, id);
        byte[][] sources = [.. Events(5000, 300).Select(e => Flotel.Wire.Logs.LogEventJson.ToUtf8(e))];
        byte[] all = [.. sources.SelectMany(s => s)];
        int[] ends = new int[sources.Length];
        for (int i = 0, end = 0; i < sources.Length; i++)
        {
            end += sources[i].Length;
            ends[i] = end;
        }

        using var compressor = new Compressor(LogStore.RepackLevel);
        byte[] plain = LogBlock.Encode(compressor, all, ends);
        byte[] withDictionary = LogBlock.Encode(compressor, all, ends, dictionary);
        Assert.Equal(0u, MessagesDictionaryId(plain));
        Assert.Equal(id, MessagesDictionaryId(withDictionary));

        using var decompressor = new Decompressor();
        using var loaded = new Decompressor();
        loaded.LoadDictionary(dictionary);
        LogBlock whole = LogBlock.Decode(decompressor, 1, sources.Length, withDictionary, d => d == id ? loaded : null);
        LogBlock messages = LogBlock.DecodeMessages(decompressor, 1, sources.Length, withDictionary, d => d == id ? loaded : null);
        LogBlock without = LogBlock.Decode(decompressor, 1, sources.Length, plain);
        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(sources[i], whole.Source(1 + i).ToArray());
            Assert.Equal(without.Message(1 + i).ToArray(), messages.Message(1 + i).ToArray());
        }

        InvalidDataException missing = Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 1, sources.Length, withDictionary));
        Assert.Contains($"zstd dictionary {id}", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MergeStepAsync_IndexGetsItsDictionaryMidway_AnswersEverySearchAsBefore()
    {
        using var t = new TestLogStore();
        for (int i = 0; i < 6; i++)
        {
            await t.Store.WriteAsync(Events(i * 1000, 1000));
        }

        // Re-packed without a dictionary first (the store's own thresholds are far above this index).
        await Settle(t.Store);
        Assert.Equal(0, t.Store.DictionariesTrained);

        t.Store.DictionaryTraining = (1, 64 * 1024);
        await t.Store.WriteAsync(Events(6000, 1000));
        List<string> before = Answers(t.Store);
        await Settle(t.Store);
        Assert.Equal(1, t.Store.DictionariesTrained);
        byte[] dictionary = Assert.IsType<byte[]>(t.Store.DictionaryOf(t.Store.ListIndices()[0].Name));
        uint id = LogBlock.DictionaryId(dictionary);

        // The blocks re-packed before keep no dictionary; the one re-packed after names it.
        List<(long First, long Last, byte[] Data)> blocks = Blocks(t.Options.DatabasePath);
        Assert.Contains(blocks, b => MessagesDictionaryId(b.Data) == 0);
        Assert.Equal(id, MessagesDictionaryId(blocks[^1].Data));
        Assert.Equal(before, Answers(t.Store));

        t.Reopen();
        Assert.Equal(dictionary, t.Store.DictionaryOf(t.Store.ListIndices()[0].Name));
        Assert.Equal(before, Answers(t.Store));

        // Later blocks, fresh and re-packed, use the dictionary the index was given; it is not trained again.
        t.Store.DictionaryTraining = (1, 64 * 1024);
        await t.Store.WriteAsync(Events(7000, 1000));
        Assert.Equal(id, MessagesDictionaryId(Blocks(t.Options.DatabasePath)[^1].Data));
        await Settle(t.Store);
        Assert.Equal(0, t.Store.DictionariesTrained);
        Assert.Equal(id, MessagesDictionaryId(Blocks(t.Options.DatabasePath)[^1].Data));
        Assert.Equal(8000, Find(t.Store, MatchAllQuery.Instance, 0).Total);
    }

    [Fact]
    public async Task Open_DirectoryWrittenWithoutDictionaries_ReadsItAndTrainsOneForLaterBlocks()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(0, 3000));
        await Settle(t.Store);
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 3000, new LogSort("@timestamp", false)).Hits.Select(h => h.Source)];
        // As a directory of the release before dictionaries: no dicts_N, no block naming one.
        Assert.Equal(0, Blocks(t.Options.DatabasePath).Count(b => MessagesDictionaryId(b.Data) != 0));

        t.Reopen();
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 3000, new LogSort("@timestamp", false)).Hits.Select(h => h.Source));
        t.Store.DictionaryTraining = (1, 64 * 1024);
        // An index not written since the store opened is re-packed already: no block would use a dictionary.
        await Settle(t.Store);
        Assert.Equal(0, t.Store.DictionariesTrained);

        await t.Store.WriteAsync(Events(3000, 3000));
        await Settle(t.Store);
        Assert.Equal(1, t.Store.DictionariesTrained);
        Assert.Equal(3000 + 3000, Find(t.Store, MatchAllQuery.Instance, 0).Total);
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 3000, new LogSort("@timestamp", false)).Hits.Select(h => h.Source));
        Assert.NotEqual(0u, MessagesDictionaryId(Blocks(t.Options.DatabasePath)[^1].Data));
    }

    [Fact]
    public async Task Search_BlockNamingADictionaryTheIndexLacks_FailsWithAClearError()
    {
        using var t = new TestLogStore();
        t.Store.DictionaryTraining = (1, 64 * 1024);
        await t.Store.WriteAsync(Events(0, 3000));
        await Settle(t.Store);
        uint id = LogBlock.DictionaryId(t.Store.DictionaryOf(t.Store.ListIndices()[0].Name)!);
        t.Store.Dispose();
        Run(t.Options.DatabasePath, "DELETE FROM dicts_1");
        t.Reopen();

        SqliteException error = Assert.Throws<SqliteException>(() => Find(t.Store, MatchAllQuery.Instance, 10));
        Assert.Equal(11, error.SqliteErrorCode); // SQLITE_CORRUPT
        Assert.Contains($"zstd dictionary {id}", error.Message, StringComparison.Ordinal);

        // The store goes on: new writes are stored and read.
        await t.Store.WriteAsync(Events(3000, 10));
        Assert.Equal(3010, Find(t.Store, MatchAllQuery.Instance, 0).Total);
    }

    [Fact]
    public async Task Retention_DropsAnIndex_DropsItsDictionaryWithIt()
    {
        using var t = new TestLogStore(o => o.MaxAge = TimeSpan.FromDays(1));
        t.Store.DictionaryTraining = (1, 64 * 1024);
        await t.Store.WriteAsync(Events(0, 3000));
        await Settle(t.Store);
        Assert.Equal(1, t.Store.DictionariesTrained);
        t.Clock.Advance(TimeSpan.FromDays(30));
        await t.Store.WriteAsync([TestLogStore.Event(t.Clock.GetUtcNow().UtcDateTime, "today")]);
        IReadOnlyList<string> dropped = await t.Store.ApplyRetentionAsync();

        Assert.Single(dropped);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = t.Options.DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand tables = connection.CreateCommand();
        tables.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'dicts_1'";
        Assert.Equal(0L, (long)tables.ExecuteScalar()!);
    }
}
