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
/// Time bounds per <c>_source</c> block (schema in <see cref="LogStore"/>): blocks whose times overlap (rows out of order
/// across batches, a replayed batch), ties at the last place of a page, ranges that cut blocks or fall between rows of
/// overlapping blocks, rows without <c>@timestamp</c>, re-packed and retention-deleted blocks; each page, total and
/// date histogram compared with the same computed in memory from what was written, in indices with block time bounds
/// and in indices of the layout before (a ts index over the rows).
/// </summary>
public sealed class LogStoreBlockTimesTests
{
    private const string Index = "logstash-2022.05.12";
    private static readonly DateTime Day = new(2022, 5, 12, 0, 0, 0, DateTimeKind.Utc);

    // No row is written in [EmptyFrom, EmptyFrom + 1 min), although the blocks of batches 19 to 21 span it.
    private static readonly DateTime EmptyFrom = Day.AddMinutes(200);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Search_OverlappingBlocks_SameHitsAndTotalsAsComputedInMemory(bool rowTimeIndex)
    {
        using TestLogStore t = rowTimeIndex ? TestLogStore.WithRowTimeIndexLayout(Index) : new TestLogStore();
        List<Written> written = await WriteAsync(t.Store, batches: 24, perBatch: 500, seed: 3);

        AssertSearchesAsInMemory(t.Store, written);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Search_SearchAfterThroughOverlappingBlocks_SameHitsAsComputedInMemory(bool rowTimeIndex)
    {
        using TestLogStore t = rowTimeIndex ? TestLogStore.WithRowTimeIndexLayout(Index) : new TestLogStore();
        List<Written> written = await WriteAsync(t.Store, batches: 12, perBatch: 500, seed: 4);

        foreach ((string name, LogQuery query, Func<Written, bool> matches) in Cases())
        {
            foreach (bool newestFirst in new[] { true, false })
            {
                LogSort[] sort = [new LogSort("@timestamp", newestFirst), new LogSort("_doc", false)];
                List<Written> expected = Sorted(written.Where(matches), newestFirst);
                var seen = new List<string>();
                IReadOnlyList<object?>? after = null;
                for (int pages = 0; pages < 60; pages++)
                {
                    LogSearchResult result = t.Store.Search(new LogSearch([Index], query, sort, 0, 150) { SearchAfter = after }, countOnly: false);
                    if (result.Hits.Count == 0)
                    {
                        break;
                    }

                    seen.AddRange(Messages(result));
                    after = result.Hits[^1].SortValues;
                }

                string what = $"{name}, {(newestFirst ? "newest" : "oldest")} first: {seen.Count} of {expected.Count}";
                Assert.True(expected.Select(e => e.Message).SequenceEqual(seen), what);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Aggregate_DateHistogramOverOverlappingBlocks_SameBucketsAsComputedInMemory(bool rowTimeIndex)
    {
        using TestLogStore t = rowTimeIndex ? TestLogStore.WithRowTimeIndexLayout(Index) : new TestLogStore();
        List<Written> written = await WriteAsync(t.Store, batches: 24, perBatch: 300, seed: 5);
        (long low, long high) = (Ms(Day.AddMinutes(95).AddSeconds(17)), Ms(Day.AddMinutes(143)));
        string range = "{\"range\":{\"@timestamp\":{\"gte\":" + low + ",\"lte\":" + high + ",\"format\":\"epoch_millis\"}}}";
        string empty = "{\"range\":{\"@timestamp\":{\"gte\":" + Ms(EmptyFrom) + ",\"lt\":" + Ms(EmptyFrom.AddMinutes(1)) + ",\"format\":\"epoch_millis\"}}}";
        var cases = new (string Query, Func<Written, bool> Matches)[]
        {
            ("""{"match_all":{}}""", _ => true),
            ("{\"bool\":{\"filter\":[" + range + ",{\"term\":{\"severity\":3}}]}}", w => w.Severity == 3 && w.Ts >= low && w.Ts <= high),
            ("{\"bool\":{\"must\":[{\"match\":{\"message\":\"alpha\"}}],\"filter\":[" + range + "]}}", w => w.Has("alpha") && w.Ts >= low && w.Ts <= high),
            ("{\"bool\":{\"filter\":[" + empty + "]}}", _ => false),
        };

        foreach ((string query, Func<Written, bool> matches) in cases)
        {
            string body = "{\"size\":0,\"query\":" + query
                + ",\"aggs\":{\"h\":{\"date_histogram\":{\"field\":\"@timestamp\",\"fixed_interval\":\"5m\",\"min_doc_count\":1}}}}";
            JsonNode aggs = AggregationTests.Run(t.Store, body, Index);

            var expected = written.Where(w => w.Ts is not null && matches(w)).GroupBy(w => w.Ts!.Value / 300_000 * 300_000)
                .OrderBy(g => g.Key).Select(g => (g.Key, (long)g.Count())).ToList();
            var buckets = aggs["h"]!["buckets"]!.AsArray().Select(b => ((long)b!["key"]!, (long)b["doc_count"]!)).ToList();
            Assert.True(expected.SequenceEqual(buckets), $"{query}: {buckets.Count} buckets, {expected.Count} expected");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Search_TieAtTheLastPlaceWithARowOfTheNextBlock_TakesTheEarlierWrittenRow(bool rowTimeIndex)
    {
        // Day 12 newest first: block A (written first) holds one row at T and many older ones, block B ten rows newer
        // than T but for one at T. B comes first (its max_ts is greater); the page's tenth row is at T, and so is A's
        // max_ts: A's row, written earlier, is the tenth. Day 13 mirrors it oldest first.
        const string Next = "logstash-2022.05.13";
        using TestLogStore t = rowTimeIndex ? TestLogStore.WithRowTimeIndexLayout(Index, Next) : new TestLogStore();
        DateTime newest = Day.AddHours(12), oldest = Day.AddDays(1).AddHours(12);
        var a = new List<LogEvent> { TestLogStore.Event(newest, "tie a-at-t"), TestLogStore.Event(oldest, "tie a-at-t") };
        for (int i = 0; i < 1_200; i++)
        {
            a.Add(TestLogStore.Event(newest.AddMinutes(-10), $"tie a{i}"));
            a.Add(TestLogStore.Event(oldest.AddMinutes(10), $"tie a{i}"));
        }

        var b = new List<LogEvent>();
        for (int i = 0; i < 9; i++)
        {
            b.Add(TestLogStore.Event(newest.AddMinutes(1), $"tie b{i}"));
            b.Add(TestLogStore.Event(oldest.AddMinutes(-1), $"tie b{i}"));
        }

        b.Add(TestLogStore.Event(newest, "tie b-at-t"));
        b.Add(TestLogStore.Event(oldest, "tie b-at-t"));
        await t.Store.WriteAsync(a);
        await t.Store.WriteAsync(b);

        foreach ((string index, bool newestFirst) in new[] { (Index, true), (Next, false) })
        {
            LogSearchResult result = t.Store.Search(
                new LogSearch([index], new MatchQuery("message", "tie", false), [new LogSort("@timestamp", newestFirst)], 0, 10), countOnly: false);

            Assert.Equal([.. Enumerable.Range(0, 9).Select(i => $"tie b{i}"), "tie a-at-t"], Messages(result));
        }
    }

    [Fact]
    public async Task MergeStepAsync_OverlappingSmallBlocks_JoinedBlockBoundsAreTheUnionOfTheirs()
    {
        using var t = new TestLogStore();
        List<Written> written = await WriteAsync(t.Store, batches: 30, perBatch: 40, seed: 6);
        string db = t.Options.DatabasePath;
        long before = Scalar(db, "SELECT count(*) FROM blocks_1");

        for (int steps = 0; steps < 1000 && await t.Store.MergeStepAsync(); steps++)
        {
        }

        Assert.True(Scalar(db, "SELECT count(*) FROM blocks_1") < before, "no blocks were joined");
        // Each block's bounds are exactly the least and greatest ts of its rows (no row was replaced or deleted).
        Assert.Equal(0, Scalar(db, """
            SELECT count(*) FROM blocks_1 b WHERE b.min_ts IS NOT (SELECT min(ts) FROM docs_1 WHERE rowid BETWEEN b.first_rowid AND b.last_rowid)
              OR b.max_ts IS NOT (SELECT max(ts) FROM docs_1 WHERE rowid BETWEEN b.first_rowid AND b.last_rowid)
            """));
        AssertEveryRowInsideItsBlockBounds(db);
        AssertSearchesAsInMemory(t.Store, written);
    }

    [Fact]
    public async Task WriteAsync_OverMaxBytesWithOverlappingBlocks_DeletesWholeBlocksAndRangesStayExactOverTheRest()
    {
        using var t = new TestLogStore(o => o.MaxBytes = 1024 * 1024);
        var random = new Random(8);
        var written = new List<Written>();
        for (int batch = 0; batch < 14; batch++)
        {
            var events = new List<LogEvent>();
            for (int i = 0; i < 200; i++)
            {
                // Every batch spans the same hour: each block overlaps every other, so the survivors' times cover it all.
                DateTime ts = Day.AddSeconds(random.Next(0, 3600));
                string message = $"row{written.Count} {(i % 2 == 0 ? "alpha" : "beta")} {TestLogStore.RandomWords(random, 800)}";
                written.Add(new Written(Ms(ts), message, 6, written.Count));
                events.Add(TestLogStore.Event(ts, message));
            }

            await t.Store.WriteAsync(events);
        }

        string db = t.Options.DatabasePath;
        Assert.True(t.Store.RetentionDeletedEvents.BySize > 0, "nothing was deleted");
        AssertEveryRowInsideItsBlockBounds(db);
        // The rows kept are those of the blocks kept: the written rows from the first kept row id on.
        long firstKept = Scalar(db, "SELECT min(rowid) FROM docs_1");
        Assert.Equal(firstKept, Scalar(db, "SELECT min(first_rowid) FROM blocks_1"));
        var kept = written.Where(w => w.Row + 1 >= firstKept).ToList();
        var ranges = new[] { (Day, Day.AddMinutes(5)), (Day.AddMinutes(20), Day.AddMinutes(21)), (Day.AddMinutes(59), Day.AddHours(2)) };
        foreach ((DateTime from, DateTime to) in ranges)
        {
            var query = new BoolQuery([new MatchQuery("message", "alpha", false)], [new RangeQuery("@timestamp", null, Ms(from), Ms(to), null)], [], [], null);
            List<Written> expected = Sorted(kept.Where(w => w.Has("alpha") && w.Ts >= Ms(from) && w.Ts < Ms(to)), newestFirst: true);
            LogSearchResult result = t.Store.Search(new LogSearch([Index], query, [new LogSort("@timestamp", true)], 0, 50), countOnly: false);

            Assert.Equal(expected.Count, result.Total);
            Assert.Equal(expected.Take(50).Select(e => e.Message), Messages(result));
        }
    }

    [Fact]
    public async Task Open_IndexOfTheRowTimeIndexLayout_KeepsItsLayoutWhileNewIndicesGetBlockTimes()
    {
        using TestLogStore t = TestLogStore.WithRowTimeIndexLayout(Index);
        List<Written> written = await WriteAsync(t.Store, batches: 6, perBatch: 200, seed: 9);
        await t.Store.WriteAsync([TestLogStore.Event(Day.AddDays(1).AddHours(1), "alpha next day")]);
        t.Reopen();
        List<Written> more = await WriteAsync(t.Store, batches: 3, perBatch: 200, seed: 10, firstRow: written.Count);
        written.AddRange(more);

        string db = t.Options.DatabasePath;
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs_1_ts'"));
        Assert.Equal(0, Scalar(db, "SELECT count(*) FROM pragma_table_info('blocks_1') WHERE name = 'min_ts'"));
        Assert.Equal(0, Scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs_2_ts'"));
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM pragma_table_info('blocks_2') WHERE name = 'min_ts'"));
        AssertSearchesAsInMemory(t.Store, written);
        var next = new LogSearch(["logstash-2022.05.13"], new MatchQuery("message", "alpha", false), [new LogSort("@timestamp", true)], 0, 10);
        Assert.Equal(["alpha next day"], Messages(t.Store.Search(next, countOnly: false)));
    }

    /// <summary>Every row lies in one block whose bounds hold its ts.</summary>
    private static void AssertEveryRowInsideItsBlockBounds(string db)
    {
        Assert.Equal(0, Scalar(db, """
            SELECT count(*) FROM docs_1 d WHERE (SELECT count(*) FROM blocks_1 b WHERE d.rowid BETWEEN b.first_rowid AND b.last_rowid
              AND (d.ts IS NULL OR d.ts BETWEEN b.min_ts AND b.max_ts)) <> 1
            """));
    }

    private static void AssertSearchesAsInMemory(LogStore store, List<Written> written)
    {
        foreach ((string name, LogQuery query, Func<Written, bool> matches) in Cases())
        {
            foreach (LogSort[] sort in new LogSort[][]
            {
                [new LogSort("@timestamp", true)],
                [new LogSort("@timestamp", false)],
                [new LogSort("@timestamp", true), new LogSort("_doc", true)],
            })
            {
                bool newestFirst = sort[0].Descending;
                List<Written> expected = Sorted(written.Where(matches), newestFirst);
                if (sort.Length > 1)
                {
                    // _doc descending breaks the ties of equal times: the later row first.
                    expected = [.. expected.OrderBy(w => w.Ts is null).ThenBy(w => newestFirst ? -(w.Ts ?? 0) : w.Ts ?? 0).ThenByDescending(w => w.Row)];
                }

                foreach (int size in new[] { 1, 10, 100, 1200 })
                {
                    LogSearchResult result = store.Search(new LogSearch([Index], query, sort, 0, size), countOnly: false);

                    string what = $"{name}, {string.Join(", ", sort.Select(s => s.Field + (s.Descending ? " desc" : "")))}, size {size}";
                    Assert.True(expected.Count == result.Total, $"{what}: total {result.Total} of {expected.Count}");
                    Assert.True(expected.Take(size).Select(e => e.Message).SequenceEqual(Messages(result)), what);
                }
            }
        }
    }

    private static IEnumerable<(string Name, LogQuery Query, Func<Written, bool> Matches)> Cases()
    {
        long low = Ms(Day.AddMinutes(95).AddSeconds(17)), high = Ms(Day.AddMinutes(143));
        long emptyFrom = Ms(EmptyFrom), emptyTo = Ms(EmptyFrom.AddMinutes(1));
        LogQuery Ranged(LogQuery q, object? gt, object? gte, object? lt, object? lte) =>
            new BoolQuery([q], [new RangeQuery("@timestamp", gt, gte, lt, lte)], [], [], null);

        yield return ("match_all", MatchAllQuery.Instance, _ => true);
        yield return ("alpha", new MatchQuery("message", "alpha", false), w => w.Has("alpha"));
        yield return ("beta", new MatchQuery("message", "beta", false), w => w.Has("beta"));
        yield return ("severity 3", new TermsQuery("severity", [3L]), w => w.Severity == 3);
        yield return ("alpha, range cutting blocks", Ranged(new MatchQuery("message", "alpha", false), null, low, null, high),
            w => w.Has("alpha") && w.Ts >= low && w.Ts <= high);
        yield return ("range gt/lt cutting blocks", Ranged(MatchAllQuery.Instance, low, null, high, null), w => w.Ts > low && w.Ts < high);
        yield return ("severity 3, range", Ranged(new TermsQuery("severity", [3L]), null, low, null, high),
            w => w.Severity == 3 && w.Ts >= low && w.Ts <= high);
        yield return ("range between the rows of overlapping blocks", Ranged(MatchAllQuery.Instance, null, emptyFrom, emptyTo, null), _ => false);
        yield return ("alpha, range between the rows of overlapping blocks",
            Ranged(new MatchQuery("message", "alpha", false), null, emptyFrom, emptyTo, null), _ => false);
        yield return ("range before every row", Ranged(MatchAllQuery.Instance, null, null, null, Ms(Day.AddDays(-1))), _ => false);
        yield return ("with @timestamp", new RangeQuery("@timestamp", null, null, null, null), w => w.Ts is not null);
        yield return ("alpha or nots, the whole day",
            Ranged(new BoolQuery([], [], [new MatchQuery("message", "alpha", false), new MatchQuery("message", "nots", false)], [], null),
                null, Ms(Day), null, Ms(Day.AddDays(1))),
            w => (w.Has("alpha") || w.Has("nots")) && w.Ts is not null);
        yield return ("alpha or nots", new BoolQuery([], [], [new MatchQuery("message", "alpha", false), new MatchQuery("message", "nots", false)], [], null),
            w => w.Has("alpha") || w.Has("nots"));
    }

    /// <summary>
    /// Writes one commit per batch (a block each, or more): batch b's rows are within 15 minutes of minute 10·b, so
    /// neighbouring blocks overlap; batch 10 replays the day's first hour; a fifth of the rows fall on whole minutes (ties
    /// across blocks); no row falls in the minute from <see cref="EmptyFrom"/>; batch 7 brings documents without
    /// <c>@timestamp</c> too.
    /// </summary>
    private static async Task<List<Written>> WriteAsync(LogStore store, int batches, int perBatch, int seed, int firstRow = 0)
    {
        var random = new Random(seed);
        var written = new List<Written>();
        for (int batch = 0; batch < batches; batch++)
        {
            var events = new List<LogEvent>();
            for (int i = 0; i < perBatch; i++)
            {
                DateTime ts = batch == 10 ? Day.AddSeconds(random.Next(0, 3600)) : Day.AddMinutes(10 * batch).AddSeconds(random.Next(-900, 900));
                ts = ts < Day ? Day : ts;
                ts = random.Next(5) == 0 ? new DateTime(ts.Ticks - (ts.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc) : ts;
                ts = ts >= EmptyFrom && ts < EmptyFrom.AddMinutes(1) ? ts.AddMinutes(1) : ts;
                string word = random.Next(3) == 0 ? "alpha" : random.Next(40) == 0 ? "beta" : "filler";
                int severity = random.Next(8);
                string message = $"{word} row{firstRow + written.Count}";
                written.Add(new Written(Ms(ts), message, severity, firstRow + written.Count));
                events.Add(TestLogStore.Event(ts, message, priority: 8 + severity));
            }

            await store.WriteAsync(events);
            if (batch == 7)
            {
                var documents = new List<LogDocument>();
                for (int i = 0; i < 25; i++)
                {
                    string message = $"nots row{firstRow + written.Count}";
                    written.Add(new Written(null, message, -1, firstRow + written.Count));
                    documents.Add(new LogDocument(Index, null, Encoding.UTF8.GetBytes($$"""{"message":"{{message}}"}""")));
                }

                _ = await store.WriteDocumentsAsync(documents);
            }
        }

        return written;
    }

    /// <summary>The order of a sort on <c>@timestamp</c>: rows without one last, ties in the order they were written.</summary>
    private static List<Written> Sorted(IEnumerable<Written> rows, bool newestFirst) =>
        [.. rows.OrderBy(w => w.Ts is null).ThenBy(w => newestFirst ? -(w.Ts ?? 0) : w.Ts ?? 0).ThenBy(w => w.Row)];

    private static IEnumerable<string> Messages(LogSearchResult result) =>
        result.Hits.Select(h => JsonNode.Parse(h.Source)!["message"]!.GetValue<string>());

    private static long Ms(DateTime time) => new DateTimeOffset(time).ToUnixTimeMilliseconds();

    private static long Scalar(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>A written row: its ts in Unix milliseconds (null: none), its severity, its place in the writing order.</summary>
    private sealed record Written(long? Ts, string Message, int Severity, int Row)
    {
        public bool Has(string token) => Message.Split(' ').Contains(token);
    }
}

