using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

// What an index takes in logs.db (store.size of _cat/indices). SQLite's dbstat table, which counts the pages of each
// table, is not compiled into the bundled SQLite (SQLitePCLRaw's e_sqlite3: no ENABLE_DBSTAT_VTAB), so the bytes are
// summed from the records instead, as the file format encodes them (sqlite.org/fileformat2.html §2.1 "Record Format"):
//
//   record = header (1 byte + 1 per column) + each value: NULL, 0, 1 → 0; other integers 1, 2, 3, 4, 6 or 8 bytes;
//            REAL 8; TEXT and BLOB their bytes (a zstd block counts as stored, compressed)
//   index entry = header (2 bytes + 1 per column) + the indexed values + the row id
//
// over every table of the index (docs_N, values_N, blocks_N, blockrows_N, dicts_N and the FTS5 shadow tables fts_N_*) and every entry of
// their indexes. Not counted: page headers, unused room in pages and free pages, which SQLite shares among all indices
// (LogStore.UsedBytes counts the whole file) — the figure is what deleting the index gives back, give or take that slack.
public sealed partial class LogStore
{
    // A measurement reads every record of the index; it is reused while the index is unchanged and younger than this,
    // so that _cat/indices polled by a dashboard does not scan a store of old daily indices each time. The bound lets
    // idle maintenance (re-packing blocks, merging full-text segments, which leave the listing unchanged) show within it.
    private static readonly TimeSpan StoredBytesReuse = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<long, (LogIndexInfo Info, long Bytes, DateTimeOffset MeasuredAt)> _storedBytes = new();

    /// <summary>
    /// The bytes each index named in <paramref name="indexNames"/> takes in the database: the records of its tables and
    /// the entries of their indexes as SQLite encodes them (compressed <c>_source</c> blocks, document rows, full-text
    /// segments, values), without page overhead and free pages. Unknown names are left out. A measurement reads every
    /// record of the index (one scan per table) and is reused for up to a minute while the index is unchanged.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyDictionary<string, long> StoredBytes(IEnumerable<string> indexNames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(indexNames);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var wanted = new HashSet<string>(indexNames, StringComparer.Ordinal);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        DateTimeOffset now = _time.GetUtcNow();
        var toMeasure = new List<PublishedIndex>();
        foreach (PublishedIndex index in _published)
        {
            if (!wanted.Contains(index.Info.Name))
            {
                continue;
            }

            if (_storedBytes.TryGetValue(index.Id, out var known) && known.Info == index.Info && now - known.MeasuredAt < StoredBytesReuse)
            {
                result[index.Info.Name] = known.Bytes;
            }
            else
            {
                toMeasure.Add(index);
            }
        }

        if (toMeasure.Count == 0)
        {
            return result;
        }

        using SqliteConnection connection = OpenReader();
        using CancellationTokenRegistration interrupt = cancellationToken.Register(static handle => raw.sqlite3_interrupt((sqlite3)handle!), connection.Handle);
        using SqliteTransaction snapshot = connection.BeginTransaction(deferred: true);
        try
        {
            foreach (PublishedIndex index in toMeasure)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long bytes = MeasureStoredBytes(connection, snapshot, index.Id);
                _storedBytes[index.Id] = (index.Info, bytes, now);
                result[index.Info.Name] = bytes;
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the size measurement was stopped", e, cancellationToken);
        }

        foreach (long gone in _storedBytes.Keys.Where(id => !Array.Exists(_published, p => p.Id == id)))
        {
            _ = _storedBytes.TryRemove(gone, out _);
        }

        return result;
    }

    private static long MeasureStoredBytes(SqliteConnection connection, SqliteTransaction snapshot, long id)
    {
        string n = id.ToString(CultureInfo.InvariantCulture);
        var tables = new List<(string Name, bool WithoutRowId)>();
        using (SqliteCommand list = connection.CreateCommand())
        {
            // The FTS5 table itself ('virtual') holds nothing; its shadow tables hold the segments, sizes and settings.
            list.Transaction = snapshot;
            list.CommandText = """
                SELECT name, wr FROM pragma_table_list
                WHERE schema = 'main' AND type IN ('table', 'shadow')
                  AND (name IN ('docs_' || @n, 'values_' || @n, 'blocks_' || @n, 'blockrows_' || @n, 'dicts_' || @n)
                    OR name LIKE 'fts\_' || @n || '\_%' ESCAPE '\')
                """;
            _ = list.Parameters.AddWithValue("@n", n);
            using SqliteDataReader reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add((reader.GetString(0), reader.GetInt64(1) != 0));
            }
        }

        long total = 0;
        foreach ((string table, bool withoutRowId) in tables)
        {
            string sql = TableBytesSql(connection, snapshot, table, withoutRowId);
            using SqliteCommand sum = connection.CreateCommand();
            sum.Transaction = snapshot;
            sum.CommandText = sql;
            total += Convert.ToInt64(sum.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>One statement that sums, over the rows of <paramref name="table"/>, its record and its index entries.</summary>
    private static string TableBytesSql(SqliteConnection connection, SqliteTransaction snapshot, string table, bool withoutRowId)
    {
        List<string> columns = Names(connection, snapshot, "SELECT name FROM pragma_table_info(@t)", table);
        var perRow = new StringBuilder();
        _ = perRow.Append(CultureInfo.InvariantCulture, $"{1 + columns.Count}");
        foreach (string column in columns)
        {
            _ = perRow.Append(" + ").Append(ValueBytes(Quote(column)));
        }

        // A WITHOUT ROWID table is its primary-key index ('pk'); a rowid table has one only for a non-integer key.
        foreach (string index in Names(connection, snapshot, "SELECT name FROM pragma_index_list(@t) WHERE origin <> 'pk' OR NOT @wr", table, withoutRowId))
        {
            List<string> keys = Names(connection, snapshot, "SELECT name FROM pragma_index_info(@t) WHERE name IS NOT NULL", index);
            // A partial index (docs_N_nots) has entries only for the rows its WHERE holds for.
            string? partial = PartialIndexCondition(connection, snapshot, index);
            _ = perRow.Append(partial is null ? " + (" : $" + (CASE WHEN {partial} THEN ").Append(CultureInfo.InvariantCulture, $"{2 + keys.Count}");
            foreach (string key in keys)
            {
                _ = perRow.Append(" + ").Append(ValueBytes(Quote(key)));
            }

            if (!withoutRowId)
            {
                _ = perRow.Append(" + ").Append(ValueBytes("rowid"));
            }

            _ = perRow.Append(partial is null ? ")" : " ELSE 0 END)");
        }

        return $"SELECT coalesce(sum({perRow}), 0) FROM {Quote(table)}";
    }

    /// <summary>The WHERE condition of a partial index, as its CREATE INDEX statement gives it, or null for a full index.</summary>
    private static string? PartialIndexCondition(SqliteConnection connection, SqliteTransaction snapshot, string index)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = snapshot;
        command.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = @t";
        _ = command.Parameters.AddWithValue("@t", index);
        if (command.ExecuteScalar() is not string sql)
        {
            return null; // an index SQLite made for a constraint: never partial
        }

        int where = sql.LastIndexOf(" WHERE ", StringComparison.OrdinalIgnoreCase);
        return where < 0 ? null : "(" + sql[(where + " WHERE ".Length)..] + ")";
    }

    /// <summary>The bytes a value takes in a record (its serial type's size, file format §2.1); octet_length and typeof read no content.</summary>
    private static string ValueBytes(string column) =>
        $"(CASE typeof({column}) WHEN 'null' THEN 0 WHEN 'real' THEN 8 WHEN 'integer' THEN (CASE WHEN {column} BETWEEN 0 AND 1 THEN 0"
        + $" WHEN {column} BETWEEN -128 AND 127 THEN 1 WHEN {column} BETWEEN -32768 AND 32767 THEN 2"
        + $" WHEN {column} BETWEEN -8388608 AND 8388607 THEN 3 WHEN {column} BETWEEN -2147483648 AND 2147483647 THEN 4"
        + $" WHEN {column} BETWEEN -140737488355328 AND 140737488355327 THEN 6 ELSE 8 END) ELSE octet_length({column}) END)";

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static List<string> Names(SqliteConnection connection, SqliteTransaction snapshot, string sql, string name, bool withoutRowId = false)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = snapshot;
        command.CommandText = sql;
        _ = command.Parameters.AddWithValue("@t", name);
        if (sql.Contains("@wr", StringComparison.Ordinal))
        {
            _ = command.Parameters.AddWithValue("@wr", withoutRowId);
        }

        var names = new List<string>();
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
