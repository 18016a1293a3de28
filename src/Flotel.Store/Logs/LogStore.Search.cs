using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

// The read path: searches, counts, index listing and id look-ups. Readers never take _writeGate: they read the
// indices published by the last commit (_published) on pooled read-only connections.
public sealed partial class LogStore
{
    /// <summary>The indices, sorted by name.</summary>
    public IReadOnlyList<LogIndexInfo> ListIndices() => Array.ConvertAll(_published, p => p.Info);

    /// <summary>
    /// Whether <paramref name="indexName"/> holds a document with <paramref name="id"/>, read from the last commit; null
    /// when that cannot be told cheaply: the index has no id index yet, so only generated ids were ever written to it
    /// and the writer finds a clash itself when the first given id makes it build one.
    /// </summary>
    public bool? ContainsId(string indexName, string id)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PublishedIndex? index = Array.Find(_published, p => p.Info.Name == indexName);
        if (index is null)
        {
            return false;
        }

        string docs = "docs_" + index.Id.ToString(CultureInfo.InvariantCulture);
        using SqliteConnection connection = OpenReader();
        if (LogDocumentId.TryRowOf(index.IdKey, id, out long named))
        {
            try
            {
                if (Scalar(connection, $"SELECT count(*) FROM {docs} WHERE rowid = {named.ToString(CultureInfo.InvariantCulture)} AND id IS NULL") > 0)
                {
                    return true;
                }
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                return false;
            }
        }

        using SqliteCommand hasIndex = connection.CreateCommand();
        hasIndex.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = @n";
        _ = hasIndex.Parameters.AddWithValue("@n", docs + "_id");
        if (hasIndex.ExecuteScalar() is null)
        {
            return null;
        }

        using SqliteCommand find = connection.CreateCommand();
        find.CommandText = $"SELECT 1 FROM {docs} INDEXED BY {docs}_id WHERE id = @id LIMIT 1";
        _ = find.Parameters.AddWithValue("@id", id);
        try
        {
            return find.ExecuteScalar() is not null;
        }
        catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return false; // dropped by retention after the snapshot was taken
        }
    }

    /// <summary>The document <paramref name="id"/> of <paramref name="indexName"/> as of the last commit, or null (see <see cref="GetMany"/>).</summary>
    public LogStoredDocument? Get(string indexName, string id, CancellationToken cancellationToken = default) =>
        GetMany(indexName, [id], cancellationToken).GetValueOrDefault(id);

    /// <summary>
    /// The documents of <paramref name="indexName"/> with these ids as of the last commit, by id (missing ids are absent).
    /// A generated id names its row (<see cref="LogDocumentId.TryRowOf"/>); an id given to a document is found with the id
    /// index, built with the first one. An index of the earlier layout that stores generated ids as text and has no id
    /// index is scanned, once per 1,000 ids: <paramref name="cancellationToken"/> interrupts it.
    /// </summary>
    public Dictionary<string, LogStoredDocument> GetMany(string indexName, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(indexName);
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<string, LogStoredDocument>(StringComparer.Ordinal);
        PublishedIndex? index = Array.Find(_published, p => p.Info.Name == indexName);
        if (index is null || ids.Count == 0)
        {
            return found;
        }

        string docs = "docs_" + index.Id.ToString(CultureInfo.InvariantCulture);
        byte[] key = index.IdKey;
        using SqliteConnection connection = OpenReader();
        using CancellationTokenRegistration interrupt = cancellationToken.Register(static handle => raw.sqlite3_interrupt((sqlite3)handle!), connection.Handle);
        // A table of this layout with no id index holds no given id (the index comes with the first): nothing to scan for.
        bool givenIds = Scalar(connection,
            $"SELECT count(*) FROM sqlite_master WHERE name = '{docs}_id' OR (name = '{docs}' AND sql LIKE '%id TEXT NOT NULL%')") > 0;
        foreach (string[] chunk in ids.Distinct(StringComparer.Ordinal).Chunk(1000))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using SqliteCommand find = connection.CreateCommand();
            var names = new StringBuilder();
            var rows = new StringBuilder("0");
            for (int i = 0; i < chunk.Length; i++)
            {
                names.Append(i == 0 ? "@i" : ", @i").Append(i.ToString(CultureInfo.InvariantCulture));
                _ = find.Parameters.AddWithValue("@i" + i.ToString(CultureInfo.InvariantCulture), chunk[i]);
                if (LogDocumentId.TryRowOf(key, chunk[i], out long named))
                {
                    rows.Append(", ").Append(named.ToString(CultureInfo.InvariantCulture));
                }
            }

            find.CommandText = $"SELECT rowid, id, {LogSourceFunction.For(index.Id)} FROM {docs} WHERE {(givenIds ? "" : "0 AND ")}id IN ({names}) "
                + $"UNION ALL SELECT rowid, id, {LogSourceFunction.For(index.Id)} FROM {docs} WHERE rowid IN ({rows}) AND id IS NULL";
            try
            {
                using SqliteDataReader reader = find.ExecuteReader();
                while (reader.Read())
                {
                    long rowId = reader.GetInt64(0);
                    string id = reader.IsDBNull(1) ? LogDocumentId.ForRow(key, rowId) : reader.GetString(1);
                    found[id] = new LogStoredDocument(indexName, id, rowId, reader.GetString(2));
                }
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                return found; // dropped by retention after the snapshot was taken
            }
            catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the look-up was stopped", e, cancellationToken);
            }
        }

        return found;
    }

    /// <summary>Rows of an index a newest-first page may walk, probing the full-text index for each, before it falls back.</summary>
    private const int ProbeWindow = 20_000;

    /// <summary>
    /// Row ids per row of the probe window up to which FTS5 reads the window's id span instead of probing: rows written in
    /// time order span about one id each; where late rows spread the newest times over the index, probing stays cheaper.
    /// </summary>
    private const int SpanPerWindowRow = 4;

    /// <summary>
    /// Matches from which a newest-first page of <paramref name="limit"/> is expected within half of
    /// <see cref="ProbeWindow"/> newest rows of an index of <paramref name="documents"/>.
    /// </summary>
    private static long DenseEnough(int limit, long documents) =>
        Math.Max(IndexedSortThreshold, (long)Math.Ceiling((double)limit * Math.Max(documents, 1) / (ProbeWindow / 2)));

    /// <summary>
    /// Most FTS5 matches counted to tell whether a newest-first page may walk the probe window (<see cref="DenseEnough"/>):
    /// counting a token's row list costs a little per match, and an index dense enough at this many is dense enough.
    /// </summary>
    private const long MaxDenseCount = 200_000;

    /// <summary>
    /// Rows of a <c>@timestamp</c> range (read from the ts index) up to which the range is narrowed to the span of row
    /// ids its rows have, for FTS5 to look only there. Reading the range's index entries costs far less per row than
    /// FTS5 and the row look-ups per match outside it save; past this many the range is about a day's index anyway
    /// (10 M events over 25 h are 400 k an hour) and FTS5 reads the whole index.
    /// </summary>
    private const int WindowRows = 1_000_000;

    /// <summary>
    /// The indices of <paramref name="selected"/> (unknown names skipped) in the order to search them, each with its
    /// edge: when <paramref name="byTime"/>, the newest (<paramref name="newestFirst"/>) or oldest <c>@timestamp</c>
    /// (one seek in the ts index, or in the block bounds; null when it has none), newest or oldest edge first, so the first indices fill the
    /// page and the others may be only counted (<see cref="BeyondPage"/>).
    /// </summary>
    private static List<(PublishedIndex Index, double? Edge)> Order(
        SqliteConnection connection, PublishedIndex[] published, List<string> selected, bool byTime, bool newestFirst)
    {
        var order = new List<(PublishedIndex Index, double? Edge)>(selected.Count);
        foreach (string name in selected)
        {
            if (Array.Find(published, p => p.Info.Name == name) is not { } index)
            {
                continue;
            }

            double? edge = null;
            if (byTime)
            {
                using SqliteCommand command = connection.CreateCommand();
                // An index with block time bounds reads its edge from them (every row lies in a block): one seek in blocks_N_ts.
                string id = index.Id.ToString(CultureInfo.InvariantCulture);
                command.CommandText = index.BlockTimes
                    ? $"SELECT {(newestFirst ? "max(max_ts)" : "min(min_ts)")} FROM blocks_{id}"
                    : $"SELECT {(newestFirst ? "max" : "min")}(ts) FROM docs_{id}";
                try
                {
                    edge = command.ExecuteScalar() is { } value and (long or double) ? Convert.ToDouble(value, CultureInfo.InvariantCulture) : null;
                }
                catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
                {
                    // Dropped by retention meanwhile: the search skips it.
                }
            }

            order.Add((index, edge));
        }

        return !byTime ? order
            : newestFirst ? [.. order.OrderByDescending(o => o.Edge ?? double.MinValue)]
            : [.. order.OrderBy(o => o.Edge ?? double.MaxValue)];
    }

    /// <summary>
    /// Whether every row of an index whose <c>@timestamp</c> edge is <paramref name="edge"/> (<see cref="Order"/>) sorts
    /// after the <paramref name="limit"/>-th of <paramref name="rows"/> (strictly: a tie could still enter the page). Rows
    /// with no <c>@timestamp</c> sort last in both directions, so an index with none is beyond a page of timestamps.
    /// </summary>
    private static bool BeyondPage(List<(long IndexId, long RowId, LogHit Hit)> rows, int limit, bool newestFirst, double? edge)
    {
        if (rows.Count < limit)
        {
            return false;
        }

        double[] firsts = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Hit.SortValues[0] is not (long or double))
            {
                return false;
            }

            firsts[i] = Convert.ToDouble(rows[i].Hit.SortValues[0], CultureInfo.InvariantCulture);
        }

        Array.Sort(firsts);
        double last = newestFirst ? firsts[^limit] : firsts[limit - 1];
        return edge is not { } e || (newestFirst ? e < last : e > last);
    }

    /// <summary>
    /// The span of row ids the rows of a <c>@timestamp</c> range (<paramref name="window"/>) have, as a condition on
    /// <paramref name="fts"/>'s rowid for FTS5 to seek in its row lists: empty when the range holds
    /// <see cref="WindowRows"/> rows or more, null when it holds none. Exact: every row of the range is inside the span.
    /// </summary>
    private static string? RowSpan(SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, string docs, string fts, string window)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), min(r), max(r) FROM (SELECT d.rowid AS r FROM {docs} d INDEXED BY {docs}_ts WHERE {window} "
            + $"LIMIT {WindowRows.ToString(CultureInfo.InvariantCulture)})";
        parameters.BindTo(command, index.Info.Name);
        using SqliteDataReader reader = command.ExecuteReader();
        _ = reader.Read();
        long rows = reader.GetInt64(0);
        return rows == 0 ? null
            : rows >= WindowRows ? string.Empty
            : string.Create(CultureInfo.InvariantCulture, $" AND {fts}.rowid BETWEEN {reader.GetInt64(1)} AND {reader.GetInt64(2)}");
    }

    /// <summary>The rows FTS5 finds with <paramref name="match"/>, counted alone up to <paramref name="upTo"/> (null: all).</summary>
    private static long CountFullText(SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, string fts, string match, long? upTo) =>
        Count(connection, parameters, index, $"SELECT rowid FROM {fts} WHERE {fts} MATCH {match}", upTo);

    /// <summary>The rows <paramref name="select"/> returns, counted up to <paramref name="upTo"/> (null: all).</summary>
    private static long Count(SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, string select, long? upTo)
    {
        using SqliteCommand count = connection.CreateCommand();
        count.CommandText = upTo is { } n
            ? $"SELECT COUNT(*) FROM ({select} LIMIT {n.ToString(CultureInfo.InvariantCulture)})"
            : $"SELECT COUNT(*) FROM ({select})";
        parameters.BindTo(count, index.Info.Name);
        return (long)count.ExecuteScalar()!;
    }

    /// <summary>
    /// A newest-first page of an index (with a ts index) whose matches are dense: walks the ts index from the newest row down to the
    /// <see cref="ProbeWindow"/>-th newest, asking the full-text index about each row (<c>rowid = d.rowid</c>) instead of
    /// collecting every match of the index first, and stops at <paramref name="limit"/> hits. Exact: a page filled
    /// within the window holds the newest matches of the index (every row from the window's oldest time up was looked
    /// at). False, with nothing added, when the window held fewer hits than the page: the caller then runs the usual query.
    /// </summary>
    /// <remarks>
    /// With <paramref name="fromFullText"/> (the condition as a join driven by FTS5, <see cref="LogFullTextDrive"/>) and
    /// the window's rows close together in row ids (at most <see cref="SpanPerWindowRow"/> ids per row), FTS5 reads its
    /// matches among the window's row ids instead: one seek in its row lists rather than a probe per row walked.
    /// </remarks>
    private static bool NewestByProbing(
        SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, string docs, string fts, string condition, string? fromFullText,
        List<(string Expr, bool Desc)> sortExpressions, int limit, byte[] idKey, List<(long IndexId, long RowId, LogHit Hit)> rows)
    {
        if (sortExpressions.Count == 0 || sortExpressions[0] is not ("d.ts", true))
        {
            return false;
        }

        string probe = condition.Replace($"d.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ",
            $"EXISTS (SELECT 1 FROM {fts} WHERE {fts}.rowid = d.rowid AND {fts} MATCH ", StringComparison.Ordinal);
        using SqliteCommand bound = connection.CreateCommand();
        bound.CommandText = $"SELECT ts FROM {docs} INDEXED BY {docs}_ts WHERE ts IS NOT NULL ORDER BY ts DESC LIMIT 1 OFFSET {ProbeWindow - 1}";
        string floor = bound.ExecuteScalar() is long oldest ? $" AND d.ts >= {oldest.ToString(CultureInfo.InvariantCulture)}" : string.Empty;

        using SqliteCommand select = connection.CreateCommand();
        var sql = new StringBuilder("SELECT d.rowid, d.id, d.source");
        foreach ((string expr, _) in sortExpressions)
        {
            sql.Append(", ").Append(LogQuerySql.ForIndex(expr, fts));
        }

        string? span = null;
        if (fromFullText is not null && floor.Length > 0)
        {
            using SqliteCommand ids = connection.CreateCommand();
            ids.CommandText = $"SELECT min(rowid), max(rowid) FROM {docs} d INDEXED BY {docs}_ts WHERE ts IS NOT NULL{floor}";
            using SqliteDataReader reader = ids.ExecuteReader();
            if (reader.Read() && !reader.IsDBNull(0) && reader.GetInt64(1) - reader.GetInt64(0) < (long)SpanPerWindowRow * ProbeWindow)
            {
                span = string.Create(CultureInfo.InvariantCulture, $" AND {fts}.rowid BETWEEN {reader.GetInt64(0)} AND {reader.GetInt64(1)}");
            }
        }

        if (span is not null)
        {
            sql.Append(" FROM ").Append(fromFullText).Append(span).Append(floor).Append(" ORDER BY ");
        }
        else
        {
            sql.Append(" FROM ").Append(docs).Append(" d INDEXED BY ").Append(docs).Append("_ts WHERE ").Append(probe).Append(floor).Append(" ORDER BY ");
        }

        foreach ((string expr, bool desc) in sortExpressions)
        {
            sql.Append(LogQuerySql.ForIndex(expr, fts)).Append(desc ? " DESC, " : " ASC NULLS LAST, ");
        }

        sql.Append("d.rowid LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
        select.CommandText = sql.ToString();
        parameters.BindTo(select, index.Info.Name);
        var page = new List<(long IndexId, long RowId, LogHit Hit)>(limit);
        using (SqliteDataReader reader = select.ExecuteReader())
        {
            ReadHits(reader, index, sortExpressions, idKey, page);
        }

        if (page.Count < limit && floor.Length > 0)
        {
            return false;
        }

        rows.AddRange(page);
        return true;
    }

    /// <summary>The order of a page: the sort keys, then ties in document order (LogDocOrder), as the ORDER BY within one index.</summary>
    private static int CompareHits(
        (long IndexId, long RowId, LogHit Hit) a, (long IndexId, long RowId, LogHit Hit) b, List<(string Expr, bool Desc)> sortExpressions)
    {
        for (int k = 0; k < sortExpressions.Count; k++)
        {
            int c = CompareSortValues(a.Hit.SortValues[k], b.Hit.SortValues[k], sortExpressions[k].Desc);
            if (c != 0)
            {
                return c;
            }
        }

        int byIndex = a.IndexId.CompareTo(b.IndexId);
        return byIndex != 0 ? byIndex : a.RowId.CompareTo(b.RowId);
    }

    /// <summary>
    /// The span of row ids of the blocks of an index with block time bounds that may hold rows of a <c>@timestamp</c>
    /// range (<paramref name="blockWindow"/>, <see cref="LogQuerySql.BlockWindow"/>), as a condition on
    /// <paramref name="fts"/>'s rowid as <see cref="RowSpan"/> gives it: empty when the span is <see cref="WindowRows"/> ids
    /// or more, null when no block overlaps the range. Exact: every row of the range lies in one of those blocks.
    /// </summary>
    private static string? BlockSpan(SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, string fts, string blockWindow)
    {
        using SqliteCommand command = connection.CreateCommand();
        string blocks = "blocks_" + index.Id.ToString(CultureInfo.InvariantCulture);
        command.CommandText = $"SELECT min(b.first_rowid), max(b.last_rowid) FROM {blocks} b WHERE {blockWindow}";
        parameters.BindTo(command, index.Info.Name);
        using SqliteDataReader reader = command.ExecuteReader();
        _ = reader.Read();
        if (reader.IsDBNull(0))
        {
            return null;
        }

        (long first, long last) = (reader.GetInt64(0), reader.GetInt64(1));
        return last - first + 1 >= WindowRows ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" AND {fts}.rowid BETWEEN {first} AND {last}");
    }

    /// <summary>What <see cref="PageByBlocks"/> reads of an index, besides the sort.</summary>
    /// <param name="Condition">The search's condition on <c>d</c> without row id spans (each statement names its block's).</param>
    /// <param name="FullTextJoin">The condition as a join driven by FTS5 (<see cref="LogFullTextDrive"/>), or null.</param>
    /// <param name="Window">The blocks that may hold matches (<see cref="LogQuerySql.BlockWindow"/>), or null: all.</param>
    /// <param name="After">The search_after condition, or null.</param>
    /// <param name="AfterBound">The parameter holding search_after's first value when the index has no row without a
    /// <c>@timestamp</c>: blocks entirely before it are skipped.</param>
    private sealed record BlockPage(string Condition, string? FullTextJoin, string? Window, string? After, string? AfterBound);

    /// <summary>
    /// A page sorted by <c>@timestamp</c> of an index with block time bounds: its blocks in order of max_ts descending
    /// (newest first; min_ts ascending, oldest first), each block's best <paramref name="limit"/> matches read with one
    /// statement over its row ids and merged, until the page holds <paramref name="limit"/> rows and the next block's
    /// bound is beyond the last of them. Exact: a row of a later block sorts after that bound, so strictly after the
    /// page's last row (a tie, a bound equal to the page's last time, goes on: the tie's other keys decide); rows without
    /// <c>@timestamp</c> sort last, so a block with no bounds ends the walk once the page is full of times, and a page that
    /// is not walks every block. Blocks overlap in time whenever rows arrive out of order; that costs only more blocks.
    /// </summary>
    private static void PageByBlocks(SqliteConnection connection, LogSqlParameters parameters, PublishedIndex index, BlockPage what,
        List<(string Expr, bool Desc)> sortExpressions, int limit, byte[] idKey, List<(long IndexId, long RowId, LogHit Hit)> rows,
        CancellationToken cancellationToken)
    {
        string id = index.Id.ToString(CultureInfo.InvariantCulture);
        string fts = "fts_" + id;
        bool newestFirst = sortExpressions[0].Desc;
        var blocks = new List<(long First, long Last, long? Bound)>();
        using (SqliteCommand list = connection.CreateCommand())
        {
            string bound = newestFirst ? "b.max_ts" : "b.min_ts";
            string skip = what.AfterBound is { } v ? $" AND {(newestFirst ? "b.min_ts <= " : "b.max_ts >= ")}{v}" : string.Empty;
            list.CommandText = $"SELECT b.first_rowid, b.last_rowid, {bound} FROM blocks_{id} b WHERE {what.Window ?? "1"}{skip} "
                + (newestFirst ? "ORDER BY b.max_ts DESC" : "ORDER BY b.min_ts IS NULL, b.min_ts");
            parameters.BindTo(list, index.Info.Name);
            using SqliteDataReader reader = list.ExecuteReader();
            while (reader.Read())
            {
                blocks.Add((reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
            }
        }

        // A full-text condition is probed per row of the block (FTS5 seeks the row in its lists) rather than collected
        // whole by each block's statement.
        string Probed(string condition) => condition.Replace($"d.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ",
            $"EXISTS (SELECT 1 FROM {fts} WHERE {fts}.rowid = d.rowid AND {fts} MATCH ", StringComparison.Ordinal);
        var sql = new StringBuilder("SELECT d.rowid, d.id, d.source");
        foreach ((string expr, _) in sortExpressions)
        {
            sql.Append(", ").Append(LogQuerySql.ForIndex(expr, fts));
        }

        sql.Append(what.FullTextJoin is { } join
            ? $" FROM {Probed(join)} AND {fts}.rowid BETWEEN $block_first AND $block_last"
            : $" FROM docs_{id} d WHERE d.rowid BETWEEN $block_first AND $block_last AND ({Probed(what.Condition)})");
        if (what.After is { } after)
        {
            sql.Append(" AND ").Append(after);
        }

        sql.Append(" ORDER BY ");
        foreach ((string expr, bool desc) in sortExpressions)
        {
            sql.Append(LogQuerySql.ForIndex(expr, fts)).Append(desc ? " DESC, " : " ASC NULLS LAST, ");
        }

        sql.Append("d.rowid LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = sql.ToString();
        parameters.BindTo(select, index.Info.Name);
        SqliteParameter first = select.Parameters.AddWithValue("$block_first", 0L);
        SqliteParameter last = select.Parameters.AddWithValue("$block_last", 0L);
        var page = new List<(long IndexId, long RowId, LogHit Hit)>(limit * 2);
        for (int i = 0; i < blocks.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (first.Value, last.Value) = (blocks[i].First, blocks[i].Last);
            using (SqliteDataReader reader = select.ExecuteReader())
            {
                ReadHits(reader, index, sortExpressions, idKey, page);
            }

            page.Sort((a, b) => CompareHits(a, b, sortExpressions));
            if (page.Count > limit)
            {
                page.RemoveRange(limit, page.Count - limit);
            }

            if (page.Count == limit && i + 1 < blocks.Count && page[^1].Hit.SortValues[0] is { } lastValue)
            {
                double time = Convert.ToDouble(lastValue, CultureInfo.InvariantCulture);
                if (blocks[i + 1].Bound is not { } next || (newestFirst ? next < time : next > time))
                {
                    break;
                }
            }
        }

        rows.AddRange(page);
    }

    /// <summary>The hits of a page statement (rowid, id, source, then one column per sort expression) added to <paramref name="rows"/>.</summary>
    private static void ReadHits(
        SqliteDataReader reader, PublishedIndex index, List<(string Expr, bool Desc)> sortExpressions, byte[] idKey,
        List<(long IndexId, long RowId, LogHit Hit)> rows)
    {
        while (reader.Read())
        {
            long rowId = reader.GetInt64(0);
            object?[] sortValues = new object?[sortExpressions.Count];
            for (int k = 0; k < sortValues.Length; k++)
            {
                // _doc's value is the document order across indices, not the row id alone.
                sortValues[k] = sortExpressions[k].Expr == "d.rowid" ? LogDocOrder.Encode(index.Id, rowId)
                    : reader.IsDBNull(3 + k) ? null : reader.GetValue(3 + k);
            }

            string id = reader.IsDBNull(1) ? LogDocumentId.ForRow(idKey, rowId) : reader.GetString(1);
            rows.Add((index.Id, rowId, new LogHit(index.Info.Name, id, reader.GetString(2), sortValues)));
        }
    }

    /// <summary>SQLite's generic error: the statement is wrong (or too large), not the database.</summary>
    private const int SqliteError = 1;

    /// <summary>SQLite's SQLITE_TOOBIG: a string, blob or statement over its size limit.</summary>
    private const int SqliteTooBig = 18;

    /// <summary>Runs a search over concrete index names (unknown names are skipped); <paramref name="countOnly"/> skips the hits.</summary>
    /// <param name="search">What to find.</param>
    /// <param name="countOnly">Count the matches, read no hits.</param>
    /// <param name="cancellationToken">Stops the search: looked at before each statement, and a statement running when it
    /// fires is interrupted (<c>sqlite3_interrupt</c> on the search's own connection: a managed token cannot stop a step
    /// inside SQLite, and a full-text count over a large index is one long step).</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="LogQueryException">SQLite refused the statement the query compiled to.</exception>
    public LogSearchResult Search(LogSearch search, bool countOnly, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Every fragment takes its parameter names from one collector, so they join without renaming; the condition is
        // the same for every index but for its full-text table's name.
        var parameters = new LogSqlParameters();
        string where = LogQuerySql.Where(search.Query, parameters);
        List<(string Expr, bool Desc)> sortExpressions = LogQuerySql.OrderBy(search.Sort, parameters);
        (long Value, bool Desc)? docKey = null;
        string? firstAfterValue = null;
        string? after = search.SearchAfter is { } afterValues ? LogQuerySql.After(sortExpressions, afterValues, parameters, out docKey, out firstAfterValue) : null;
        var selected = search.Indices.Distinct(StringComparer.Ordinal).ToList();
        PublishedIndex[] published = _published;
        int limit = search.From + search.Size;
        long total = 0;
        bool terminatedEarly = false;
        int? terminateAfter = search.TerminateAfter is > 0 ? search.TerminateAfter : null;
        var rows = new List<(long IndexId, long RowId, LogHit Hit)>();
        using SqliteConnection connection = OpenReader();
        // Disposed before the connection (declared after it): no interrupt can reach a closed or pooled-again handle.
        using CancellationTokenRegistration interrupt = cancellationToken.Register(static handle => raw.sqlite3_interrupt((sqlite3)handle!), connection.Handle);
        // A condition one of whose conjuncts is a full-text match is counted (and, within a ts range, paged) starting
        // from FTS5: the usual statement would first collect every match of the index (see LogFullTextDrive).
        LogFullTextDrive? drive = null;
        if (terminateAfter is null && search.Query is not MatchAllQuery)
        {
            try
            {
                drive = LogQuerySql.Drive(search.Query, parameters);
            }
            catch (LogQueryException)
            {
                // Its fragments took the query over the parameter limit, which Where's condition alone is not: the
                // usual statements answer.
            }
        }

        bool byTime = sortExpressions.Count > 0 && sortExpressions[0].Expr == "d.ts";
        // The @timestamp ranges every match meets, on the bounds of blocks (indices with block time bounds).
        string? blockWindow = null;
        try
        {
            blockWindow = LogQuerySql.BlockWindow(search.Query, parameters);
        }
        catch (LogQueryException)
        {
            // Over the parameter limit as for Drive: blocks are then walked without the window, rows still checked.
        }

        List<(PublishedIndex Index, double? Edge)> order =
            Order(connection, published, selected, byTime && !countOnly && limit > 0, byTime && sortExpressions[0].Desc);
        foreach ((PublishedIndex index, double? edge) in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string fts = "fts_" + index.Id.ToString(CultureInfo.InvariantCulture);
            string docs = "docs_" + index.Id.ToString(CultureInfo.InvariantCulture);
            byte[] idKey = index.IdKey;
            string condition = LogQuerySql.ForIndex(where, fts, index.BlockTimes);
            string blockCondition = LogQuerySql.ForIndex(where, fts);
            string frozenRows = string.Empty;
            if (search.Snapshot is { } snapshot)
            {
                // A point in time: an index it does not know (created later, or re-created under the same name) is
                // invisible, and so are rows written after it (higher row ids).
                if (snapshot.Find(index.Info.Name) is not { } frozen || frozen.Uuid != index.Info.Uuid)
                {
                    continue;
                }

                frozenRows = " AND d.rowid <= " + frozen.MaxRowId.ToString(CultureInfo.InvariantCulture);
                condition = $"({condition}){frozenRows}";
                blockCondition = $"({blockCondition}){frozenRows}";
            }

            // Once the page holds `limit` hits, an index whose every row sorts after the last of them adds none (its
            // newest @timestamp is older, newest first; its oldest is newer, oldest first): it is only counted. And
            // counting stops where track_total_hits is reached over all indices, not per index.
            bool page = !countOnly && limit > 0 && !(byTime && BeyondPage(rows, limit, sortExpressions[0].Desc, edge));
            long? budget = search.TrackTotalHitsUpTo is { } cap ? Math.Max(0, cap + 1L - total) : null;
            if (!page && budget == 0 && terminateAfter is null)
            {
                continue;
            }

            try
            {
                long matches;
                long planning;
                long denseMatches = 0;
                string? driven = null;
                string? fullTextJoin = null;
                if (terminateAfter is { } stopAfter)
                {
                    // terminate_after: the index's first stopAfter matches by rowid (insertion order, as a shard
                    // collects in doc order) are all there is; one more tells whether collection stopped early.
                    using SqliteCommand count = connection.CreateCommand();
                    count.CommandText = $"SELECT COUNT(*) FROM (SELECT 1 FROM {docs} d WHERE {condition} ORDER BY d.rowid LIMIT {(stopAfter + 1L).ToString(CultureInfo.InvariantCulture)})";
                    parameters.BindTo(count, index.Info.Name);
                    long found = (long)count.ExecuteScalar()!;
                    terminatedEarly |= found > stopAfter;
                    matches = planning = Math.Min(found, stopAfter);
                    condition = $"d.rowid IN (SELECT d.rowid FROM {docs} d WHERE {condition} ORDER BY d.rowid LIMIT {stopAfter.ToString(CultureInfo.InvariantCulture)})";
                    blockCondition = condition;
                }
                else if (search.Query is MatchAllQuery && search.Snapshot is null)
                {
                    // Every document matches: the count the writer published with its last commit is exact, while
                    // COUNT(*) walks the whole ts index or table (26 ms CPU for 400k documents; clients poll _count).
                    matches = planning = index.Info.DocumentCount;
                }
                else if (drive is not null)
                {
                    string match = LogQuerySql.ForIndex(drive.Match, fts);
                    string rest = LogQuerySql.ForIndex(drive.Rest, fts) + frozenRows;
                    string span = string.Empty;
                    if (drive.Window is { } window)
                    {
                        string? rowSpan = index.BlockTimes
                            ? (blockWindow is null ? string.Empty : BlockSpan(connection, parameters, index, fts, blockWindow))
                            : RowSpan(connection, parameters, index, docs, fts, LogQuerySql.ForIndex(window, fts));
                        if (rowSpan is null)
                        {
                            continue; // no row in the range: none matches
                        }

                        span = rowSpan;
                    }

                    // FTS5 drives: its matches stream in rowid order, each row looked up and checked against the rest,
                    // so a count stops at the budget instead of after every match of the index.
                    driven = $"{fts} CROSS JOIN {docs} d ON d.rowid = {fts}.rowid WHERE {fts} MATCH {match}{span}"
                        + (rest == "1" ? string.Empty : " AND " + rest);
                    long dense = page && after is null && span.Length == 0 && sortExpressions.Count > 0 && sortExpressions[0] is ("d.ts", true)
                        ? Math.Min(DenseEnough(limit, index.Info.DocumentCount), MaxDenseCount) : 0;
                    long plan = page && span.Length == 0 ? Math.Max(dense, IndexedSortThreshold) : 0;
                    if (rest == "1" && span.Length == 0)
                    {
                        // The match is the whole condition: FTS5 counts it alone, a little further when the page needs
                        // to know how dense the matches are.
                        long? upTo = budget is { } left ? Math.Max(left, plan) : null;
                        long found = CountFullText(connection, parameters, index, fts, match, upTo);
                        matches = budget is { } b ? Math.Min(found, b) : found;
                        planning = denseMatches = found;
                    }
                    else
                    {
                        matches = budget == 0 ? 0 : Count(connection, parameters, index, $"SELECT 1 FROM {driven}", budget);
                        planning = matches;
                        if (plan > 0)
                        {
                            // Past the confirmed count, how many rows hold the tokens tells how dense the matches may be
                            // (the rest confirms them on the page, which falls back when they are not).
                            planning = denseMatches = plan > matches ? CountFullText(connection, parameters, index, fts, match, plan) : matches;
                        }

                    }

                    fullTextJoin = driven;
                    driven = span.Length == 0 ? null : driven;
                }
                else
                {
                    // Counting stops past the remaining track_total_hits budget (ES's default 10000, then "gte"), or
                    // past what the page's plan needs to know.
                    long? upTo = budget is { } left ? Math.Max(left, page ? IndexedSortThreshold : 0) : null;
                    planning = Count(connection, parameters, index, $"SELECT 1 FROM {docs} d WHERE {condition}", upTo);
                    matches = budget is { } b ? Math.Min(planning, b) : planning;
                }

                total += matches;
                if (!page)
                {
                    continue;
                }

                if (index.BlockTimes && driven is null && byTime && planning >= IndexedSortThreshold)
                {
                    // Many matches and no ts index: the blocks newest (or oldest) first, until no later block can hold a
                    // row of the page (see PageByBlocks).
                    string? afterCondition = after is null ? null : LogQuerySql.ForIndex(LogQuerySql.ForDocOrder(after, index.Id, docKey), fts);
                    string? afterBound = after is not null && firstAfterValue is not null && !HasNullTimestamps(connection, docs) ? firstAfterValue : null;
                    PageByBlocks(connection, parameters, index, new BlockPage(blockCondition, drive is null ? null : fullTextJoin, blockWindow, afterCondition,
                        afterBound), sortExpressions, limit, idKey, rows, cancellationToken);
                    continue;
                }

                if (!index.BlockTimes && after is null && denseMatches >= DenseEnough(limit, index.Info.DocumentCount)
                    && NewestByProbing(connection, parameters, index, docs, fts, condition, fullTextJoin, sortExpressions, limit, idKey, rows))
                {
                    continue;
                }

                using SqliteCommand select = connection.CreateCommand();
                var sql = new StringBuilder("SELECT d.rowid, d.id, d.source");
                foreach ((string expr, _) in sortExpressions)
                {
                    sql.Append(", ").Append(LogQuerySql.ForIndex(expr, fts));
                }

                if (driven is not null)
                {
                    // Within a ts range's rows: every match there, from FTS5, sorted (the range bounded their number).
                    sql.Append(" FROM ").Append(driven);
                }
                else
                {
                    sql.Append(" FROM ").Append(docs).Append(" d ");
                    if (planning >= IndexedSortThreshold && byTime)
                    {
                        // SQLite cannot estimate how many rows a full-text match returns and then sorts every match by
                        // rowid lookups; with many matches, walking the ts index and stopping after the page is far
                        // cheaper (228k of 300k matches: 310 ms → 46 ms). The count just taken tells which case this is.
                        sql.Append("INDEXED BY ").Append(docs).Append("_ts ");
                    }

                    sql.Append("WHERE ").Append(condition);
                }

                if (after is not null)
                {
                    sql.Append(" AND ").Append(LogQuerySql.ForIndex(LogQuerySql.ForDocOrder(after, index.Id, docKey), fts));
                    if (driven is null && firstAfterValue is not null && byTime && !HasNullTimestamps(connection, docs))
                    {
                        // The resume point as a range on the ts index, so a page starts there instead of walking every
                        // row before it (300 pages of 1,000 over 300k events: 293 s → 5 s). Rows with no @timestamp
                        // sort last and a range leaves them out: only an index without them gets the bound.
                        sql.Append(" AND d.ts ").Append(sortExpressions[0].Desc ? "<= " : ">= ").Append(firstAfterValue);
                    }
                }

                sql.Append(" ORDER BY ");
                foreach ((string expr, bool desc) in sortExpressions)
                {
                    // Missing values sort last in both directions (ES's default "missing": "_last"); NULL is SQLite's
                    // smallest value, so DESC already puts it last and keeps the ts index usable for the newest-first sort.
                    sql.Append(LogQuerySql.ForIndex(expr, fts)).Append(desc ? " DESC, " : " ASC NULLS LAST, ");
                }

                cancellationToken.ThrowIfCancellationRequested();
                sql.Append("d.rowid LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
                select.CommandText = sql.ToString();
                parameters.BindTo(select, index.Info.Name);
                using SqliteDataReader reader = select.ExecuteReader();
                ReadHits(reader, index, sortExpressions, idKey, rows);
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                // Dropped by retention after the snapshot was taken: it is gone, as if it had not been selected.
            }
            catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("the search was stopped", e, cancellationToken);
            }
            catch (SqliteException e) when (e.SqliteErrorCode is SqliteError or SqliteTooBig)
            {
                // SQLite refused the statement the query compiled to (a limit on its size or depth, a JSON path it
                // cannot read): the request's fault, not the store's. I/O, corruption and locking errors pass on.
                throw new LogQueryException("the query cannot be run: " + e.Message, e);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (countOnly)
        {
            return Result(total, []);
        }

        rows.Sort((a, b) => CompareHits(a, b, sortExpressions));
        var hits = new List<LogHit>(Math.Min(search.Size, Math.Max(0, rows.Count - search.From)));
        for (int i = search.From; i < rows.Count && i < limit; i++)
        {
            hits.Add(rows[i].Hit);
        }

        ReadSources(connection, rows, search.From, hits, cancellationToken);

        return Result(total, hits);

        LogSearchResult Result(long count, List<LogHit> page) => search.TrackTotalHitsUpTo is { } cap && count > cap
            ? new LogSearchResult(cap, page) { TotalIsLowerBound = true, TerminatedEarly = terminatedEarly }
            : new LogSearchResult(count, page) { TerminatedEarly = terminatedEarly };
    }

    /// <summary>
    /// The documents visible now in <paramref name="indices"/> (unknown names are skipped): a point in time for
    /// <see cref="LogSearch.Snapshot"/>.
    /// </summary>
    public LogSnapshot Snapshot(IReadOnlyList<string> indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(indices);
        PublishedIndex[] published = _published;
        var frozen = new List<LogSnapshotIndex>();
        using SqliteConnection connection = OpenReader();
        foreach (string name in indices.Distinct(StringComparer.Ordinal))
        {
            if (Array.Find(published, p => p.Info.Name == name) is not { } index)
            {
                continue;
            }

            try
            {
                // The rowid is the primary key: max() reads one b-tree edge.
                long maxRowId = Scalar(connection, $"SELECT coalesce(max(rowid), 0) FROM docs_{index.Id.ToString(CultureInfo.InvariantCulture)}");
                frozen.Add(new LogSnapshotIndex(name, index.Info.Uuid, maxRowId));
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                // Dropped by retention meanwhile.
            }
        }

        return new LogSnapshot(frozen);
    }

    // The page's sources, read once it is known: the statements above select the stored column only (empty for rows
    // whose source is in a block), since a sorted statement computes its columns for every match, not just the page.
    private static void ReadSources(SqliteConnection connection, List<(long IndexId, long RowId, LogHit Hit)> rows, int from, List<LogHit> hits,
        CancellationToken cancellationToken)
    {
        var byIndex = new Dictionary<long, List<(long RowId, int Hit)>>();
        for (int i = 0; i < hits.Count; i++)
        {
            if (hits[i].Source.Length == 0)
            {
                (long indexId, long rowId, _) = rows[from + i];
                if (!byIndex.TryGetValue(indexId, out List<(long RowId, int Hit)>? wanted))
                {
                    byIndex[indexId] = wanted = [];
                }

                wanted.Add((rowId, i));
            }
        }

        foreach ((long indexId, List<(long RowId, int Hit)> wanted) in byIndex)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sources = new Dictionary<long, string>();
            using SqliteCommand select = connection.CreateCommand();
            string rowIds = string.Join(", ", wanted.Select(w => w.RowId.ToString(CultureInfo.InvariantCulture)));
            select.CommandText = $"SELECT rowid, {LogSourceFunction.For(indexId)} FROM docs_{indexId.ToString(CultureInfo.InvariantCulture)} "
                + $"WHERE rowid IN ({rowIds}) ORDER BY rowid";
            try
            {
                using SqliteDataReader reader = select.ExecuteReader();
                while (reader.Read())
                {
                    sources[reader.GetInt64(0)] = reader.GetString(1);
                }
            }
            catch (SqliteException e) when (e.Message.Contains("no such table", StringComparison.Ordinal))
            {
                // Dropped by retention after the page was read: its hits keep no source.
            }

            foreach ((long rowId, int hit) in wanted)
            {
                if (sources.TryGetValue(rowId, out string? source))
                {
                    hits[hit] = hits[hit] with { Source = source };
                }
            }
        }
    }

    // IS NULL is answered from the ts index, or from the index of rows without ts (docs_N_nots): one seek.
    private static bool HasNullTimestamps(SqliteConnection connection, string docs) =>
        Scalar(connection, $"SELECT EXISTS(SELECT 1 FROM {docs} WHERE ts IS NULL)") != 0;

    private static int CompareSortValues(object? a, object? b, bool descending)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : 1) : -1;
        }

        int c = (a, b) switch
        {
            (string x, string y) => string.CompareOrdinal(x, y),
            (string, _) => 1,
            (_, string) => -1,
            _ => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
        };
        return descending ? -c : c;
    }
}
