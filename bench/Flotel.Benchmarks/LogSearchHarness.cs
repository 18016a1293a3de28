using System.Diagnostics;
using System.Globalization;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Benchmarks;

/// <summary>
/// A stopwatch harness for searches over a <c>logs.db</c> kept by <c>bench/peers/log-storage.sh --keep DIR</c> (the mix
/// shape of bench/Flotel.LogCorpus): single terms, phrases, a page of the newest events and a count over a field only
/// the <c>_source</c> JSON holds, each the median (and 90th percentile) of REPEATS runs, wall and process CPU time; then
/// the requests of <c>bench/peers/log-search.sh</c> as the Elasticsearch API passes them (newest 100, totals up to 10,000,
/// the range the newest 15 minutes before the newest event) and its histogram's aggregation, for a data directory that
/// script kept with <c>--data</c>.
/// <c>--only TEXT</c> runs the searches whose name holds TEXT.
/// The database is copied first, so the kept file is never changed (the store opens a database of an older layout as it
/// is). In process: no HTTP, no JSON encoding of the response.
/// <code>
/// dotnet run -c Release --project bench/Flotel.Benchmarks -- log-search --db DIR/mix.db [--repeats N] [--only TEXT]
/// </code>
/// </summary>
internal static class LogSearchHarness
{
    private static readonly (string Name, LogQuery Query, int Size, bool Newest, bool CountOnly, int? UpTo)[] Searches =
    [
        ("term: completed (newest 10)", new MatchQuery("message", "completed", false), 10, true, false, null),
        ("term: deactivated (newest 10)", new MatchQuery("message", "deactivated", false), 10, true, false, null),
        ("term: deactivated (100, unsorted)", new MatchQuery("message", "deactivated", false), 100, false, false, null),
        ("match_phrase: request completed (newest 10)", new PhraseQuery("message", "request completed"), 10, true, false, null),
        ("match_phrase: New message at (100, unsorted)", new PhraseQuery("message", "New message at"), 100, false, false, null),
        ("match_all (newest 100)", MatchAllQuery.Instance, 100, true, false, null),
        ("count facility_label:user-level (source only)", new TermsQuery("facility_label", ["user-level"]), 0, false, true, null),
    ];

    public static int Run(string[] args)
    {
        string? db = null;
        int repeats = 30;
        string? only = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--db": db = args[i + 1]; break;
                case "--repeats": repeats = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--only": only = args[i + 1]; break;
                default: Console.Error.WriteLine("usage: log-search --db PATH [--repeats N] [--only TEXT]"); return 2;
            }
        }

        if (db is null || !File.Exists(db))
        {
            Console.Error.WriteLine("usage: log-search --db PATH [--repeats N] (PATH: a logs.db kept by bench/peers/log-storage.sh --keep)");
            return 2;
        }

        string directory = Path.Combine(Path.GetTempPath(), "flotel-log-search-" + Guid.NewGuid().ToString("N"));
        _ = Directory.CreateDirectory(directory);
        try
        {
            var options = new LogStoreOptions { DataDirectory = directory, MaxAge = null, MaxBytes = null };
            File.Copy(db, options.DatabasePath);
            using LogStore store = LogStore.Open(options);
            string[] indices = [.. store.ListIndices().Select(i => i.Name)];
            Console.WriteLine($"{db}: {store.ListIndices().Sum(i => i.DocumentCount)} events, {repeats} runs each; median (p90) ms");
            Console.WriteLine("| search | matches | wall ms | CPU ms |");
            Console.WriteLine("|---|---:|---:|---:|");
            LogHit newestHit = store.Search(new LogSearch(indices, MatchAllQuery.Instance, [new LogSort("@timestamp", true)], 0, 1), false).Hits[0];
            long newestMs = Convert.ToInt64(newestHit.SortValues[0], CultureInfo.InvariantCulture);
            var slowOrError = new BoolQuery([], [], [new MatchQuery("message", "slow", false), new MatchQuery("message", "error", false)], [], null);
            (string, LogQuery, int, bool, bool, int?)[] requests =
            [
                ("log-search.sh term: completed (newest 100, up to 10,000)", new MatchQuery("message", "completed", false), 100, true, false, 10_000),
                ("log-search.sh phrase: request completed (newest 100, up to 10,000)",
                    new PhraseQuery("message", "request completed"), 100, true, false, 10_000),
                ("log-search.sh qs+range: slow OR error, newest 15 min (newest 100, up to 10,000)",
                    new BoolQuery([slowOrError], [new RangeQuery("@timestamp", null, newestMs - (15 * 60_000), null, newestMs)], [], [], null),
                    100, true, false, 10_000),
            ];
            foreach ((string name, LogQuery query, int size, bool newest, bool countOnly, int? upTo) in Searches.Concat(requests)
                .Where(s => only is null || s.Item1.Contains(only, StringComparison.Ordinal)))
            {
                var search = new LogSearch(indices, query, newest ? [new LogSort("@timestamp", true)] : [], 0, size, upTo);
                long matches = store.Search(search, countOnly).Total;
                var wall = new List<double>(repeats);
                var cpu = new List<double>(repeats);
                for (int r = 0; r < repeats; r++)
                {
                    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    _ = store.Search(search, countOnly);
                    wall.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {matches} | "
                    + $"{Percentile(wall, 0.5):0.00} ({Percentile(wall, 0.9):0.00}) | {Percentile(cpu, 0.5):0.0} ({Percentile(cpu, 0.9):0.0}) |"));
            }

            // Grafana's logs volume as log-search.sh sends it: the aggregation part alone (its 1,000 hits are a search above).
            string histogram = "{\"size\":0,\"query\":{\"bool\":{\"filter\":[{\"range\":{\"@timestamp\":{\"gte\":" + (newestMs - (60 * 60_000))
                + ",\"lte\":" + newestMs + ",\"format\":\"epoch_millis\"}}}]}},\"aggs\":{\"2\":{\"date_histogram\":{\"field\":\"@timestamp\","
                + "\"fixed_interval\":\"1m\",\"min_doc_count\":0}}}}";
            const string HistogramName = "log-search.sh histogram: date_histogram 1m over the newest hour (aggregation only)";
            if (only is null || HistogramName.Contains(only, StringComparison.Ordinal))
            {
                SearchRequest request = QueryDslParser.Parse(System.Text.Encoding.UTF8.GetBytes(histogram), new Dictionary<string, string>(), 10_000);
                var wall = new List<double>(repeats);
                var cpu = new List<double>(repeats);
                for (int r = 0; r <= repeats; r++)
                {
                    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    _ = store.Aggregate(indices, request.Query, request.Aggregations);
                    if (r > 0)
                    {
                        wall.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                        cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {HistogramName} | – | "
                    + $"{Percentile(wall, 0.5):0.00} ({Percentile(wall, 0.9):0.00}) | {Percentile(cpu, 0.5):0.0} ({Percentile(cpu, 0.9):0.0}) |"));
            }

            (long bytes, long hits, long misses, long evictions) = store.BlockCache;
            Console.WriteLine($"block cache: {bytes / 1e6:0.0} MB held, {hits} hits, {misses} misses, {evictions} evictions");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }

        return 0;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
    }
}
