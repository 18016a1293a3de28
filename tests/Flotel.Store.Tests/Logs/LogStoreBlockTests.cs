using System.Text;
using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Microsoft.Data.Sqlite;
using ZstdSharp;

namespace Flotel.Store.Tests.Logs;

/// <summary>The <c>_source</c> blocks of the log store (schema in <see cref="LogStore"/>).</summary>
public sealed class LogStoreBlockTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 0, 0, DateTimeKind.Utc);

    private static LogSearchResult Find(LogStore store, LogQuery query, int size = 100, params LogSort[] sort) =>
        store.Search(new LogSearch([.. store.ListIndices().Select(i => i.Name)], query, sort, 0, size), countOnly: false);

    private static List<LogEvent> Events(int from, int count, string text = "event") =>
        [.. Enumerable.Range(from, count)
            .Select(i => TestLogStore.Event(May12.AddSeconds(i), $"{text} {i}", program: "p" + (i % 7), deviceId: "dev" + (i % 3)))];

    private static long Scalar(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Run(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        _ = command.ExecuteNonQuery();
    }

    [Fact]
    public async Task WriteAsync_Events_SourcesLiveInCompressedBlocksAndReadBackExactly()
    {
        using var t = new TestLogStore();
        List<LogEvent> events = Events(0, 3000);
        await t.Store.WriteAsync(events);

        string db = t.Options.DatabasePath;
        Assert.Equal(0, Scalar(db, "SELECT count(*) FROM docs_1 WHERE source <> ''"));
        long blocks = Scalar(db, "SELECT count(*) FROM blocks_1");
        Assert.InRange(blocks, 1, 3);
        long sourceBytes = Scalar(db, "SELECT sum(source_bytes) FROM blocks_1");
        Assert.Equal(t.Store.ListIndices()[0].SourceBytes, sourceBytes);
        Assert.True(Scalar(db, "SELECT sum(length(data)) FROM blocks_1") * 5 < sourceBytes, "blocks are not compressed");

        Dictionary<string, string> expected = events.ToDictionary(e => e.Message!, e => Encoding.UTF8.GetString(LogEventJson.ToUtf8(e)));
        LogSearchResult all = Find(t.Store, MatchAllQuery.Instance, 3000);
        Assert.Equal(3000, all.Hits.Count);
        foreach (LogHit hit in all.Hits)
        {
            Assert.Equal(expected[(string)JsonNode.Parse(hit.Source)!["message"]!], hit.Source);
        }
    }

    [Fact]
    public async Task Search_ConditionsAndSortOnFieldsOnlyInTheSource_ReadTheBlocks()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(0, 500));
        await t.Store.WriteAsync(Events(500, 500));

        // "device_id" is a column; "message" sorted as a keyword and "facility_label" only exist in the JSON.
        LogSearchResult labelled = Find(t.Store, new TermsQuery("facility_label", ["user-level"]), 1);
        Assert.Equal(1000, labelled.Total);
        LogSearchResult sorted = Find(t.Store, new ExistsQuery("severity_label"), 3, new LogSort("message", true));
        Assert.Equal(["event 999", "event 998", "event 997"], sorted.Hits.Select(h => (string)JsonNode.Parse(h.Source)!["message"]!));
        Assert.Equal(0, Find(t.Store, new TermsQuery("facility_label", ["kernel"])).Total);
    }

    [Fact]
    public async Task GetMany_DocumentReplacedInTheSameAndALaterBatch_ReturnsTheNewestAndCountsItsBytes()
    {
        using var t = new TestLogStore();
        byte[] a1 = """{"@timestamp":"2022-05-12T20:22:01Z","message":"one"}"""u8.ToArray();
        byte[] a2 = """{"@timestamp":"2022-05-12T20:22:02Z","message":"two two"}"""u8.ToArray();
        byte[] a3 = """{"@timestamp":"2022-05-12T20:22:03Z","message":"three three three"}"""u8.ToArray();
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", a1), new LogDocument("logs", "a", a2)]);
        Assert.Equal(a2.Length, t.Store.ListIndices()[0].SourceBytes);
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", a3)]);

        LogStoredDocument? document = t.Store.Get("logs", "a");
        Assert.Equal(Encoding.UTF8.GetString(a3), document!.Source);
        Assert.Equal(a3.Length, t.Store.ListIndices()[0].SourceBytes);
        Assert.Equal(1, t.Store.ListIndices()[0].DocumentCount);
    }

    [Fact]
    public async Task MergeStepAsync_ManySmallCommits_RepacksThemIntoOneBlockWithTheSameSources()
    {
        using var t = new TestLogStore();
        for (int i = 0; i < 40; i++)
        {
            await t.Store.WriteAsync(Events(i * 5, 5));
        }

        string db = t.Options.DatabasePath;
        Assert.Equal(40, Scalar(db, "SELECT count(*) FROM blocks_1"));
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source)];
        Assert.True(t.Store.HasPendingMerges);

        int steps = 0;
        while (await t.Store.MergeStepAsync() && steps < 1000)
        {
            steps++;
        }

        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.Equal(1, Scalar(db, "SELECT first_rowid FROM blocks_1"));
        Assert.Equal(200, Scalar(db, "SELECT last_rowid FROM blocks_1"));
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source));
        Assert.False(t.Store.HasPendingMerges);
    }

    [Fact]
    public async Task MergeStepAsync_SmallBlocksOfThePreviousLayout_RepacksThemWithAMessagesSection()
    {
        using var t = new TestLogStore();
        for (int i = 0; i < 20; i++)
        {
            await t.Store.WriteAsync(Events(i * 5, 5, i % 2 == 0 ? "request completed" : "completed request"));
        }

        t.RewriteBlocksInPreviousLayout(1);
        string db = t.Options.DatabasePath;
        // 0x184D2A50, little-endian: the skippable frame that opens a block with a messages section.
        Assert.Equal(0, Scalar(db, "SELECT count(*) FROM blocks_1 WHERE substr(data, 1, 4) = x'502A4D18'"));
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source)];
        Assert.Equal(50, Find(t.Store, new PhraseQuery("message", "request completed"), 0).Total);

        int steps = 0;
        while (await t.Store.MergeStepAsync() && steps < 1000)
        {
            steps++;
        }

        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1 WHERE substr(data, 1, 4) = x'502A4D18'"));
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source));
        Assert.Equal(50, Find(t.Store, new PhraseQuery("message", "request completed"), 0).Total);
    }

    [Fact]
    public async Task IdleStepAsync_FewSmallCommits_WaitsForTheQuietDelayBeforeRepacking()
    {
        using var t = new TestLogStore();
        for (int i = 0; i < 40; i++)
        {
            await t.Store.WriteAsync(Events(i * 5, 5));
        }

        string db = t.Options.DatabasePath;
        int steps = 0;
        while (await t.Store.IdleStepAsync() && steps < 1000)
        {
            steps++;
        }

        // Idle steps merged the full-text segments but left the 40 small blocks: too few bytes, too recent.
        Assert.False(t.Store.HasIdleWorkDue);
        Assert.True(t.Store.HasPendingMerges);
        Assert.Equal(40, Scalar(db, "SELECT count(*) FROM blocks_1"));

        t.Clock.Advance(LogStore.RepackQuietDelay);
        Assert.True(t.Store.HasIdleWorkDue);
        while (await t.Store.IdleStepAsync() && steps < 2000)
        {
            steps++;
        }

        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.False(t.Store.HasPendingMerges);
    }

    [Fact]
    public async Task IdleStepAsync_SmallCommitsWorthASmallBlockLimit_RepacksWithoutWaiting()
    {
        using var t = new TestLogStore();
        var random = new Random(7);
        long written = 0;
        int commits = 0;
        while (written < LogStore.SmallBlockBytes)
        {
            List<LogEvent> batch = [.. Enumerable.Range(0, 5)
                .Select(i => TestLogStore.Event(May12.AddSeconds(commits), TestLogStore.RandomWords(random, 2000)))];
            await t.Store.WriteAsync(batch);
            written += 5 * 2000;
            commits++;
        }

        Assert.True(t.Store.HasIdleWorkDue);
        int steps = 0;
        while (await t.Store.IdleStepAsync() && steps < 1000)
        {
            steps++;
        }

        // Joined into blocks of at most MaxBlockBytes without the clock moving; none of the small ones is left alone.
        long blocks = Scalar(t.Options.DatabasePath, "SELECT count(*) FROM blocks_1");
        Assert.InRange(blocks, 1, commits / 2);
        Assert.Equal(commits * 5, Find(t.Store, MatchAllQuery.Instance, 1000).Hits.Count);
    }

    [Fact]
    public async Task MergeStepAsync_LargeBlockAtTheFreshLevel_RepacksItOnceAtTheRepackLevelWithTheSameSources()
    {
        using var t = new TestLogStore();
        var random = new Random(11);
        string[] words = [.. Enumerable.Range(0, 40).Select(_ => TestLogStore.RandomWords(random, 20))];
        // Messages like real logs, a few templates with variable fields: a higher zstd level finds more of their repetition.
        List<LogEvent> batch = [.. Enumerable.Range(0, 3000)
            .Select(i => TestLogStore.Event(May12.AddSeconds(i),
                $"request {words[random.Next(40)]}completed in {random.Next(1000)} ms for user{random.Next(200)} from 10.0.{random.Next(256)}."
                + $"{random.Next(256)} {words[random.Next(40)]}", program: "p" + (i % 5)))];
        await t.Store.WriteAsync(batch);

        string db = t.Options.DatabasePath;
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.True(Scalar(db, "SELECT source_bytes FROM blocks_1") >= LogStore.SmallBlockBytes);
        Assert.Equal(LogStore.FreshBlockLevel, Scalar(db, "SELECT level FROM blocks_1"));
        long freshBytes = Scalar(db, "SELECT length(data) FROM blocks_1");
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 5000).Hits.Select(h => h.Source)];
        long phraseBefore = Find(t.Store, new PhraseQuery("message", words[3]), 0).Total;
        Assert.InRange(phraseBefore, 75, 3000);
        Assert.True(t.Store.HasPendingMerges);

        int steps = 0;
        while (await t.Store.MergeStepAsync() && steps < 1000)
        {
            steps++;
        }

        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.Equal(LogStore.RepackLevel, Scalar(db, "SELECT level FROM blocks_1"));
        Assert.True(Scalar(db, "SELECT length(data) FROM blocks_1") < freshBytes, "re-packing did not make the block smaller");
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 5000).Hits.Select(h => h.Source));
        Assert.Equal(phraseBefore, Find(t.Store, new PhraseQuery("message", words[3]), 0).Total);
        Assert.False(t.Store.HasPendingMerges);
    }

    [Fact]
    public async Task IdleStepAsync_LargeFreshBlockFollowedByRecentSmallOnes_RepacksThemWithoutWaiting()
    {
        using var t = new TestLogStore();
        var random = new Random(13);
        await t.Store.WriteAsync([.. Enumerable.Range(0, 200).Select(i => TestLogStore.Event(May12.AddSeconds(i), TestLogStore.RandomWords(random, 2000)))]);
        await t.Store.WriteAsync(Events(200, 5));
        await t.Store.WriteAsync(Events(205, 5));
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source)];

        int steps = 0;
        while (await t.Store.IdleStepAsync() && steps < 1000)
        {
            steps++;
        }

        // Due at once for the large block (no later block joins it), without the quiet delay the small ones alone wait
        // for; the small ones after it fit in the same block and are joined to it.
        string db = t.Options.DatabasePath;
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.Equal(LogStore.RepackLevel, Scalar(db, "SELECT level FROM blocks_1"));
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source));
    }

    [Fact]
    public async Task Open_BlocksTableWithoutLevelColumn_AddsItAndRepacksItsBlocksWhenIdle()
    {
        using var t = new TestLogStore();
        for (int i = 0; i < 3; i++)
        {
            await t.Store.WriteAsync(Events(i * 100, 100, i % 2 == 0 ? "request completed" : "completed request"));
        }

        // The blocks table of the release before the level column, every block at the fresh level.
        t.Store.Dispose();
        string db = t.Options.DatabasePath;
        Run(db, "ALTER TABLE blocks_1 DROP COLUMN level");
        t.Reopen();

        Assert.Equal(3, Scalar(db, "SELECT count(*) FROM blocks_1 WHERE level IS NULL"));
        List<string> before = [.. Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source)];
        Assert.Equal(300, before.Count);
        Assert.Equal(200, Find(t.Store, new PhraseQuery("message", "request completed"), 0).Total);

        int steps = 0;
        while (await t.Store.MergeStepAsync() && steps < 1000)
        {
            steps++;
        }

        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM blocks_1"));
        Assert.Equal(LogStore.RepackLevel, Scalar(db, "SELECT level FROM blocks_1"));
        Assert.Equal(before, Find(t.Store, MatchAllQuery.Instance, 500).Hits.Select(h => h.Source));
        Assert.Equal(200, Find(t.Store, new PhraseQuery("message", "request completed"), 0).Total);
    }

    [Fact]
    public async Task MergeStepAsync_RowReplacedBetweenSmallBlocks_RepackKeepsEveryOtherSource()
    {
        using var t = new TestLogStore();
        byte[] Doc(string message) => Encoding.UTF8.GetBytes($$"""{"@timestamp":"2022-05-12T20:22:01Z","message":"{{message}}"}""");
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", Doc("a1")), new LogDocument("logs", "b", Doc("b1"))]);
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", Doc("a2"))]);
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "c", Doc("c1"))]);

        while (await t.Store.MergeStepAsync())
        {
        }

        Assert.Equal(1, Scalar(t.Options.DatabasePath, "SELECT count(*) FROM blocks_1"));
        t.Reopen();
        Assert.Equal(Encoding.UTF8.GetString(Doc("a2")), t.Store.Get("logs", "a")!.Source);
        Assert.Equal(Encoding.UTF8.GetString(Doc("b1")), t.Store.Get("logs", "b")!.Source);
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "d", Doc("d1"))]);
        Assert.Equal(Encoding.UTF8.GetString(Doc("d1")), t.Store.Get("logs", "d")!.Source);
        Assert.Equal(Encoding.UTF8.GetString(Doc("c1")), t.Store.Get("logs", "c")!.Source);
    }

    [Fact]
    public async Task WriteAsync_OverMaxBytesWithinOneIndex_DeletesWholeBlocksOldestFirst()
    {
        using var t = new TestLogStore(o => o.MaxBytes = 1024 * 1024);
        var random = new Random(5);
        for (int batch = 0; batch < 12; batch++)
        {
            await t.Store.WriteAsync([.. Enumerable.Range(0, 200)
                .Select(i => TestLogStore.Event(May12.AddSeconds(batch), TestLogStore.RandomWords(random, 800)))]);
        }

        string db = t.Options.DatabasePath;
        long deleted = t.Store.RetentionDeletedEvents.BySize;
        Assert.True(deleted > 0, "nothing was deleted");
        Assert.Equal(0, deleted % 200);
        Assert.Equal(Scalar(db, "SELECT min(rowid) FROM docs_1"), Scalar(db, "SELECT min(first_rowid) FROM blocks_1"));
        Assert.Equal(2400 - deleted, Find(t.Store, MatchAllQuery.Instance, 0).Total);
        Assert.Equal(Scalar(db, "SELECT sum(source_bytes) FROM blocks_1"), t.Store.ListIndices()[0].SourceBytes);
    }

    [Fact]
    public async Task Search_CorruptBlock_FailsOnlyStatementsThatReadItWithAClearError()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(0, 100, "old"));
        await t.Store.WriteAsync(Events(100, 100, "new"));
        string db = t.Options.DatabasePath;
        Run(db, "UPDATE blocks_1 SET data = zeroblob(40) WHERE first_rowid = 1");

        // The second block still reads, and so do conditions on columns.
        LogSearchResult fresh = Find(t.Store, new MatchQuery("message", "new", false), 10);
        Assert.Equal(100, fresh.Total);
        Assert.All(fresh.Hits, h => Assert.StartsWith("new", (string)JsonNode.Parse(h.Source)!["message"]!, StringComparison.Ordinal));
        Assert.Equal(200, Find(t.Store, MatchAllQuery.Instance, 0).Total);

        SqliteException error = Assert.Throws<SqliteException>(() => Find(t.Store, new MatchQuery("message", "old", false), 10));
        Assert.Equal(11, error.SqliteErrorCode); // SQLITE_CORRUPT
        Assert.Contains("log block of rows 1–100 of index 1", error.Message, StringComparison.Ordinal);
        Assert.Throws<SqliteException>(() => Find(t.Store, new TermsQuery("facility_label", ["user-level"]), 10));

        // The store goes on: new writes are stored and read.
        await t.Store.WriteAsync(Events(200, 10, "later"));
        Assert.Equal(10, Find(t.Store, new MatchQuery("message", "later", false), 10).Hits.Count);
    }

    [Fact]
    public async Task WriteAsync_OverMaxBytesWithACorruptOldestBlock_RetentionStillDeletesIt()
    {
        using var t = new TestLogStore(o => o.MaxBytes = 1024 * 1024);
        var random = new Random(9);
        await t.Store.WriteAsync([.. Enumerable.Range(0, 200).Select(i => TestLogStore.Event(May12, "first " + TestLogStore.RandomWords(random, 800)))]);
        Run(t.Options.DatabasePath, "UPDATE blocks_1 SET data = zeroblob(40) WHERE first_rowid = 1");
        for (int batch = 1; batch < 12; batch++)
        {
            await t.Store.WriteAsync([.. Enumerable.Range(0, 200)
                .Select(i => TestLogStore.Event(May12.AddSeconds(batch), TestLogStore.RandomWords(random, 800)))]);
        }

        Assert.True(t.Store.RetentionDeletedEvents.BySize >= 200, $"deleted {t.Store.RetentionDeletedEvents.BySize}, used {t.Store.UsedBytes()}");
        Assert.Equal(0, Find(t.Store, new MatchQuery("message", "first", false), 10).Total);
        Assert.Equal(2400 - t.Store.RetentionDeletedEvents.BySize, Find(t.Store, MatchAllQuery.Instance, 3000).Hits.Count);
    }

    [Fact]
    public void Decode_DamagedFrames_RefusedWithAReason()
    {
        using var compressor = new Compressor(1);
        using var decompressor = new Decompressor();
        byte[] sources = "{\"a\":1}{\"b\":22}"u8.ToArray();
        byte[] block = LogBlock.Encode(compressor, sources, [7, 15]);

        LogBlock decoded = LogBlock.Decode(decompressor, 10, 2, block);
        Assert.Equal("{\"b\":22}", Encoding.UTF8.GetString(decoded.Source(11)));
        Assert.True(decoded.Source(12).IsEmpty);

        Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 10, 3, block));
        Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 10, 2, block.AsSpan(0, block.Length - 3)));
        Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 10, 2, new byte[40]));
        byte[] badEnds = PreviousLayoutBlocks.PreviousLayoutBlock(compressor, [sources[..7], sources[7..]], [7, 99]);
        Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 10, 2, badEnds));

        // A messages section whose place in the source lies past it, or a header claiming more than the data.
        byte[] message = "{\"message\":\"hi\"}"u8.ToArray();
        byte[] withMessage = LogBlock.Encode(compressor, message, [message.Length]);
        Assert.Equal("hi", Encoding.UTF8.GetString(LogBlock.Decode(decompressor, 1, 1, withMessage).Message(1)));
        byte[] longHeader = (byte[])withMessage.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(longHeader.AsSpan(8), withMessage.Length);
        Assert.Throws<InvalidDataException>(() => LogBlock.Decode(decompressor, 1, 1, longHeader));
        Assert.Throws<InvalidDataException>(() => LogBlock.DecodeMessages(decompressor, 1, 1, longHeader));
    }

    [Fact]
    public void Decode_BlockWithMessagesSection_PutsEachSourceBackAndReadsTheMessagesAlone()
    {
        using var compressor = new Compressor(1);
        using var decompressor = new Decompressor();
        string[] texts =
        [
            "{\"@timestamp\":\"2022-05-12T20:00:00Z\",\"message\":\"plain words\",\"host\":\"h\"}",
            "{\"message\":\"tab\\tand \\\"quotes\\\" and \\u00e9\"}",
            "{\"message\":\"first\",\"x\":{\"message\":\"nested\"},\"message\":\"last one counts\"}",
            "{\"message\":\"string\",\"message\":42}",
            "{\"no\":\"message\"}",
            "",
            "{\"message\":\"\"}",
            "{ \"message\" : \"café ünïcode 😀\" /* comment */ }",
        ];
        byte[][] sources = [.. texts.Select(Encoding.UTF8.GetBytes)];
        byte[] all = [.. sources.SelectMany(b => b)];
        int[] ends = new int[sources.Length];
        for (int i = 0, end = 0; i < sources.Length; i++)
        {
            end += sources[i].Length;
            ends[i] = end;
        }

        byte[] data = LogBlock.Encode(compressor, all, ends);
        LogBlock whole = LogBlock.Decode(decompressor, 100, sources.Length, data);
        LogBlock messages = LogBlock.DecodeMessages(decompressor, 100, sources.Length, data);
        Assert.False(messages.HasSources);
        string?[] expected = ["plain words", "tab\\tand \\\"quotes\\\" and \\u00e9", "last one counts", null, null, null, "", "café ünïcode 😀"];
        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(texts[i], Encoding.UTF8.GetString(whole.Source(100 + i)));
            Assert.Equal(expected[i] ?? string.Empty, Encoding.UTF8.GetString(messages.Message(100 + i)));
            Assert.Equal(expected[i] ?? string.Empty, Encoding.UTF8.GetString(whole.Message(100 + i)));
            Assert.Equal(expected[i] is null, whole.MessageRange(100 + i).At < 0);
        }

        // The same sources in the previous layout: whole blocks only, message ranges read from the JSON.
        LogBlock previous = LogBlock.Decode(decompressor, 100, sources.Length, PreviousLayoutBlocks.PreviousLayoutBlock(compressor, sources));
        Assert.False(previous.HasMessages);
        Assert.False(LogBlock.DecodeMessages(decompressor, 100, sources.Length, PreviousLayoutBlocks.PreviousLayoutBlock(compressor, sources)).HasMessages);
        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(whole.MessageRange(100 + i), previous.MessageRange(100 + i));
        }
    }

    [Fact]
    public async Task Search_PhraseCount_DecompressesOnlyTheMessages()
    {
        using var t = new TestLogStore();
        var random = new Random(5);
        // Sources mostly other fields (program, host, labels…), with short messages: whole blocks are several times the
        // messages section.
        await t.Store.WriteAsync([.. Enumerable.Range(0, 3000).Select(i => TestLogStore.Event(May12.AddSeconds(i),
            (i % 3 == 0 ? "request completed " : "completed request ") + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            program: TestLogStore.RandomWords(random, 200), deviceId: "dev" + (i % 3)))]);
        long sourceBytes = t.Store.ListIndices()[0].SourceBytes;

        Assert.Equal(1000, Find(t.Store, new PhraseQuery("message", "request completed"), 0).Total);
        Assert.True(t.Store.BlockCache.Bytes * 4 < sourceBytes, $"{t.Store.BlockCache.Bytes} bytes decompressed for {sourceBytes} bytes of sources");
        LogSearchResult newest = Find(t.Store, new PhraseQuery("message", "request completed"), 10, new LogSort("@timestamp", true));
        Assert.Equal(1000, newest.Total);
        Assert.Equal("request completed 2997", JsonNode.Parse(newest.Hits[0].Source)!["message"]!.GetValue<string>());
    }

    [Fact]
    public void LogBlockCache_PastItsBound_EvictsTheLeastRecentlyUsed()
    {
        using var compressor = new Compressor(1);
        using var decompressor = new Decompressor();
        byte[] sources = new byte[1000];
        LogBlock Block() => LogBlock.Decode(decompressor, 1, 1, LogBlock.Encode(compressor, sources, [1000]));
        var cache = new LogBlockCache(3500);
        LogBlockCache.Key Key(int i) => new(1, i, i, 10);

        cache.Add(Key(1), Block());
        cache.Add(Key(2), Block());
        cache.Add(Key(3), Block());
        Assert.NotNull(cache.Find(Key(1)));
        cache.Add(Key(4), Block());

        Assert.True(cache.Bytes <= cache.MaxBytes);
        Assert.Equal(1, cache.Evictions);
        Assert.Null(cache.Find(Key(2)));
        Assert.NotNull(cache.Find(Key(1)));
        Assert.NotNull(cache.Find(Key(4)));
        cache.Forget(1);
        Assert.Equal(0, cache.Bytes);
        Assert.Null(cache.Find(Key(4)));
    }

    [Fact]
    public async Task Search_ScanOverABlock_DecompressesItOnce()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync(Events(0, 2000));
        long blocks = Scalar(t.Options.DatabasePath, "SELECT count(*) FROM blocks_1");

        Assert.Equal(2000, Find(t.Store, new TermsQuery("facility_label", ["user-level"]), 0).Total);
        Assert.Equal(blocks, t.Store.BlockCache.Misses);
        Assert.Equal(2000, Find(t.Store, new TermsQuery("facility_label", ["user-level"]), 0).Total);
        Assert.Equal(blocks, t.Store.BlockCache.Misses);
    }

    [Fact]
    public async Task Open_DatabaseWrittenBeforeBlocks_OldRowsReadAsTheyAreAndNewOnesGoToBlocks()
    {
        using var t = new TestLogStore();
        t.Store.Dispose();
        string db = t.Options.DatabasePath;
        File.Delete(db);
        string oldSource = """{"@timestamp":"2022-05-12T19:00:00.000Z","@version":"1","message":"from the old release","facility_label":"user-level"}""";
        // The schema and rows as the release before blocks wrote them (LogStore.cs of that release).
        Run(db, $"""
            PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;
            CREATE TABLE indices(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
              newest_ms INTEGER NOT NULL, doc_count INTEGER NOT NULL, source_bytes INTEGER NOT NULL);
            INSERT INTO indices VALUES (1, 'logstash-2022.05.12', 'uuid0000000000000000aa', 1652382000000, 1652382000000, 1, {oldSource.Length});
            CREATE TABLE docs_1(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, ts INTEGER, severity INTEGER, facility INTEGER,
              program TEXT, logsource TEXT, host TEXT, device_id TEXT, workload TEXT, source TEXT NOT NULL);
            CREATE INDEX docs_1_ts ON docs_1(ts);
            CREATE VIRTUAL TABLE fts_1 USING fts5(message, content='', contentless_delete=1);
            INSERT INTO docs_1 VALUES (1, 'old-id', 1652382000000, 6, 1, NULL, NULL, NULL, NULL, NULL, '{oldSource}');
            INSERT INTO fts_1(rowid, message) VALUES (1, 'from the old release');
            """);

        t.Reopen();
        await t.Store.WriteAsync(Events(0, 10, "from the new release"));

        Assert.Equal(oldSource, t.Store.Get("logstash-2022.05.12", "old-id")!.Source);
        Assert.Equal(oldSource, Assert.Single(Find(t.Store, new MatchQuery("message", "old", false)).Hits).Source);
        Assert.Equal(11, Find(t.Store, new TermsQuery("facility_label", ["user-level"]), 0).Total);
        Assert.Equal(10, Find(t.Store, new MatchQuery("message", "new", false)).Hits.Count);
        Assert.Equal(2, Scalar(db, "SELECT min(first_rowid) FROM blocks_1"));
        Assert.Equal(11, t.Store.ListIndices()[0].DocumentCount);
    }
}
