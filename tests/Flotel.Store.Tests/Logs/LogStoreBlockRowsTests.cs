using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Store.Tests.Query.Elasticsearch.Aggregations;
using Flotel.Wire.Logs;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// Row counts per <c>_source</c> block (<c>blockrows_N</c>, schema in <see cref="LogStore"/>) and the date histograms
/// counted from them: blocks in ts order and out of it, rows without <c>@timestamp</c>, rows replaced by id (in an
/// earlier block and in the open one), re-packed runs and blocks of an index written before the counts existed (filled
/// on open). Each count is compared with the rows, each histogram with the same computed in memory from what was written.
/// </summary>
public sealed class LogStoreBlockRowsTests
{
    private const string Index = "logstash-2022.05.12";
    private static readonly DateTime Day = new(2022, 5, 12, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Aggregate_DateHistogramOverCountedBlocks_SameBucketsAsComputedInMemory()
    {
        using var t = new TestLogStore();
        Dictionary<string, long?> kept = await WriteAsync(t.Store, seed: 11);
        string db = t.Options.DatabasePath;

        AssertBlockRowsExact(db);
        Assert.True(Scalar(db, "SELECT count(*) FROM blockrows_1 WHERE ordered = 1") > 0, "no block is ordered");
        Assert.True(Scalar(db, "SELECT count(*) FROM blockrows_1 WHERE ordered = 0") > 0, "every block is ordered");
        AssertHistogramsAsInMemory(t.Store, kept);
    }

    [Fact]
    public async Task MergeStepAsync_CountedBlocks_JoinedBlockCountsAreTheSumOfTheirs()
    {
        using var t = new TestLogStore();
        Dictionary<string, long?> kept = await WriteAsync(t.Store, seed: 12);
        string db = t.Options.DatabasePath;
        long before = Scalar(db, "SELECT count(*) FROM blocks_1");

        for (int steps = 0; steps < 1000 && await t.Store.MergeStepAsync(); steps++)
        {
        }

        Assert.True(Scalar(db, "SELECT count(*) FROM blocks_1") < before, "no blocks were joined");
        AssertBlockRowsExact(db);
        AssertHistogramsAsInMemory(t.Store, kept);
    }

    [Fact]
    public async Task Open_BlocksWrittenBeforeTheirCounts_CountsFilledFromTheRows()
    {
        using var t = new TestLogStore();
        Dictionary<string, long?> kept = await WriteAsync(t.Store, seed: 13);
        string db = t.Options.DatabasePath;
        t.Store.Dispose();
        // A store of the version before: blocks with time bounds, no blockrows table.
        Execute(db, "DROP TABLE blockrows_1");

        t.Reopen();

        Assert.Equal(Scalar(db, "SELECT count(*) FROM blocks_1"), Scalar(db, "SELECT count(*) FROM blockrows_1"));
        AssertBlockRowsExact(db);
        Assert.True(Scalar(db, "SELECT count(*) FROM blockrows_1 WHERE ordered = 1") > 0, "no block is ordered");
        AssertHistogramsAsInMemory(t.Store, kept);
    }

    [Fact]
    public async Task Aggregate_BlockWithoutItsCount_CountedFromItsRows()
    {
        using var t = new TestLogStore();
        Dictionary<string, long?> kept = await WriteAsync(t.Store, seed: 14);
        Execute(t.Options.DatabasePath, "DELETE FROM blockrows_1 WHERE last_rowid % 2 = 0");

        AssertHistogramsAsInMemory(t.Store, kept);
    }

    [Fact]
    public async Task WriteAsync_OverMaxBytes_DeletedBlocksTakeTheirCountsAlong()
    {
        using var t = new TestLogStore(o => o.MaxBytes = 1024 * 1024);
        var events = new List<LogEvent>();
        var random = new Random(15);
        for (int batch = 0; batch < 14; batch++)
        {
            events.Clear();
            for (int i = 0; i < 200; i++)
            {
                events.Add(TestLogStore.Event(Day.AddMinutes(batch).AddMilliseconds(i * 250), $"row {TestLogStore.RandomWords(random, 800)}"));
            }

            await t.Store.WriteAsync(events);
        }

        string db = t.Options.DatabasePath;
        Assert.True(t.Store.RetentionDeletedEvents.BySize > 0, "nothing was deleted");
        Assert.Equal(Scalar(db, "SELECT count(*) FROM blocks_1"), Scalar(db, "SELECT count(*) FROM blockrows_1"));
        AssertBlockRowsExact(db);
    }

    [Theory]
    [InlineData("""{"match_all":{}}""", true)]
    [InlineData("""{"range":{"@timestamp":{"gt":5,"lte":9}}}""", true)]
    [InlineData("""{"bool":{"filter":[{"range":{"@timestamp":{"gte":5}}},{"range":{"@timestamp":{"lt":9}}}],"must":[{"match_all":{}}]}}""", true)]
    [InlineData("""{"bool":{"filter":[{"range":{"@timestamp":{"gte":5}}},{"term":{"severity":3}}]}}""", false)]
    [InlineData("""{"bool":{"should":[{"range":{"@timestamp":{"gte":5}}}]}}""", false)]
    [InlineData("""{"bool":{"must_not":[{"range":{"@timestamp":{"gte":5}}}]}}""", false)]
    [InlineData("""{"match":{"message":"alpha"}}""", false)]
    [InlineData("""{"range":{"other":{"gte":5}}}""", false)]
    public void TimeInterval_Query_KeptByTimeAloneOrNot(string query, bool byTimeAlone)
    {
        using var json = System.Text.Json.JsonDocument.Parse(query);
        LogQuery parsed = Flotel.Store.Query.Elasticsearch.QueryDslParser.ParseQuery(json.RootElement);

        Assert.Equal(byTimeAlone, LogStore.TimeInterval(parsed) is not null);
    }

    [Fact]
    public void TimeInterval_Bounds_HalfOpenInWholeMilliseconds()
    {
        var query = new BoolQuery([new RangeQuery("@timestamp", 5L, null, null, 9L)], [new RangeQuery("@timestamp", null, 3L, 8L, null)], [], [], null);

        Assert.Equal((6L, 8L), LogStore.TimeInterval(query));
    }

    /// <summary>
    /// Documents with ids over about two hours, one commit per batch: most batches in ts order (ordered blocks), every
    /// third shuffled; batch 5 brings documents without <c>@timestamp</c>; batch 9 replaces ids of earlier batches (rows
    /// gone from ordered blocks) and replaces one of its own ids (a row gone from the open block). Returns each kept id's ts.
    /// </summary>
    private static async Task<Dictionary<string, long?>> WriteAsync(LogStore store, int seed)
    {
        var random = new Random(seed);
        var kept = new Dictionary<string, long?>(StringComparer.Ordinal);
        int next = 0;
        for (int batch = 0; batch < 16; batch++)
        {
            var rows = new List<(string Id, long? Ts)>();
            for (int i = 0; i < 300; i++)
            {
                // Batches overlap their neighbours by a minute or two; a fifth of the rows fall on whole seconds (ties).
                long ts = Ms(Day.AddMinutes(8 * batch)) + random.Next(0, 10 * 60_000);
                rows.Add(($"doc{next++}", random.Next(5) == 0 ? ts - (ts % 1000) : ts));
            }

            rows = batch % 3 == 2 ? [.. rows.OrderBy(_ => random.Next())] : [.. rows.OrderBy(r => r.Ts)];
            if (batch == 5)
            {
                rows.InsertRange(100, Enumerable.Range(0, 10).Select(_ => ($"doc{next++}", (long?)null)));
            }

            if (batch == 9)
            {
                rows.AddRange(Enumerable.Range(0, 40).Select(i => ($"doc{i * 37}", (long?)(Ms(Day.AddMinutes(75)) + (i * 1000)))));
                rows.Add((rows[0].Id, Ms(Day.AddMinutes(80))));
            }

            var documents = new List<LogDocument>();
            foreach ((string id, long? ts) in rows)
            {
                string time = ts is { } ms ? $"\"@timestamp\":\"{DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\"," : "";
                documents.Add(new LogDocument(Index, id, Encoding.UTF8.GetBytes($$"""{{{time}}"message":"alpha {{id}}"}""")));
                kept[id] = ts;
            }

            _ = await store.WriteDocumentsAsync(documents);
        }

        return kept;
    }

    private static void AssertHistogramsAsInMemory(LogStore store, Dictionary<string, long?> kept)
    {
        long low = Ms(Day.AddMinutes(31).AddSeconds(17)), high = Ms(Day.AddMinutes(97).AddMilliseconds(501));
        var cases = new (string Query, Func<long, bool> Matches)[]
        {
            ("""{"match_all":{}}""", _ => true),
            ("{\"range\":{\"@timestamp\":{\"gte\":" + low + ",\"lte\":" + high + ",\"format\":\"epoch_millis\"}}}", ts => ts >= low && ts <= high),
            ("{\"bool\":{\"filter\":[{\"range\":{\"@timestamp\":{\"gt\":" + low + ",\"format\":\"epoch_millis\"}}},"
                + "{\"range\":{\"@timestamp\":{\"lt\":" + high + ",\"format\":\"epoch_millis\"}}}]}}", ts => ts > low && ts < high),
            ("{\"range\":{\"@timestamp\":{\"gte\":" + high + ",\"lt\":" + low + ",\"format\":\"epoch_millis\"}}}", _ => false),
        };

        foreach ((string query, Func<long, bool> matches) in cases)
        {
            foreach ((string interval, long ms) in new[] { ("1m", 60_000L), ("7s", 7_000L), ("30m", 1_800_000L) })
            {
                string body = "{\"size\":0,\"query\":" + query
                    + ",\"aggs\":{\"h\":{\"date_histogram\":{\"field\":\"@timestamp\",\"fixed_interval\":\"" + interval + "\",\"min_doc_count\":1}}}}";
                JsonNode aggs = AggregationTests.Run(store, body, Index);

                var expected = kept.Values.Where(ts => ts is { } v && matches(v)).GroupBy(ts => ts!.Value / ms * ms)
                    .OrderBy(g => g.Key).Select(g => (g.Key, (long)g.Count())).ToList();
                var buckets = aggs["h"]!["buckets"]!.AsArray().Select(b => ((long)b!["key"]!, (long)b["doc_count"]!)).ToList();
                Assert.True(expected.SequenceEqual(buckets),
                    $"{query}, {interval}: {buckets.Count} buckets, {expected.Count} expected; first difference at "
                    + $"{expected.Zip(buckets).FirstOrDefault(p => p.First != p.Second)}");
            }
        }
    }

    /// <summary>
    /// Every block's count is the number of its rows with a ts, and a block said to be ordered has every row with a ts, in
    /// ts order of row ids.
    /// </summary>
    private static void AssertBlockRowsExact(string db)
    {
        Assert.Equal(0, Scalar(db, """
            SELECT count(*) FROM blocks_1 b JOIN blockrows_1 r ON r.last_rowid = b.last_rowid
            WHERE r.ts_rows <> (SELECT count(ts) FROM docs_1 WHERE rowid BETWEEN b.first_rowid AND b.last_rowid)
            """));
        Assert.Equal(0, Scalar(db, """
            SELECT count(*) FROM blocks_1 b JOIN blockrows_1 r ON r.last_rowid = b.last_rowid
            WHERE r.ordered = 1 AND (
              EXISTS (SELECT 1 FROM docs_1 WHERE rowid BETWEEN b.first_rowid AND b.last_rowid AND ts IS NULL)
              OR EXISTS (SELECT 1 FROM (SELECT ts, lag(ts) OVER (ORDER BY rowid) AS previous FROM docs_1
                                        WHERE rowid BETWEEN b.first_rowid AND b.last_rowid) WHERE ts < previous))
            """));
    }

    private static long Ms(DateTime time) => new DateTimeOffset(time).ToUnixTimeMilliseconds();

    private static long Scalar(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        _ = command.ExecuteNonQuery();
    }
}
