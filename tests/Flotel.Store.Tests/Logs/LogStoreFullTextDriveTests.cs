using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// Searches whose condition is a full-text match and more (a phrase check, a range on <c>@timestamp</c>, other fields,
/// <c>must_not</c>), which the store counts and pages starting from FTS5 and stops counting at <c>track_total_hits</c>
/// over all indices: three daily indices larger than the probe window, each page and total compared with the same
/// computed in memory from what was written, for several sorts, sizes and caps.
/// </summary>
/// <remarks>
/// Run in both layouts (<see cref="BlockTimes"/>, <see cref="RowTimeIndex"/>): indices with time bounds per block, and
/// indices of the layout before, with a ts index over their rows. Each day is one commit of several blocks that all span
/// the same six hours: every block overlaps every other in time.
/// </remarks>
public abstract class LogStoreFullTextDriveTests(LogStoreFullTextDriveTests.Corpus corpus)
{
    private const int EventsPerDay = 22_000;
    private static readonly DateTime FirstDay = new(2022, 5, 10, 0, 0, 0, DateTimeKind.Utc);

    private readonly TestLogStore _t = corpus.Store;
    private readonly List<Written> _written = corpus.Events;
    private readonly string[] _indices = corpus.Indices;

    [Fact]
    public void Search_FullTextAndMore_SameHitsAndTotalsAsComputedInMemory()
    {
        foreach ((string name, LogQuery query, Func<Written, bool> matches) in Cases())
        {
            foreach ((LogSort[] sort, Comparison<Written> order) in Sorts())
            {
                foreach ((int size, int? cap) in new (int, int?)[] { (1, 10_000), (100, 10_000), (100, 50), (100, null) })
                {
                    var expected = _written.Where(matches).ToList();
                    expected.Sort(order);
                    LogSearchResult result = _t.Store.Search(new LogSearch(_indices, query, sort, 0, size, cap), countOnly: false);

                    string what = $"{name}, sort [{string.Join(", ", sort.Select(s => s.Field + (s.Descending ? " desc" : "")))}], size {size}, cap {cap}";
                    Assert.True(
                        ExpectedTotal(expected.Count, cap) == (result.Total, result.TotalIsLowerBound), $"{what}: total {result.Total} of {expected.Count}");
                    Assert.True(expected.Take(size).Select(e => e.Message).SequenceEqual(Messages(result)), what);
                }
            }
        }
    }

    [Fact]
    public void Search_CountOnly_SameTotalsAsComputedInMemory()
    {
        foreach ((string name, LogQuery query, Func<Written, bool> matches) in Cases())
        {
            foreach (int? cap in new int?[] { 0, 50, 10_000, null })
            {
                int count = _written.Count(matches);
                LogSearchResult result = _t.Store.Search(new LogSearch(_indices, query, [], 0, 0, cap), countOnly: true);

                Assert.True(ExpectedTotal(count, cap) == (result.Total, result.TotalIsLowerBound), $"{name}, cap {cap}: total {result.Total} of {count}");
            }
        }
    }

    [Fact]
    public void Search_SearchAfterThroughFullTextAndRange_SameHitsAsComputedInMemory()
    {
        foreach ((string name, LogQuery query, Func<Written, bool> matches) in Cases().Where(c => c.Name.Contains("range", StringComparison.Ordinal)
            || c.Name.StartsWith("phrase", StringComparison.Ordinal)))
        {
            // _doc last: search_after resumes strictly after the last hit's values, so rows tied with it on every key would
            // be skipped (as in Elasticsearch); the document order (index, then row) breaks the ties the oracle breaks.
            foreach ((LogSort[] keys, Comparison<Written> order) in Sorts().Where(s => s.Sort.Length > 0))
            {
                LogSort[] sort = [.. keys, new LogSort("_doc", false)];
                var expected = _written.Where(matches).ToList();
                expected.Sort(order);
                var seen = new List<string>();
                IReadOnlyList<object?>? after = null;
                for (int pages = 0; pages < 8; pages++)
                {
                    LogSearchResult result = _t.Store.Search(
                        new LogSearch(_indices, query, sort, 0, 100, 10_000) { SearchAfter = after }, countOnly: false);
                    if (result.Hits.Count == 0)
                    {
                        break;
                    }

                    seen.AddRange(Messages(result));
                    after = result.Hits[^1].SortValues;
                }

                Assert.True(expected.Take(800).Select(e => e.Message).SequenceEqual(seen), $"{name}, sort [{string.Join(", ", sort.Select(s => s.Field))}]");
            }
        }
    }

    private static (long Total, bool LowerBound) ExpectedTotal(int count, int? cap) =>
        cap is { } c && count > c ? (c, true) : (count, false);

    private static IEnumerable<string> Messages(LogSearchResult result) =>
        result.Hits.Select(h => JsonNode.Parse(h.Source)!["message"]!.GetValue<string>());

    private IEnumerable<(string Name, LogQuery Query, Func<Written, bool> Matches)> Cases()
    {
        long Ms(DateTime time) => new DateTimeOffset(time).ToUnixTimeMilliseconds();
        DateTime newest = _written.Max(w => w.Ts);
        DateTime lastDayEnd = newest;
        // Edges that are the timestamps of written rows (inclusive and exclusive bounds must keep or drop exactly them).
        DateTime low = _written[(2 * EventsPerDay) + 500].Ts;
        DateTime high = low.AddMinutes(20);
        var slowOrError = new BoolQuery([], [], [new MatchQuery("message", "slow", false), new MatchQuery("message", "error", false)], [], null);
        bool SlowOrError(Written w) => w.Has("slow") || w.Has("error");
        LogQuery Ranged(LogQuery q, object? gt, object? gte, object? lt, object? lte) =>
            new BoolQuery([q], [new RangeQuery("@timestamp", gt, gte, lt, lte)], [], [], null);

        foreach (string term in new[] { "alpha", "beta", "completed", "absent" })
        {
            yield return ("term " + term, new MatchQuery("message", term, false), w => w.Has(term));
        }

        var phrase = new PhraseQuery("message", "request completed");
        yield return ("phrase", phrase, w => w.Message.Contains("request completed", StringComparison.Ordinal));
        yield return ("phrase, severity 3", new BoolQuery([phrase], [new TermsQuery("severity", [3L])], [], [], null),
            w => w.Message.Contains("request completed", StringComparison.Ordinal) && w.Severity == 3);
        yield return ("alpha, must_not completed",
            new BoolQuery([new MatchQuery("message", "alpha", false)], [], [], [new MatchQuery("message", "completed", false)], null),
            w => w.Has("alpha") && !w.Has("completed"));
        yield return ("slow or error, newest 15 minutes range", Ranged(slowOrError, null, Ms(newest.AddMinutes(-15)), null, Ms(lastDayEnd)),
            w => SlowOrError(w) && w.Ts >= newest.AddMinutes(-15));
        yield return ("slow or error, range gte/lte on rows", Ranged(slowOrError, null, Ms(low), null, Ms(high)),
            w => SlowOrError(w) && w.Ts >= low && w.Ts <= high);
        yield return ("slow or error, range gt/lt on rows", Ranged(slowOrError, Ms(low), null, Ms(high), null),
            w => SlowOrError(w) && w.Ts > low && w.Ts < high);
        yield return ("completed, range over two days",
            Ranged(new MatchQuery("message", "completed", false), null, Ms(FirstDay.AddHours(5)), null, Ms(FirstDay.AddDays(1).AddHours(1))),
            w => w.Has("completed") && w.Ts >= FirstDay.AddHours(5) && w.Ts <= FirstDay.AddDays(1).AddHours(1));
        yield return ("completed, range with no rows",
            Ranged(new MatchQuery("message", "completed", false), null, Ms(FirstDay.AddHours(12)), null, Ms(FirstDay.AddHours(20))),
            _ => false);
        yield return ("phrase, range over everything", Ranged(phrase, null, Ms(FirstDay), null, Ms(FirstDay.AddDays(3))),
            w => w.Message.Contains("request completed", StringComparison.Ordinal));
        yield return ("alpha, range of the last day", Ranged(new MatchQuery("message", "alpha", false), null, Ms(FirstDay.AddDays(2)), null, null),
            w => w.Has("alpha") && w.Ts >= FirstDay.AddDays(2));
    }

    private static IEnumerable<(LogSort[] Sort, Comparison<Written> Order)> Sorts()
    {
        static int Insertion(Written a, Written b) => a.Day != b.Day ? a.Day.CompareTo(b.Day) : a.Row.CompareTo(b.Row);
        yield return ([new LogSort("@timestamp", true)], (a, b) => b.Ts != a.Ts ? b.Ts.CompareTo(a.Ts) : Insertion(a, b));
        yield return ([new LogSort("@timestamp", false)], (a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : Insertion(a, b));
        yield return ([new LogSort("severity", false), new LogSort("@timestamp", true)],
            (a, b) => a.Severity != b.Severity ? a.Severity.CompareTo(b.Severity) : b.Ts != a.Ts ? b.Ts.CompareTo(a.Ts) : Insertion(a, b));
        yield return ([], Insertion);
    }

    /// <summary>The three days of events, written once for the tests of a class (they only read).</summary>
    public abstract class Corpus(bool rowTimeIndex) : IAsyncLifetime
    {
        internal TestLogStore Store { get; } = rowTimeIndex
            ? TestLogStore.WithRowTimeIndexLayout("logstash-2022.05.10", "logstash-2022.05.11", "logstash-2022.05.12")
            : new();

        public List<Written> Events { get; } = [];

        public string[] Indices { get; private set; } = [];

        public async Task InitializeAsync()
        {
            var random = new Random(11);
            for (int day = 0; day < 3; day++)
            {
                var batch = new List<LogEvent>();
                for (int i = 0; i < EventsPerDay; i++)
                {
                    // Seconds of the day's first six hours, drawn: insertion order is not time order, and rows share seconds.
                    DateTime ts = FirstDay.AddDays(day).AddSeconds(random.Next(0, 6 * 3600));
                    var words = new List<string>();
                    words.Add(i % 3 == 0 ? "alpha" : "filler");
                    switch (random.Next(16))
                    {
                        case < 2: words.Add("request completed"); break;
                        case 2: words.Add("completed request"); break; // both tokens, not the phrase
                        case 3: words.Add("request was completed"); break;
                        default: break;
                    }

                    if (random.Next(150) == 0)
                    {
                        words.Add("slow");
                    }

                    if (random.Next(220) == 0)
                    {
                        words.Add("error");
                    }

                    if (i % 20 == 1 && i < 3_000)
                    {
                        // beta only in the day's first quarter hour: its newest page lies outside the probe window.
                        words.Add("beta");
                        ts = FirstDay.AddDays(day).AddSeconds(random.Next(0, 900));
                    }

                    string message = string.Join(' ', words) + $" n{day}x{i}";
                    int severity = random.Next(8);
                    Events.Add(new Written(ts, message, severity, day, i));
                    batch.Add(TestLogStore.Event(ts, message, priority: 8 + severity));
                }

                await Store.Store.WriteAsync(batch);
            }

            Indices = [.. Store.Store.ListIndices().Select(i => i.Name)];
            Assert.Equal(3, Indices.Length);
        }

        public Task DisposeAsync()
        {
            Store.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>A written event: its day (the index, in creation order) and its place among that day's rows.</summary>
    public sealed record Written(DateTime Ts, string Message, int Severity, int Day, int Row)
    {
        public bool Has(string token) => Message.Split(' ').Contains(token);
    }

    /// <summary>The tests over indices with time bounds per block.</summary>
    public sealed class BlockTimes(BlockTimes.Days days) : LogStoreFullTextDriveTests(days), IClassFixture<BlockTimes.Days>
    {
        /// <summary>The corpus in indices the store creates.</summary>
        public sealed class Days() : Corpus(rowTimeIndex: false);
    }

    /// <summary>The tests over indices of the layout with a ts index over their rows.</summary>
    public sealed class RowTimeIndex(RowTimeIndex.Days days) : LogStoreFullTextDriveTests(days), IClassFixture<RowTimeIndex.Days>
    {
        /// <summary>The corpus in indices made in that layout before the store opened.</summary>
        public sealed class Days() : Corpus(rowTimeIndex: true);
    }
}
