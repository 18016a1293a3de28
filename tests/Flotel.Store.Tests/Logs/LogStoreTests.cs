using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Store.Tests.Logs;

public sealed class LogStoreTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 22, 1, DateTimeKind.Utc);

    private static LogSearchResult All(LogStore store, params string[] indices) =>
        store.Search(new LogSearch(indices.Length > 0 ? indices : [.. store.ListIndices().Select(i => i.Name)], MatchAllQuery.Instance, [], 0, 100), countOnly: false);

    [Fact]
    public async Task WriteAsync_BlogLine_StoredInItsDailyIndexWithLogstashFields()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.BlogEvent()]);

        LogIndexInfo index = Assert.Single(t.Store.ListIndices());
        Assert.Equal("logstash-2022.05.12", index.Name);
        Assert.Equal(1, index.DocumentCount);
        LogHit hit = Assert.Single(All(t.Store).Hits);
        Assert.Equal(LogDocumentId.Length, hit.Id.Length);
        JsonObject source = JsonNode.Parse(hit.Source)!.AsObject();
        Assert.Equal("2022-05-12T20:22:01.000Z", (string?)source["@timestamp"]);
        Assert.Equal("1", (string?)source["@version"]);
        Assert.Equal(6, (int?)source["priority"]);
        Assert.Equal(6, (int?)source["severity"]);
        Assert.Equal(0, (int?)source["facility"]);
        Assert.Equal("Informational", (string?)source["severity_label"]);
        Assert.Equal("kernel", (string?)source["facility_label"]);
        Assert.Equal("random-workload", (string?)source["program"]);
        Assert.Equal("3966", (string?)source["pid"]);
        Assert.Equal("127.0.0.1", (string?)source["host"]);
        Assert.Equal("2022-05-12T16:22:01-04:00", (string?)source["timestamp"]);
        Assert.Equal("dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b", (string?)source["container_id"]);
        Assert.StartsWith("dcc80a53", (string?)source["message"], StringComparison.Ordinal);
        Assert.False(source.ContainsKey("logsource"));
        Assert.False(source.ContainsKey("tags"));
    }

    [Fact]
    public void LogEventJson_ParseFailureWithStructuredData_WritesTagsAndNestedObject()
    {
        var e = new LogEvent
        {
            Timestamp = new DateTime(2021, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc),
            Message = "raw line",
            StructuredData = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["flotel@32473"] = new Dictionary<string, string> { ["device"] = "dev1" } },
        };
        e.MarkParseFailure();

        string json = Encoding.UTF8.GetString(LogEventJson.ToUtf8(e));

        Assert.Equal(
            """{"@timestamp":"2021-12-31T23:59:59.999Z","@version":"1","message":"raw line","priority":13,"facility":1,"severity":5,"facility_label":"user-level","severity_label":"Notice","structured_data":{"flotel@32473":{"device":"dev1"}},"tags":["_syslogparsefailure"]}""",
            json);
    }

    [Fact]
    public void LogEventJson_PlusAngleAndNonAscii_WrittenLiterallyOnlyJsonEscapes()
    {
        var e = new LogEvent { Timestamp = new DateTime(2022, 5, 12, 0, 0, 0, DateTimeKind.Utc), Message = "a+b <x> café \"q\"\t", TimestampText = "2022-05-12T02:00:00+02:00" };

        string json = Encoding.UTF8.GetString(LogEventJson.ToUtf8(e));

        Assert.Contains("\"message\":\"a+b <x> café \\\"q\\\"\\t\"", json, StringComparison.Ordinal);
        Assert.Contains("\"timestamp\":\"2022-05-12T02:00:00+02:00\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_TimestampsAroundUtcMidnight_GoToTwoDailyIndices()
    {
        using var t = new TestLogStore();
        // docs/reference/syslog-and-elasticsearch.md §3.2: 2022-05-12T21:30:00-04:00 is 2022-05-13T01:30Z → logstash-2022.05.13.
        await t.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 23, 59, 59, DateTimeKind.Utc), "before"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 1, 30, 0, DateTimeKind.Utc), "after"),
        ]);

        Assert.Equal(["logstash-2022.05.12", "logstash-2022.05.13"], t.Store.ListIndices().Select(i => i.Name));
        Assert.Equal("after", (string?)JsonNode.Parse(Assert.Single(All(t.Store, "logstash-2022.05.13").Hits).Source)!["message"]);
    }

    [Fact]
    public async Task WriteAsync_EventsSpanningSeveralEncodingChunks_EachStoredOnceInItsIndex()
    {
        using var t = new TestLogStore();
        // 2,500 events are three encoding chunks (1,024 each), encoded on another thread while the previous is inserted.
        var events = Enumerable.Range(0, 2500)
            .Select(i => TestLogStore.Event(i % 2 == 0 ? May12 : May12.AddDays(1), $"n{i}"))
            .ToList();
        await t.Store.WriteAsync(events);

        Assert.Equal([1250L, 1250L], t.Store.ListIndices().Select(i => i.DocumentCount));
        string[] stored = [.. t.Store.Search(new LogSearch(["logstash-2022.05.12", "logstash-2022.05.13"], MatchAllQuery.Instance, [], 0, 3000), countOnly: false).Hits
            .Select(h => (string)JsonNode.Parse(h.Source)!["message"]!)];
        Assert.Equal(2500, stored.Length);
        Assert.Equal(events.Select(e => e.Message).Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_LaterChunkFailsToEncode_NothingStoredAndNextWriteCountsRight()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "before")]);
        // The null is in the third chunk: two chunks were inserted in the transaction before it fails.
        var events = Enumerable.Range(0, 2500).Select(i => i == 2100 ? null! : TestLogStore.Event(May12, $"n{i}")).ToList();

        _ = await Assert.ThrowsAnyAsync<Exception>(async () => await t.Store.WriteAsync(events));
        await t.Store.WriteAsync([TestLogStore.Event(May12, "after")]);

        Assert.Equal(2, Assert.Single(t.Store.ListIndices()).DocumentCount);
        Assert.Equal(["before", "after"], All(t.Store).Hits.Select(h => (string?)JsonNode.Parse(h.Source)!["message"]));
    }

    [Fact]
    public async Task WriteAsync_MoreSourceThanTheCheckpointThreshold_WalCheckpointedInBackground()
    {
        using var t = new TestLogStore();
        var random = new Random(7);
        for (int batch = 0; batch < 5; batch++)
        {
            // 5 × 1,000 events of ~4 KB of random words (which compress to about half): past the 8 MiB of WAL after
            // which a checkpoint is asked for.
            await t.Store.WriteAsync([.. Enumerable.Range(0, 1000)
                .Select(i => TestLogStore.Event(May12, $"b{batch} {TestLogStore.RandomWords(random, 4000)}"))]);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (t.Store.BackgroundCheckpoints == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(t.Store.BackgroundCheckpoints > 0, "no background checkpoint ran");
        Assert.Equal(5000, Assert.Single(t.Store.ListIndices()).DocumentCount);
    }

    [Fact]
    public async Task WriteAsync_CustomIndexPattern_NamesIndicesWithIt()
    {
        using var t = new TestLogStore(o => o.IndexPattern = "flotta-%{+YYYY.ww}");
        await t.Store.WriteAsync([TestLogStore.Event(new DateTime(2024, 12, 30, 0, 0, 0, DateTimeKind.Utc), "x")]);

        Assert.StartsWith("flotta-2024.", Assert.Single(t.Store.ListIndices()).Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_ExistingDatabase_KeepsIndicesAndContinuesWriting()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "one"), TestLogStore.Event(May12, "two")]);
        t.Reopen();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "three")]);

        Assert.Equal(3, Assert.Single(t.Store.ListIndices()).DocumentCount);
        Assert.Equal(["one", "two", "three"], All(t.Store).Hits.Select(h => (string?)JsonNode.Parse(h.Source)!["message"]));
    }

    [Fact]
    public async Task Search_MatchAllCount_EqualsTheDocumentsThere()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([.. Enumerable.Range(0, 1500).Select(i => TestLogStore.Event(May12.AddHours(i % 7), $"n{i}"))]);
        var failing = Enumerable.Range(0, 2500).Select(i => i == 2100 ? null! : TestLogStore.Event(May12, $"f{i}")).ToList();
        _ = await Assert.ThrowsAnyAsync<Exception>(async () => await t.Store.WriteAsync(failing));
        byte[] doc = """{"@timestamp":"2022-05-12T20:22:01Z","message":"doc"}"""u8.ToArray();
        _ = await t.Store.WriteDocumentsAsync([
            new LogDocument("logstash-2022.05.12", "a", doc),
            new LogDocument("logstash-2022.05.12", "a", doc),
            new LogDocument("logstash-2022.05.12", "a", doc, CreateOnly: true),
            new LogDocument("logstash-2022.05.12", "b", doc),
        ]);
        string[] indices = [.. t.Store.ListIndices().Select(i => i.Name)];

        // match_all is counted from the index metadata; the rows themselves must agree with it.
        long counted = t.Store.Search(new LogSearch(indices, MatchAllQuery.Instance, [], 0, 0), countOnly: true).Total;
        int rows = t.Store.Search(new LogSearch(indices, MatchAllQuery.Instance, [], 0, 10_000), countOnly: false).Hits.Count;
        long byQuery = t.Store.Search(new LogSearch(indices, new ExistsQuery("message"), [], 0, 0), countOnly: true).Total;

        Assert.Equal(2, indices.Length);
        Assert.Equal(1502, rows);
        Assert.Equal(rows, counted);
        Assert.Equal(rows, byQuery);
    }

    [Fact]
    public async Task WriteDocumentsAsync_GivenIds_CreateConflictsAndIndexReplaces()
    {
        using var t = new TestLogStore();
        byte[] first = """{"@timestamp":"2022-05-12T20:22:01Z","message":"first"}"""u8.ToArray();
        byte[] second = """{"@timestamp":"2022-05-12T20:22:02Z","message":"second"}"""u8.ToArray();

        LogDocumentResult[] results = await t.Store.WriteDocumentsAsync([
            new LogDocument("logs", "a", first, CreateOnly: true),
            new LogDocument("logs", "a", second, CreateOnly: true),
            new LogDocument("logs", "b", first),
            new LogDocument("logs", "b", second),
            new LogDocument("logs", null, "[1,2]"u8.ToArray()),
            new LogDocument("logs", null, "{\"message\":"u8.ToArray()),
        ]);

        Assert.Equal(
            [LogDocumentOutcome.Created, LogDocumentOutcome.Conflict, LogDocumentOutcome.Created, LogDocumentOutcome.Updated, LogDocumentOutcome.Invalid, LogDocumentOutcome.Invalid],
            results.Select(r => r.Outcome));
        Assert.Equal(2, t.Store.ListIndices()[0].DocumentCount);
        Dictionary<string, string?> byId = All(t.Store).Hits.ToDictionary(h => h.Id, h => (string?)JsonNode.Parse(h.Source)!["message"]);
        Assert.Equal("first", byId["a"]);
        Assert.Equal("second", byId["b"]);
        // The replaced document left the full-text index too.
        LogSearchResult firstMatches = t.Store.Search(new LogSearch(["logs"], new MatchQuery("message", "first", false), [], 0, 10), false);
        Assert.Equal("a", Assert.Single(firstMatches.Hits).Id);
    }

    [Fact]
    public async Task ApplyRetentionAsync_MaxAge_DropsIndicesWhoseNewestEventIsOlder()
    {
        using var t = new TestLogStore(o => o.MaxAge = TimeSpan.FromDays(2));
        t.Clock.SetUtcNow(new DateTimeOffset(2022, 5, 14, 12, 0, 0, TimeSpan.Zero));
        await t.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 11, 23, 0, 0, DateTimeKind.Utc), "old"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 13, 0, 0, DateTimeKind.Utc), "two days ago, 30 min too old"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 23, 0, 0, DateTimeKind.Utc), "keeps its day"),
            TestLogStore.Event(new DateTime(2022, 5, 14, 1, 0, 0, DateTimeKind.Utc), "today"),
        ]);

        IReadOnlyList<string> dropped = await t.Store.ApplyRetentionAsync();

        Assert.Equal(["logstash-2022.05.11"], dropped);
        Assert.Equal(["logstash-2022.05.12", "logstash-2022.05.14"], t.Store.ListIndices().Select(i => i.Name));
        Assert.Equal(3, All(t.Store).Total);
    }

    [Fact]
    public async Task WriteAsync_OverMaxBytes_DropsTheOldestIndicesWholeAndKeepsTheNewest()
    {
        using var t = new TestLogStore(o => o.MaxBytes = 1024 * 1024);
        var random = new Random(3);
        foreach (int day in new[] { 10, 11, 12 })
        {
            var batch = new List<LogEvent>();
            for (int i = 0; i < 2000; i++)
            {
                string text = $"event {i} {TestLogStore.RandomWords(random, 400)}";
                batch.Add(TestLogStore.Event(new DateTime(2022, 5, day, 10, 0, i % 60, DateTimeKind.Utc), text));
            }

            await t.Store.WriteAsync(batch);
        }

        // Each day alone is over the bound: the older two are dropped whole, then the oldest events of the newest go.
        IndexInfoAssert(t.Store, "logstash-2022.05.12");
        long kept = All(t.Store).Total;
        Assert.InRange(kept, 1, 1999);
        Assert.Equal(6000 - kept, t.Store.RetentionDeletedEvents.BySize);
        Assert.Equal(0, t.Store.RetentionDeletedEvents.ByAge);
        var newest = t.Store.Search(new LogSearch(["logstash-2022.05.12"], new MatchQuery("message", "1999", false), [], 0, 10), countOnly: true);
        Assert.Equal(1, newest.Total);
    }

    private static void IndexInfoAssert(LogStore store, string only) => Assert.Equal(only, Assert.Single(store.ListIndices()).Name);

    [Fact]
    public async Task Search_ManyFullTextMatchesSortedByTimestamp_NewestPageInOrder()
    {
        using var t = new TestLogStore();
        // Written out of time order so insertion order and time order differ; 1500 matches take the ts-index path.
        var events = Enumerable.Range(0, 3000)
            .Select(i => TestLogStore.Event(May12.AddSeconds((i * 7919) % 3000), $"{(i % 2 == 0 ? "even" : "odd")} n{(i * 7919) % 3000}"))
            .ToList();
        await t.Store.WriteAsync(events);

        LogSearchResult result = t.Store.Search(new LogSearch(["logstash-2022.05.12"], new MatchQuery("message", "even", false), [new LogSort("@timestamp", true)], 2, 3), false);

        Assert.Equal(1500, result.Total);
        long[] seconds = [.. result.Hits.Select(h => (long)h.SortValues[0]! / 1000 - new DateTimeOffset(May12).ToUnixTimeSeconds())];
        long[] expected = [.. Enumerable.Range(0, 3000).Where(i => i % 2 == 0).Select(i => (long)((i * 7919) % 3000)).OrderDescending().Skip(2).Take(3)];
        Assert.Equal(expected, seconds);
    }

    [Fact]
    public async Task MergeStepAsync_AfterManySmallCommits_MergesSegmentsAndSearchesStayTheSame()
    {
        using var t = new TestLogStore();
        // Each commit flushes one full-text segment; with automerge 16 all twelve stay unmerged during the writes (with
        // FTS5's default of 4, five are left).
        for (int batch = 0; batch < 12; batch++)
        {
            await t.Store.WriteAsync([.. Enumerable.Range(0, 2000).Select(i => TestLogStore.Event(May12, $"b{batch} n{i} {(i % 2 == 0 ? "even" : "odd")} common"))]);
        }

        long before = FullTextSegments(t);
        Assert.True(before >= 12, $"{before} segments before merging");
        Assert.True(t.Store.HasPendingMerges);
        long[] countsBefore = [.. new[] { "even", "b7", "common" }.Select(Count)];

        int steps = 0;
        while (await t.Store.MergeStepAsync())
        {
            Assert.True(++steps < 100, "merging did not finish");
        }

        Assert.False(t.Store.HasPendingMerges);
        long after = FullTextSegments(t);
        Assert.True(after < 4, $"{after} segments after merging ({before} before)");
        Assert.Equal([12_000L, 2_000L, 24_000L], countsBefore);
        Assert.Equal(countsBefore, new[] { "even", "b7", "common" }.Select(Count));

        // A write marks the index again; a merge with nothing to merge clears the mark.
        await t.Store.WriteAsync([TestLogStore.Event(May12, "later")]);
        Assert.True(t.Store.HasPendingMerges);
        while (await t.Store.MergeStepAsync())
        {
        }

        Assert.Equal(1, Count("later"));

        long Count(string word) =>
            t.Store.Search(new LogSearch(["logstash-2022.05.12"], new MatchQuery("message", word, false), [], 0, 0), countOnly: true).Total;
    }

    [Fact]
    public async Task Open_ExistingIndex_SetsTheLazierAutomergeAndMarksItForMerging()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "one")]);
        while (await t.Store.MergeStepAsync())
        {
        }

        // As an index written by an older version: FTS5's default automerge.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + t.Options.DatabasePath))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO fts_1(fts_1, rank) VALUES('automerge', 4)";
            _ = command.ExecuteNonQuery();
        }

        t.Reopen();

        Assert.True(t.Store.HasPendingMerges);
        Assert.Equal(LogStore.FtsAutomerge, FtsConfig(t, "automerge"));
    }

    // Full-text segments of the first index: FTS5's %_idx table has a row per segment leaf range, keyed by segment id.
    private static long FullTextSegments(TestLogStore t) => QueryScalar(t, "SELECT count(DISTINCT segid) FROM fts_1_idx");

    private static long FtsConfig(TestLogStore t, string key) => QueryScalar(t, $"SELECT v FROM fts_1_config WHERE k = '{key}'");

    private static long QueryScalar(TestLogStore t, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = t.Options.DatabasePath,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task DeleteIndexAsync_UnknownAndKnown_ReportsWhetherDropped()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "x")]);

        Assert.False(await t.Store.DeleteIndexAsync("nope"));
        Assert.True(await t.Store.DeleteIndexAsync("logstash-2022.05.12"));
        Assert.Empty(t.Store.ListIndices());
    }

    [Fact]
    public async Task Search_WithAStoppedToken_ThrowsOperationCanceled()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(May12, "x")]);
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();

        Assert.Throws<OperationCanceledException>(() =>
            t.Store.Search(new LogSearch(["logstash-2022.05.12"], new ExistsQuery("message"), [], 0, 10), countOnly: false, stopped.Token));
        Assert.Equal(1, t.Store.Search(new LogSearch(["logstash-2022.05.12"], new ExistsQuery("message"), [], 0, 10), countOnly: true).Total);
    }

    [Fact]
    public void LogStoreOptions_InvalidValues_AreReportedWithTheirKey()
    {
        var options = new LogStoreOptions { IndexPattern = "x-%{host}", MaxAge = TimeSpan.Zero, MaxBytes = 0, MaxResultWindow = 0 };

        IReadOnlyList<string> errors = options.Validate();

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains("`IndexPattern`", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => LogStore.Open(options));
    }

    [Fact]
    public void LogDocumentId_New_Is20UrlSafeCharactersAndUnique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => LogDocumentId.New()).ToHashSet();

        Assert.Equal(1000, ids.Count);
        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9_-]{20}$", id));
    }
}
