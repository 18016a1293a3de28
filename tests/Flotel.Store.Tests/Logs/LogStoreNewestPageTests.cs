using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// Newest-first pages of full-text searches over an index larger than the store's probe window (the newest 20,000 rows
/// walked with a full-text probe per row): dense, sparse and rare terms, timestamps out of insertion order and tied, each
/// page compared with the same page computed in memory from what was written; in an index with block time bounds and
/// in one of the layout before, with a ts index over its rows.
/// </summary>
public sealed class LogStoreNewestPageTests
{
    private const int Events = 30_000;
    private static readonly DateTime Day = new(2022, 5, 12, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Search_NewestFirstOverManyRows_SameHitsAndTotalsAsComputedInMemory(bool rowTimeIndex)
    {
        using TestLogStore t = rowTimeIndex ? TestLogStore.WithRowTimeIndexLayout("logstash-2022.05.12") : new TestLogStore();
        var random = new Random(7);
        var written = new List<(DateTime Ts, string Message)>();
        var batch = new List<LogEvent>();
        for (int i = 0; i < Events; i++)
        {
            // Seconds of one day, drawn: insertion order is not time order, and many rows share a second.
            var ts = Day.AddSeconds(random.Next(0, 86_400 / 4));
            string word = i % 3 == 0 ? "alpha" : i < 1_500 * 20 && i % 20 == 1 ? "beta" : "filler";
            if (i % 750 == 7)
            {
                word += " gamma";
            }

            // beta only in the oldest quarter hour: its newest page lies outside the probe window.
            if (word.StartsWith("beta", StringComparison.Ordinal))
            {
                ts = Day.AddSeconds(random.Next(0, 900));
            }

            string message = $"{word} n{i}";
            written.Add((ts, message));
            batch.Add(TestLogStore.Event(ts, message));
            if (batch.Count == 5_000)
            {
                await t.Store.WriteAsync(batch);
                batch.Clear();
            }
        }

        await t.Store.WriteAsync(batch);
        string index = Assert.Single(t.Store.ListIndices()).Name;

        foreach (string term in new[] { "alpha", "beta", "gamma", "absent" })
        {
            foreach (int size in new[] { 1, 100, 250 })
            {
                var expected = written.Select((w, row) => (w.Ts, w.Message, Row: row))
                    .Where(w => w.Message.Split(' ').Contains(term))
                    .OrderByDescending(w => w.Ts).ThenBy(w => w.Row).ToList();
                LogSearchResult result = t.Store.Search(
                    new LogSearch([index], new MatchQuery("message", term, false), [new LogSort("@timestamp", true)], 0, size, TrackTotalHitsUpTo: 10_000),
                    countOnly: false);

                Assert.Equal(Math.Min(expected.Count, 10_001), result.Total);
                Assert.Equal(
                    expected.Take(size).Select(e => e.Message),
                    result.Hits.Select(h => JsonNode.Parse(h.Source)!["message"]!.GetValue<string>()));
            }
        }
    }
}
