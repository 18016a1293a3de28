using System.Diagnostics;
using System.Globalization;
using Flotel.Bench;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Data.Sqlite;

namespace Flotel.Benchmarks;

/// <summary>
/// A stopwatch profile of series creation in the metric store: where the time and the bytes of a new series go.
/// N series (the labels of bench/Flotel.RemoteWriteLoad: 8 labels, one of them unique per series) arrive in
/// remote-write protobufs of 100 series with one sample each, as a fleet's first minute sends them. Each phase is
/// measured on its own, in process, with wall time, process CPU time, bytes allocated and bytes still reachable
/// after a full collection (what the phase keeps per series):
/// <code>
/// dotnet run -c Release --project bench/Flotel.Benchmarks -- series-creation [--series N] [--dir D]
/// | phase | µs/series wall | µs/series CPU | allocated B/series | kept B/series |
/// </code>
/// The store phases run in the order a fleet drives them: create (first sample), flush, one more sample per series,
/// flush again. The SQLite rows are also timed alone, in a separate database with the store's series (and, for the
/// comparison, the former postings) schema.
/// </summary>
internal static class SeriesCreationHarness
{
    private const int SeriesPerRequest = 100;
    private const long T0 = 1_800_000_000_000;

    public static int Run(string[] args)
    {
        var n = 200_000;
        string? dir = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--series": n = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[i + 1]; break;
                default: Console.Error.WriteLine("usage: series-creation [--series N] [--dir D]"); return 2;
            }
        }

        n -= n % SeriesPerRequest;
        dir ??= Path.Combine(Path.GetTempPath(), "flotel-series-creation-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var first = Requests(n, T0);
            var second = Requests(n, T0 + 60_000);
            var load = File.ReadAllText("/proc/loadavg")[..14];
            Console.WriteLine(
                $"{n} series, {first.Length} requests of {SeriesPerRequest} series × 1 sample, {DateTime.UtcNow:yyyy-MM-ddTHH:mmZ}, load average {load}");
            Console.WriteLine("| phase | µs/series wall | µs/series CPU | allocated B/series | kept B/series |");
            Console.WriteLine("|---|---:|---:|---:|---:|");

            Measure("decode only (protobuf walk, no-op visitor)", n, () =>
            {
                var v = new NoOpVisitor();
                foreach (var r in first)
                {
                    WriteRequestDecoder.Decode(r, v);
                }

                return v;
            });
            Measure("decode + label strings (one string per name and value, kept)", n, () =>
            {
                var v = new LabelSetVisitor(n);
                foreach (var r in first)
                {
                    WriteRequestDecoder.Decode(r, v);
                }

                return v.Kept;
            });
            Measure("head chunk with one sample (32 bytes inline + a 32-byte array)", n, () => Heads(n, 64));
            Measure("head chunk with one sample (32 bytes inline, no array)", n, () => Heads(n, 32));
            SqliteRows(dir, n, postings: true);
            SqliteRows(dir, n, postings: false);

            using var store = MetricStore.Open(new MetricStoreOptions { DataDirectory = Path.Combine(dir, "store"), MaxSeries = 0 });
            Measure("MetricStore.Append, new series (all of the above + index)", n, () =>
            {
                foreach (var r in first)
                {
                    store.Append(r);
                }

                return store;
            });
            Measure("MetricStore.FlushAsync after creation", n, () =>
            {
                store.FlushAsync().GetAwaiter().GetResult();
                return store;
            });
            Measure("MetricStore.Append, one more sample per series", n, () =>
            {
                foreach (var r in second)
                {
                    store.Append(r);
                }

                return store;
            });
            Measure("MetricStore.FlushAsync after it", n, () =>
            {
                store.FlushAsync().GetAwaiter().GetResult();
                return store;
            });
            Measure("MetricStore.FlushAsync with nothing new", n, () =>
            {
                store.FlushAsync().GetAwaiter().GetResult();
                return store;
            });
            Console.WriteLine($"store: {store.SeriesCount} series, {store.AppendedTotal} samples, {store.DiskBytes / n} disk bytes/series");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    /// <summary>Runs <paramref name="phase"/> once and prints its costs per series; what it returns is kept alive until its "kept" is read.</summary>
    private static void Measure(string name, int n, Func<object> phase)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var keptBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var result = phase();
        var wall = sw.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocBefore;
        var kept = GC.GetTotalMemory(forceFullCollection: true) - keptBefore;
        GC.KeepAlive(result);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {wall.TotalMicroseconds / n:F2} | {cpu.TotalMicroseconds / n:F2} | {(double)allocated / n:F0} | {(double)kept / n:F0} |"));
    }

    private static XorChunkAppender[] Heads(int n, int bytes)
    {
        var heads = new XorChunkAppender[n];
        for (var i = 0; i < n; i++)
        {
            heads[i] = new XorChunkAppender(bytes);
            heads[i].TryAppend(T0, i);
        }

        return heads;
    }

    /// <summary>The series rows (and optionally one postings row per label) of N series, one transaction per request.</summary>
    private static void SqliteRows(string dir, int n, bool postings)
    {
        var path = Path.Combine(dir, postings ? "rows-postings.db" : "rows.db");
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using (var setup = db.CreateCommand())
        {
            setup.CommandText = "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;" +
                "CREATE TABLE series (id INTEGER PRIMARY KEY, labels BLOB NOT NULL, name TEXT NOT NULL);" +
                "CREATE TABLE postings (name TEXT NOT NULL, value TEXT NOT NULL, series_id INTEGER NOT NULL, "
                + "PRIMARY KEY (name, value, series_id)) WITHOUT ROWID;";
            setup.ExecuteNonQuery();
        }

        var labels = new LabelSet[n];
        var keys = new byte[n][];
        for (var i = 0; i < n; i++)
        {
            labels[i] = NodeSeries.LabelsOf(i);
            keys[i] = Key(labels[i]);
        }

        Measure(postings ? "SQLite: series row + 8 postings rows (former schema)" : "SQLite: series row", n, () =>
        {
            using var series = db.CreateCommand();
            series.CommandText = "INSERT INTO series (id, labels, name) VALUES ($id, $labels, $name)";
            series.Parameters.Add(new SqliteParameter("$id", null));
            series.Parameters.Add(new SqliteParameter("$labels", null));
            series.Parameters.Add(new SqliteParameter("$name", null));
            using var posting = db.CreateCommand();
            posting.CommandText = "INSERT OR IGNORE INTO postings (name, value, series_id) VALUES ($n, $v, $s)";
            posting.Parameters.Add(new SqliteParameter("$n", null));
            posting.Parameters.Add(new SqliteParameter("$v", null));
            posting.Parameters.Add(new SqliteParameter("$s", null));
            for (var start = 0; start < n; start += SeriesPerRequest)
            {
                using var tx = db.BeginTransaction();
                series.Transaction = tx;
                posting.Transaction = tx;
                for (var i = start; i < start + SeriesPerRequest; i++)
                {
                    series.Parameters[0].Value = i + 1;
                    series.Parameters[1].Value = keys[i];
                    series.Parameters[2].Value = labels[i].MetricName;
                    series.ExecuteNonQuery();
                    if (postings)
                    {
                        foreach (var l in labels[i])
                        {
                            posting.Parameters[0].Value = l.Name;
                            posting.Parameters[1].Value = l.Value;
                            posting.Parameters[2].Value = i + 1;
                            posting.ExecuteNonQuery();
                        }
                    }
                }

                tx.Commit();
            }

            return db;
        });
        GC.KeepAlive(labels);
    }

    private static byte[] Key(LabelSet labels)
    {
        var bytes = new List<byte>();
        foreach (var l in labels)
        {
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(l.Name));
            bytes.Add(0xFF);
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(l.Value));
            bytes.Add(0xFF);
        }

        return [.. bytes];
    }

    private static byte[][] Requests(int n, long t)
    {
        var requests = new byte[n / SeriesPerRequest][];
        for (var r = 0; r < requests.Length; r++)
        {
            var series = new TimeSeries[SeriesPerRequest];
            for (var s = 0; s < SeriesPerRequest; s++)
            {
                var id = (r * SeriesPerRequest) + s;
                series[s] = new TimeSeries(NodeSeries.LabelsOf(id), [new Sample(t, id)]);
            }

            requests[r] = WriteRequestEncoder.Encode(new WriteRequest(series));
        }

        return requests;
    }

    private sealed class NoOpVisitor : IWriteRequestVisitor
    {
        public long Samples;

        public void BeginSeries(SeriesLabels labels)
        {
        }

        public void Sample(long timestampMs, double value) => Samples++;

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }

    private sealed class LabelSetVisitor(int capacity) : IWriteRequestVisitor
    {
        public readonly List<LabelSet> Kept = new(capacity);

        public void BeginSeries(SeriesLabels labels) => Kept.Add(labels.ToLabelSet());

        public void Sample(long timestampMs, double value)
        {
        }

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }
}
