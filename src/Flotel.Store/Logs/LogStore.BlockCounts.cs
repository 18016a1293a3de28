using System.Globalization;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

// Date-histogram buckets of an index with block time bounds counted from blockrows_N (schema in LogStore.cs) when the
// query keeps rows by @timestamp alone: a block whose [min_ts, max_ts] lies inside a bucket adds its count of rows with a
// ts without a row being read; a block a bucket's edge cuts is counted by a binary search over its row ids when its rows
// are ordered by ts and none is missing, and by counting its rows otherwise.
public sealed partial class LogStore
{
    private readonly record struct CountedBlock(long First, long Last, long MinTs, long MaxTs, long? TsRows, bool Ordered)
    {
        // Every row id of the block holds a row with a ts, in ts order: the k-th row is at First + k.
        public bool Dense => Ordered && TsRows == Last - First + 1;
    }

    /// <summary>
    /// The rows <paramref name="query"/> keeps as an interval [From, To) of ts, when it keeps rows by <c>@timestamp</c>
    /// ranges alone (match_all, ranges with whole-millisecond bounds, bools of those without should or must_not clauses);
    /// null otherwise. A row without a ts is in no bucket, so "every row" is the whole interval.
    /// </summary>
    internal static (long From, long To)? TimeInterval(LogQuery query)
    {
        (long From, long To) interval = (long.MinValue, long.MaxValue);
        return Narrow(query, ref interval) ? interval : null;
    }

    private static bool Narrow(LogQuery query, ref (long From, long To) interval)
    {
        switch (query)
        {
            case MatchAllQuery:
                return true;
            case RangeQuery r when AggregationPlan.Normalize(r.Field) == "@timestamp":
                // ts > v is ts >= v + 1 and ts <= v is ts < v + 1 in whole milliseconds; a bound at the end of long is left to SQL.
                if (!Millis(r.Gt, out long? gt) || !Millis(r.Gte, out long? gte) || !Millis(r.Lt, out long? lt) || !Millis(r.Lte, out long? lte)
                    || gt == long.MaxValue || lte == long.MaxValue)
                {
                    return false;
                }

                interval.From = Math.Max(interval.From, Math.Max(gt is { } g ? g + 1 : long.MinValue, gte ?? long.MinValue));
                interval.To = Math.Min(interval.To, Math.Min(lt ?? long.MaxValue, lte is { } l ? l + 1 : long.MaxValue));
                return true;
            case BoolQuery b when b.Should.Count == 0 && b.MustNot.Count == 0 && b.MinimumShouldMatch is null or <= 0:
                foreach (LogQuery clause in b.Must.Concat(b.Filter))
                {
                    if (!Narrow(clause, ref interval))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    private static bool Millis(object? bound, out long? value)
    {
        value = bound switch
        {
            long l => l,
            int i => i,
            _ => null,
        };
        return bound is null || value is not null;
    }

    /// <summary>
    /// Counts each bucket [From, To) of <paramref name="buckets"/> (cut to <paramref name="hardBounds"/> and to the query's
    /// <paramref name="interval"/>) from the blocks overlapping it (see the file's comment).
    /// </summary>
    private static void CountBucketsByBlocks(SqliteConnection connection, PublishedIndex index, (long From, long To) interval,
        (long? Min, long? Max)? hardBounds, List<(long From, long To)> buckets, DateHistogramCollector collector, CancellationToken cancellationToken)
    {
        if (buckets.Count == 0)
        {
            return;
        }

        string id = index.Id.ToString(CultureInfo.InvariantCulture);
        sqlite3 db = connection.Handle!;
        var cuts = new Dictionary<(long Block, long At), long>();
        try
        {
            List<CountedBlock> blocks = OverlappingBlocks(db, id, buckets.Min(b => b.From), buckets.Max(b => b.To));
            using var probe = new ReaderStatement(db, $"SELECT ts FROM docs_{id} WHERE rowid = ?1");
            using var count = new ReaderStatement(db, $"SELECT count(*) FROM docs_{id} WHERE rowid BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4");
            foreach ((long key, long next) in buckets)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // hard_bounds keeps only values inside [min, max]; the key stays the bucket's own.
                long low = Math.Max(Math.Max(key, hardBounds?.Min ?? long.MinValue), interval.From);
                long high = Math.Min(hardBounds?.Max is { } hardMax && hardMax < long.MaxValue ? Math.Min(next, hardMax + 1) : next, interval.To);
                long total = 0;
                foreach (CountedBlock block in blocks)
                {
                    if (low >= high || block.MaxTs < low || block.MinTs >= high)
                    {
                        continue;
                    }

                    if (block.TsRows is { } rows && block.MinTs >= low && block.MaxTs < high)
                    {
                        total += rows;
                    }
                    else if (block.Dense && Before(probe, cuts, block, high) is { } upTo && Before(probe, cuts, block, low) is { } from)
                    {
                        total += upTo - from;
                    }
                    else
                    {
                        total += count.Count(block.First, block.Last, low, high);
                    }
                }

                collector.AddCount(key, total);
            }
        }
        catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            // Dropped by retention after the snapshot was taken: as if it had not been selected.
        }
        catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the aggregation was stopped", e, cancellationToken);
        }
    }

    private static List<CountedBlock> OverlappingBlocks(sqlite3 db, string id, long from, long to)
    {
        var blocks = new List<CountedBlock>();
        using var list = new ReaderStatement(db, $"SELECT b.first_rowid, b.last_rowid, b.min_ts, b.max_ts, r.ts_rows, r.ordered FROM blocks_{id} b "
            + $"LEFT JOIN blockrows_{id} r ON r.last_rowid = b.last_rowid WHERE b.max_ts >= ?1 AND b.min_ts < ?2");
        list.Bind(1, from);
        list.Bind(2, to);
        list.ForEachRow(stmt => blocks.Add(new CountedBlock(raw.sqlite3_column_int64(stmt, 0), raw.sqlite3_column_int64(stmt, 1),
            raw.sqlite3_column_int64(stmt, 2), raw.sqlite3_column_int64(stmt, 3),
            raw.sqlite3_column_type(stmt, 4) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(stmt, 4), raw.sqlite3_column_int64(stmt, 5) != 0)));
        return blocks;
    }

    /// <summary>
    /// How many rows of a dense block have a ts before <paramref name="at"/>: a binary search over its row ids (the rows are
    /// in ts order), remembered per block and instant (a bucket's end is the next one's start). Null when a row it looks
    /// at is gone or has no ts (deleted or replaced since the block list was read): the block is then counted row by row.
    /// </summary>
    private static long? Before(ReaderStatement probe, Dictionary<(long Block, long At), long> cuts, CountedBlock block, long at)
    {
        long rows = block.Last - block.First + 1;
        if (at <= block.MinTs)
        {
            return 0;
        }

        if (at > block.MaxTs)
        {
            return rows;
        }

        if (cuts.TryGetValue((block.Last, at), out long known))
        {
            return known;
        }

        long lo = 0, hi = rows;
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) / 2);
            if (probe.Long(block.First + mid) is not { } ts)
            {
                return null;
            }

            (lo, hi) = ts < at ? (mid + 1, hi) : (lo, mid);
        }

        cuts[(block.Last, at)] = lo;
        return lo;
    }

    // A statement prepared once on a reader connection and stepped with SQLite's own API for the counts above.
    private sealed class ReaderStatement : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _stmt;

        public ReaderStatement(sqlite3 db, string sql)
        {
            _db = db;
            Check(raw.sqlite3_prepare_v2(db, sql, out _stmt));
        }

        public void Bind(int at, long value) => Check(raw.sqlite3_bind_int64(_stmt, at, value));

        public void ForEachRow(Action<sqlite3_stmt> onRow)
        {
            int rc;
            while ((rc = raw.sqlite3_step(_stmt)) == raw.SQLITE_ROW)
            {
                onRow(_stmt);
            }

            _ = raw.sqlite3_reset(_stmt);
            Done(rc);
        }

        // The first column of the row with this row id, null when there is no such row or the value is NULL.
        public long? Long(long rowId)
        {
            Bind(1, rowId);
            long? value = null;
            ForEachRow(stmt => value = raw.sqlite3_column_type(stmt, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(stmt, 0));
            return value;
        }

        public long Count(long first, long last, long from, long to)
        {
            Bind(1, first);
            Bind(2, last);
            Bind(3, from);
            Bind(4, to);
            long value = 0;
            ForEachRow(stmt => value = raw.sqlite3_column_int64(stmt, 0));
            return value;
        }

        public void Dispose() => _stmt.Dispose();

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK)
            {
                throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
            }
        }

        private void Done(int rc)
        {
            if (rc != raw.SQLITE_DONE)
            {
                throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
            }
        }
    }
}
