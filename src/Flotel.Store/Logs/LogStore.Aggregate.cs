using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

// Aggregations (the `aggs` of a search): one statement per index reads the fields the aggregation tree names for every
// document the query matches (LogAggregationSql), and AggregationExecutor buckets them in one pass.
public sealed partial class LogStore
{
    // Strings of a text column remembered per column while reading, so a million rows of a few programs or hosts
    // allocate a few strings; the table stops growing at this size (a column of unique values gains nothing from it).
    private const int MaxInternedStrings = 4096;

    // How often (rows) the managed token is looked at between SQLite steps; sqlite3_interrupt covers long steps.
    private const int CancellationCheckRows = 65_536;

    // Most buckets a document-count date histogram is counted for with one indexed COUNT each (see CountDateHistograms);
    // past this, one statement per bucket costs more than reading the rows once.
    private const int MaxCountedBuckets = 2_000;

    /// <summary>
    /// Runs <paramref name="aggregations"/> over the documents of <paramref name="indices"/> that match
    /// <paramref name="query"/> (the same matching set a search with that query has).
    /// </summary>
    /// <param name="indices">Concrete index names; unknown ones are skipped.</param>
    /// <param name="query">The search's query.</param>
    /// <param name="aggregations">The parsed <c>aggs</c>.</param>
    /// <param name="cancellationToken">Stops the run (between rows, and a running SQLite step through <c>sqlite3_interrupt</c>).</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="LogQueryException">SQLite refused the statement the query compiled to.</exception>
    /// <exception cref="Query.Elasticsearch.ElasticsearchException">Too many buckets, or a field of the wrong type for its aggregation.</exception>
    public AggregationResults Aggregate(IReadOnlyList<string> indices, LogQuery query, IReadOnlyList<Aggregation> aggregations, CancellationToken cancellationToken = default) =>
        Aggregate(indices, query, aggregations, null, cancellationToken);

    /// <summary>
    /// <see cref="Aggregate(IReadOnlyList{string}, LogQuery, IReadOnlyList{Aggregation}, CancellationToken)"/> over the
    /// documents <paramref name="snapshot"/> (a point in time, <see cref="Snapshot"/>) sees, as <see cref="Search"/> with
    /// <see cref="LogSearch.Snapshot"/>; null: every document.
    /// </summary>
    public AggregationResults Aggregate(IReadOnlyList<string> indices, LogQuery query, IReadOnlyList<Aggregation> aggregations, LogSnapshot? snapshot,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(aggregations);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var plan = AggregationPlan.Build(aggregations);
        LogAggregationSql.Statement statement = LogAggregationSql.Build(plan, query, bounded: snapshot is not null);
        PublishedIndex[] published = _published;
        var found = new List<(int Order, PublishedIndex Index)>();
        var lastRows = new Dictionary<long, long>();
        foreach (string name in indices.Distinct(StringComparer.Ordinal))
        {
            if (Array.Find(published, p => p.Info.Name == name) is not { } index)
            {
                continue;
            }

            if (snapshot is not null)
            {
                // As Search: an index the point in time does not know is invisible, and so are rows written after it.
                if (snapshot.Find(name) is not { } frozen || frozen.Uuid != index.Info.Uuid)
                {
                    continue;
                }

                lastRows[index.Id] = frozen.MaxRowId;
            }

            found.Add((found.Count, index));
        }

        using SqliteConnection connection = OpenReader();
        using CancellationTokenRegistration interrupt = cancellationToken.Register(static handle => raw.sqlite3_interrupt((sqlite3)handle!), connection.Handle);
        var executor = new AggregationExecutor(plan, field => DistinctValues(connection, found, field, lastRows, cancellationToken));
        // The per-bucket counts read the ts index with no row bound: a point in time reads the rows instead.
        int counted = snapshot is null ? CountDateHistograms(connection, found, query, aggregations, executor, cancellationToken) : 0;
        var row = new AggregationRow(plan.Fields.Count, plan.Filters.Count);
        var reader = new ColumnReader(statement.Kinds);
        foreach ((int order, PublishedIndex index) in counted == aggregations.Count ? [] : found)
        {
            row.IndexOrder = order;
            RunIndexStatement(connection, statement, index, lastRows, stmt =>
            {
                if (plan.NeedsRowIds)
                {
                    row.RowId = raw.sqlite3_column_int64(stmt, 0);
                }

                reader.Read(stmt, 1, row.Values, index.Info.Name);
                for (int f = 0; f < row.Filters.Length; f++)
                {
                    row.Filters[f] = raw.sqlite3_column_int64(stmt, 1 + row.Values.Length + f) != 0;
                }

                executor.Collect(row);
            }, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        AggregationResults results = executor.Finish();
        ReadTopHits(connection, found, executor.TopHits, cancellationToken);
        return results;
    }

    /// <summary>
    /// Counts the top-level date histograms of <c>@timestamp</c> that only count documents (no sub-aggregations, no
    /// <c>missing</c>: Grafana's logs volume and "Count") with one <c>COUNT(*)</c> per bucket over the ts index, instead of
    /// reading every matching row: a million documents in 60 buckets take 60 index range counts (about a fifth of the
    /// CPU of stepping through the rows). Only for queries without full-text conditions (their match list would be
    /// computed again per bucket) and for at most <see cref="MaxCountedBuckets"/> buckets between the first and the last
    /// matching document. Returns how many aggregations it counted; the executor passes them no rows. In an index with
    /// block time bounds, a query that keeps rows by <c>@timestamp</c> alone is counted from the blocks' row counts instead
    /// (<see cref="CountBucketsByBlocks"/>).
    /// </summary>
    private static int CountDateHistograms(SqliteConnection connection, List<(int Order, PublishedIndex Index)> found, LogQuery query,
        IReadOnlyList<Aggregation> aggregations, AggregationExecutor executor, CancellationToken cancellationToken)
    {
        var candidates = aggregations.OfType<DateHistogramAggregation>()
            .Where(a => a.SubAggregations.Count == 0 && a.Missing is null && AggregationPlan.Normalize(a.Field) == "@timestamp").ToList();
        var parameters = new LogSqlParameters();
        string where = LogQuerySql.Where(query, parameters);
        // A full-text condition is left to the executor (the source function names the same table and is no such condition).
        if (candidates.Count == 0
            || where.Replace(LogSourceFunction.Expression, "", StringComparison.Ordinal).Contains(LogQuerySql.FtsTable, StringComparison.Ordinal))
        {
            return 0;
        }

        // The first and last matching instants of each index (each an indexed min/max lookup, or a walk of the blocks that
        // may hold matches: those overlapping the query's @timestamp ranges).
        string? window = null;
        try
        {
            window = LogQuerySql.BlockWindow(query, parameters);
        }
        catch (LogQueryException)
        {
            // Over the parameter limit with the ranges named again: every block is walked, rows still checked.
        }

        // A query that keeps rows by @timestamp alone lets blocks be counted from their row counts (LogStore.BlockCounts.cs).
        (long From, long To)? interval = TimeInterval(query);
        var spans = new List<(PublishedIndex Index, long Min, long Max)>();
        foreach ((_, PublishedIndex index) in found)
        {
            long? min = null, max = null;
            if (index.BlockTimes)
            {
                min = EdgeByBlocks(connection, index, where, window, parameters, newest: false, cancellationToken);
                max = min is null ? null : EdgeByBlocks(connection, index, where, window, parameters, newest: true, cancellationToken);
                if (min is { } first && max is { } final)
                {
                    spans.Add((index, first, final));
                }

                continue;
            }

            RunIndexStatement(connection, new LogAggregationSql.Statement($"SELECT min(d.ts) FROM {{docs}} d WHERE {where}", parameters, []), index,
                stmt => min = raw.sqlite3_column_type(stmt, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(stmt, 0), cancellationToken);
            RunIndexStatement(connection, new LogAggregationSql.Statement($"SELECT max(d.ts) FROM {{docs}} d WHERE {where}", parameters, []), index,
                stmt => max = raw.sqlite3_column_type(stmt, 0) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(stmt, 0), cancellationToken);
            if (min is { } lo && max is { } hi)
            {
                spans.Add((index, lo, hi));
            }
        }

        int counted = 0;
        foreach (DateHistogramAggregation aggregation in candidates)
        {
            var keys = new List<(long From, long To)>();
            if (spans.Count > 0)
            {
                DateRounding rounding = new(aggregation.Interval, aggregation.Zone, aggregation.OffsetMs);
                long first = spans.Min(s => s.Min), last = spans.Max(s => s.Max);
                if (aggregation.HardBounds is { } hard)
                {
                    first = Math.Max(first, hard.Min ?? long.MinValue);
                    last = Math.Min(last, hard.Max ?? long.MaxValue);
                }

                for (long key = first <= last ? rounding.Round(first) : long.MaxValue; key <= last && keys.Count <= MaxCountedBuckets; key = rounding.Next(key))
                {
                    keys.Add((key, rounding.Next(key)));
                }
            }

            if (keys.Count > MaxCountedBuckets)
            {
                continue;
            }

            DateHistogramCollector collector = executor.Precount(aggregation);
            counted++;
            foreach ((PublishedIndex index, long min, long max) in spans)
            {
                List<(long From, long To)> overlapping = keys.Where(k => k.To > min && k.From <= max).ToList();
                if (index.BlockTimes && interval is { } kept)
                {
                    CountBucketsByBlocks(connection, index, kept, aggregation.HardBounds, overlapping, collector, cancellationToken);
                    continue;
                }

                CountBuckets(connection, index, where, parameters, aggregation.HardBounds, overlapping, collector, cancellationToken);
            }
        }

        return counted;
    }

    /// <summary>
    /// The least (greatest when <paramref name="newest"/>) ts of the rows of an index with block time bounds that meet
    /// <paramref name="where"/>, or null: its blocks (those <paramref name="window"/> holds, <see cref="LogQuerySql.BlockWindow"/>)
    /// by min_ts ascending (max_ts descending), each a statement over its row ids, until the next block cannot hold a
    /// better ts than the best found.
    /// </summary>
    private static long? EdgeByBlocks(SqliteConnection connection, PublishedIndex index, string where, string? window, LogSqlParameters parameters,
        bool newest, CancellationToken cancellationToken)
    {
        string id = index.Id.ToString(CultureInfo.InvariantCulture);
        var blocks = new List<(long First, long Last, long Bound)>();
        string within = window is null ? string.Empty : " AND " + window;
        RunIndexStatement(connection, new LogAggregationSql.Statement(newest
            ? $"SELECT b.first_rowid, b.last_rowid, b.max_ts FROM blocks_{id} b WHERE b.max_ts IS NOT NULL{within} ORDER BY b.max_ts DESC"
            : $"SELECT b.first_rowid, b.last_rowid, b.min_ts FROM blocks_{id} b WHERE b.min_ts IS NOT NULL{within} ORDER BY b.min_ts", parameters, []), index,
            stmt => blocks.Add((raw.sqlite3_column_int64(stmt, 0), raw.sqlite3_column_int64(stmt, 1), raw.sqlite3_column_int64(stmt, 2))), cancellationToken);
        long? best = null;
        foreach ((long first, long last, long bound) in blocks)
        {
            if (best is { } b && (newest ? bound <= b : bound >= b))
            {
                break; // every later block's rows are at best equal to the best found
            }

            string range = string.Create(CultureInfo.InvariantCulture, $"d.rowid BETWEEN {first} AND {last}");
            RunIndexStatement(connection, new LogAggregationSql.Statement(
                $"SELECT {(newest ? "max" : "min")}(d.ts) FROM {{docs}} d WHERE {range} AND ({LogQuerySql.WithoutSpans(where)})", parameters, []), index,
                stmt =>
                {
                    if (raw.sqlite3_column_type(stmt, 0) != raw.SQLITE_NULL)
                    {
                        long ts = raw.sqlite3_column_int64(stmt, 0);
                        best = best is { } current && (newest ? current >= ts : current <= ts) ? current : ts;
                    }
                }, cancellationToken);
        }

        return best;
    }

    // One prepared COUNT(*) over [from, to) of the ts index per bucket, rebound bucket after bucket; in an index with block
    // time bounds, over the row ids of the blocks overlapping the bucket.
    private static void CountBuckets(SqliteConnection connection, PublishedIndex index, string where, LogSqlParameters parameters,
        (long? Min, long? Max)? hardBounds, List<(long From, long To)> buckets, DateHistogramCollector collector, CancellationToken cancellationToken)
    {
        string id = index.Id.ToString(CultureInfo.InvariantCulture);
        string overlap = $"FROM blocks_{id} b WHERE b.max_ts >= $bucket_from AND b.min_ts < $bucket_to";
        string span = index.BlockTimes ? $"d.rowid BETWEEN (SELECT min(b.first_rowid) {overlap}) AND (SELECT max(b.last_rowid) {overlap}) AND " : string.Empty;
        string sql = $"SELECT count(*) FROM docs_{id} d WHERE {span}d.ts >= $bucket_from AND d.ts < $bucket_to "
            + $"AND ({LogQuerySql.ForIndex(where, "fts_" + id)})";
        sqlite3 db = connection.Handle!;
        try
        {
            int rc = raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt stmt);
            if (rc != raw.SQLITE_OK)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }

            using (stmt)
            {
                BindAll(stmt, parameters, index.Info.Name);
                int from = raw.sqlite3_bind_parameter_index(stmt, "$bucket_from");
                int to = raw.sqlite3_bind_parameter_index(stmt, "$bucket_to");
                foreach ((long key, long next) in buckets)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // hard_bounds keeps only values inside [min, max]; the key stays the bucket's own.
                    long low = Math.Max(key, hardBounds?.Min ?? long.MinValue);
                    long high = hardBounds?.Max is { } hardMax && hardMax < long.MaxValue ? Math.Min(next, hardMax + 1) : next;
                    _ = raw.sqlite3_bind_int64(stmt, from, low);
                    _ = raw.sqlite3_bind_int64(stmt, to, high);
                    rc = raw.sqlite3_step(stmt);
                    if (rc != raw.SQLITE_ROW)
                    {
                        throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
                    }

                    collector.AddCount(key, raw.sqlite3_column_int64(stmt, 0));
                    _ = raw.sqlite3_reset(stmt);
                }
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
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteError or SqliteTooBig)
        {
            throw new LogQueryException("the query cannot be run: " + e.Message, e);
        }
    }

    private static HashSet<object> DistinctValues(SqliteConnection connection, List<(int Order, PublishedIndex Index)> found, string field,
        Dictionary<long, long> lastRows, CancellationToken cancellationToken)
    {
        LogAggregationSql.Statement statement = LogAggregationSql.Distinct(field, bounded: lastRows.Count > 0);
        var values = new HashSet<object>();
        var reader = new ColumnReader(statement.Kinds);
        var value = new FieldValue[1];
        foreach ((_, PublishedIndex index) in found)
        {
            RunIndexStatement(connection, statement, index, lastRows, stmt =>
            {
                reader.Read(stmt, 1, value, index.Info.Name);
                for (int i = 0; i < value[0].Count; i++)
                {
                    _ = values.Add(value[0].Get(i));
                }
            }, cancellationToken);
        }

        return values;
    }

    private static void ReadTopHits(SqliteConnection connection, List<(int Order, PublishedIndex Index)> found, List<TopHitsResult> results, CancellationToken cancellationToken)
    {
        foreach (IGrouping<int, TopHit> group in results.SelectMany(r => r.Hits).GroupBy(h => h.IndexOrder))
        {
            cancellationToken.ThrowIfCancellationRequested();
            PublishedIndex index = found[group.Key].Index;
            var byRow = group.ToLookup(h => h.RowId);
            string docs = "docs_" + index.Id.ToString(CultureInfo.InvariantCulture);
            string rowIds = string.Join(", ", byRow.Select(g => g.Key.ToString(CultureInfo.InvariantCulture)));
            byte[] key = index.IdKey;
            using SqliteCommand select = connection.CreateCommand();
            select.CommandText = $"SELECT rowid, id, {LogSourceFunction.For(index.Id)} FROM {docs} WHERE rowid IN ({rowIds})";
            try
            {
                using SqliteDataReader reader = select.ExecuteReader();
                while (reader.Read())
                {
                    foreach (TopHit hit in byRow[reader.GetInt64(0)])
                    {
                        hit.Index = index.Info.Name;
                        hit.Id = reader.IsDBNull(1) ? LogDocumentId.ForRow(key, reader.GetInt64(0)) : reader.GetString(1);
                        hit.Source = reader.GetString(2);
                    }
                }
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                // Dropped by retention meanwhile: its hits keep no source.
            }
        }

        foreach (TopHitsResult result in results)
        {
            foreach (TopHit hit in result.Hits)
            {
                hit.Index ??= found[hit.IndexOrder].Index.Info.Name;
                hit.Id ??= string.Empty;
            }
        }
    }

    // Runs one statement over one index with SQLite's own API (a million rows through the ADO.NET reader cost about twice
    // as much), calling onRow per row; maps SQLite's errors as Search does. A bounded statement reads the rows up to the
    // index's entry in lastRows (a point in time's last row).
    private static void RunIndexStatement(SqliteConnection connection, LogAggregationSql.Statement statement, PublishedIndex index, Action<sqlite3_stmt> onRow, CancellationToken cancellationToken) =>
        RunIndexStatement(connection, statement, index, null, onRow, cancellationToken);

    private static void RunIndexStatement(SqliteConnection connection, LogAggregationSql.Statement statement, PublishedIndex index, Dictionary<long, long>? lastRows,
        Action<sqlite3_stmt> onRow, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string id = index.Id.ToString(CultureInfo.InvariantCulture);
        string lastRow = (lastRows is not null && lastRows.TryGetValue(index.Id, out long last) ? last : long.MaxValue).ToString(CultureInfo.InvariantCulture);
        string sql = LogQuerySql.ForIndex(statement.Sql, "fts_" + id, index.BlockTimes).Replace("{docs}", "docs_" + id, StringComparison.Ordinal)
            .Replace(LogAggregationSql.LastRow, lastRow, StringComparison.Ordinal);
        sqlite3 db = connection.Handle!;
        try
        {
            int rc = raw.sqlite3_prepare_v2(db, sql, out sqlite3_stmt stmt);
            if (rc != raw.SQLITE_OK)
            {
                throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }

            using (stmt)
            {
                BindAll(stmt, statement.Parameters, index.Info.Name);
                long rows = 0;
                while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
                {
                    onRow(stmt);
                    if (++rows % CancellationCheckRows == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }
                }

                if (rc != raw.SQLITE_DONE)
                {
                    throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
                }
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
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteError or SqliteTooBig)
        {
            throw new LogQueryException("the query cannot be run: " + e.Message, e);
        }
    }

    // LogSqlParameters.BindTo's rules on a raw statement: every value, and the index name when a fragment used it.
    private static void BindAll(sqlite3_stmt stmt, LogSqlParameters parameters, string indexName)
    {
        foreach (KeyValuePair<string, object> p in parameters.Values)
        {
            Bind(stmt, p.Key, p.Value);
        }

        if (parameters.UsesIndexName)
        {
            Bind(stmt, parameters.IndexName(), indexName);
        }
    }

    private static void Bind(sqlite3_stmt stmt, string name, object value)
    {
        int at = raw.sqlite3_bind_parameter_index(stmt, name);
        if (at == 0)
        {
            return;
        }

        _ = value switch
        {
            long l => raw.sqlite3_bind_int64(stmt, at, l),
            int i => raw.sqlite3_bind_int64(stmt, at, i),
            double d => raw.sqlite3_bind_double(stmt, at, d),
            bool b => raw.sqlite3_bind_int64(stmt, at, b ? 1 : 0),
            _ => raw.sqlite3_bind_text(stmt, at, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty),
        };
    }

    /// <summary>Decodes the selected columns of a row into <see cref="FieldValue"/>s, reusing strings seen before.</summary>
    private sealed class ColumnReader(LogAggregationSql.ColumnKind[] kinds)
    {
        private readonly Dictionary<int, (byte[] Bytes, string Text)>[] _interned = [.. kinds.Select(_ => new Dictionary<int, (byte[], string)>())];

        public void Read(sqlite3_stmt stmt, int first, FieldValue[] values, string indexName)
        {
            for (int i = 0; i < kinds.Length; i++)
            {
                int column = first + i;
                ref FieldValue v = ref values[i];
                if (kinds[i] == LogAggregationSql.ColumnKind.Index)
                {
                    v.Set(indexName);
                    continue;
                }

                if (kinds[i] == LogAggregationSql.ColumnKind.Integer)
                {
                    // Integer columns hold integers or NULL, and NULL reads as 0: only a 0 needs its type looked at.
                    long number = raw.sqlite3_column_int64(stmt, column);
                    if (number != 0 || raw.sqlite3_column_type(stmt, column) == raw.SQLITE_INTEGER)
                    {
                        v.Set(number);
                        continue;
                    }
                }

                if (kinds[i] == LogAggregationSql.ColumnKind.Text)
                {
                    // Text columns hold text or NULL: a non-empty value needs no type lookup.
                    ReadOnlySpan<byte> text = raw.sqlite3_column_blob(stmt, column);
                    if (!text.IsEmpty)
                    {
                        v.Set(Intern(i, text));
                        continue;
                    }
                }

                int type = raw.sqlite3_column_type(stmt, column);
                if (type == raw.SQLITE_NULL)
                {
                    v.SetMissing();
                    continue;
                }

                switch (kinds[i])
                {
                    case LogAggregationSql.ColumnKind.Integer when type == raw.SQLITE_INTEGER:
                        v.Set(raw.sqlite3_column_int64(stmt, column));
                        break;
                    case LogAggregationSql.ColumnKind.Json:
                        DecodeJson(raw.sqlite3_column_blob(stmt, column), ref v);
                        break;
                    default:
                        if (type == raw.SQLITE_INTEGER)
                        {
                            v.Set(raw.sqlite3_column_int64(stmt, column));
                        }
                        else if (type == raw.SQLITE_FLOAT)
                        {
                            v.Set(raw.sqlite3_column_double(stmt, column));
                        }
                        else
                        {
                            v.Set(Intern(i, raw.sqlite3_column_blob(stmt, column)));
                        }

                        break;
                }
            }
        }

        private string Intern(int column, ReadOnlySpan<byte> utf8)
        {
            var hash = default(HashCode);
            hash.AddBytes(utf8);
            int key = hash.ToHashCode();
            Dictionary<int, (byte[] Bytes, string Text)> table = _interned[column];
            if (table.TryGetValue(key, out (byte[] Bytes, string Text) known) && utf8.SequenceEqual(known.Bytes))
            {
                return known.Text;
            }

            string text = Encoding.UTF8.GetString(utf8);
            if (table.Count < MaxInternedStrings)
            {
                table[key] = (utf8.ToArray(), text);
            }

            return text;
        }

        // The JSON text of `source -> path`: a string, number, boolean, array (of scalars) or object (not aggregatable).
        private static void DecodeJson(ReadOnlySpan<byte> json, ref FieldValue v)
        {
            if (json.IsEmpty)
            {
                v.SetMissing();
                return;
            }

            switch (json[0])
            {
                case (byte)'"' when json.IndexOf((byte)'\\') < 0:
                    v.Set(Encoding.UTF8.GetString(json[1..^1]));
                    return;
                case (byte)'t':
                    v.Set(true);
                    return;
                case (byte)'f':
                    v.Set(false);
                    return;
                case (byte)'n' or (byte)'{':
                    v.SetMissing();
                    return;
            }

            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                var items = new List<object>();
                foreach (JsonElement item in root.EnumerateArray())
                {
                    if (Scalar(item) is { } scalar)
                    {
                        items.Add(scalar);
                    }
                }

                v.Set([.. items]);
                return;
            }

            if (Scalar(root) is { } value)
            {
                v.SetScalar(value);
            }
            else
            {
                v.SetMissing();
            }
        }

        private static object? Scalar(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Number when e.TryGetInt64(out long l) => l,
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }
}
