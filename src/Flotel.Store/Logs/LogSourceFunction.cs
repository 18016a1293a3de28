using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using ZstdSharp;

namespace Flotel.Store.Logs;

/// <summary>
/// The SQL function <c>flotel_source('fts_N', rowid, source)</c>, registered on every connection of the store: a row's
/// <c>_source</c> text, which is its <c>source</c> column when that is not empty (rows written before blocks existed)
/// and otherwise its entry in the <c>blocks_N</c> block whose row id range holds it (schema in <see cref="LogStore"/>).
/// </summary>
/// <remarks>
/// The index is named by its full-text table because that is the one per-index name every compiled condition already
/// carries (<see cref="LogQuerySql.ForIndex(string, string)"/> fills it in). The function runs its look-ups on the connection calling
/// it, inside the same read transaction, so it sees the snapshot of the statement it serves. A block is decompressed
/// once per scan: the connection keeps the last block it used, and the store's <see cref="LogBlockCache"/> keeps recent
/// ones for every connection. A block that cannot be read fails the statement with SQLITE_CORRUPT and a message naming
/// the block; statements that do not touch it are unaffected. <c>flotel_phrase</c> decompresses only a block's messages
/// section (<see cref="LogBlock.DecodeMessages"/>), cached apart from whole blocks, and checks the message as it is
/// stored, without parsing the source's JSON.
/// </remarks>
internal sealed class LogSourceFunction
{
    /// <summary>The SQL expression of a row's source in a condition over <c>docs_N d</c> (see <see cref="LogQuerySql"/>).</summary>
    public const string Expression = "flotel_source('" + LogQuerySql.FtsTable + "', d.rowid, d.source)";

    /// <summary>The SQL expression of a row's <c>_id</c> over <c>docs_N d</c>: the id it was given, or its generated one.</summary>
    public const string DocIdExpression = "coalesce(d.id, " + DocIdFunction + "('" + LogQuerySql.FtsTable + "', d.rowid))";

    /// <summary><c>flotel_docid('fts_N', rowid)</c>: the generated id of a row (<see cref="LogDocumentId.ForRow"/>).</summary>
    public const string DocIdFunction = "flotel_docid";

    /// <summary>
    /// <c>flotel_rowid('fts_N', id)</c>: the row a generated id of the index names, NULL for any other text
    /// (<see cref="LogDocumentId.TryRowOf"/>).
    /// </summary>
    public const string RowIdFunction = "flotel_rowid";

    private readonly sqlite3 _db;
    private readonly Blocks _blocks;
    private LogBlock? _last;
    private long _lastIndex;
    private long _lastRowId;
    private int _lastEpoch;
    private LogFullText.Checker? _checker;
    private LogBlock? _lastMessages;
    private long _lastMessagesIndex;
    private long _lastMessagesRowId;
    private int _lastMessagesEpoch;
    private readonly Dictionary<long, List<byte[]?>> _values = [];
    private readonly Dictionary<long, byte[]> _idKeys = [];
    private int _valuesEpoch;

    private LogSourceFunction(sqlite3 db, Blocks blocks)
    {
        _db = db;
        _blocks = blocks;
    }

    /// <summary>The SQL expression of a row's source over one index's <c>docs_N</c> without an alias.</summary>
    public static string For(long indexId) =>
        "flotel_source('fts_" + indexId.ToString(CultureInfo.InvariantCulture) + "', rowid, source)";

    /// <summary>Registers the function on an open connection.</summary>
    public static void Register(SqliteConnection connection, Blocks blocks)
    {
        var state = new LogSourceFunction(connection.Handle!, blocks);
        int rc = raw.sqlite3_create_function(connection.Handle!, "flotel_source", 3, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, Invoke);
        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, LogFullText.ExpressionFunction, 3, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state,
                InvokeExpression);
        }

        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, LogFullText.CheckFunction, 4, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, InvokeCheck);
        }

        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, TextFunction, 2, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, InvokeText);
        }

        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, IdFunction, 2, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, InvokeId);
        }

        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, DocIdFunction, 2, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, InvokeDocId);
        }

        if (rc == raw.SQLITE_OK)
        {
            rc = raw.sqlite3_create_function(connection.Handle!, RowIdFunction, 2, raw.SQLITE_UTF8 | raw.SQLITE_DETERMINISTIC, state, InvokeRowId);
        }

        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteException("the log store's SQL functions cannot be registered", rc);
        }
    }

    // flotel_fts('fts_N', positions, compact): the FTS5 expression for the index's layout (see LogFullText).
    private static void InvokeExpression(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is { } indexId)
        {
            raw.sqlite3_result_text(ctx, raw.sqlite3_value_blob(self._blocks.HasPositions(indexId) ? args[1] : args[2]));
        }
    }

    // flotel_phrase('fts_N', rowid, source, check): true when the index keeps positions (FTS5 matched the phrase) or
    // the row's message holds the check's phrases.
    private static void InvokeCheck(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is not { } indexId)
        {
            return;
        }

        if (self._blocks.HasPositions(indexId))
        {
            raw.sqlite3_result_int(ctx, 1);
            return;
        }

        ReadOnlySpan<byte> stored = raw.sqlite3_value_blob(args[2]);
        ReadOnlySpan<byte> check = raw.sqlite3_value_blob(args[3]);
        LogFullText.Checker checker = self._checker ??= new LogFullText.Checker();
        try
        {
            bool matches;
            if (stored.Length > 0)
            {
                matches = checker.Matches(stored, check);
            }
            else
            {
                // The block's messages section when it has one (no JSON, a fraction of the bytes to decompress).
                long rowId = raw.sqlite3_value_int64(args[1]);
                LogBlock block = self.ReadMessages(indexId, rowId);
                matches = block.HasMessages ? checker.MatchesMessage(block.Message(rowId), check) : checker.Matches(SourceOf(block, indexId, rowId), check);
            }

            raw.sqlite3_result_int(ctx, matches ? 1 : 0);
        }
        catch (Exception e) when (e is InvalidDataException or SqliteException)
        {
            ResultError(ctx, e);
        }
    }

    /// <summary>
    /// <c>flotel_text('fts_N', column)</c>: the text of one of the five repeated strings, looked up in <c>values_N</c>
    /// when the row holds an id (compact layout), as it is when the row holds text.
    /// </summary>
    public const string TextFunction = "flotel_text";

    /// <summary>
    /// <c>flotel_id('fts_N', text)</c>: the id of <c>text</c> in <c>values_N</c>, NULL when the index has none (or keeps
    /// text columns); evaluated once per statement, so a term condition compares integers.
    /// </summary>
    public const string IdFunction = "flotel_id";

    private static void InvokeText(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        if (raw.sqlite3_value_type(args[1]) != raw.SQLITE_INTEGER)
        {
            if (raw.sqlite3_value_type(args[1]) == raw.SQLITE_NULL)
            {
                raw.sqlite3_result_null(ctx);
            }
            else
            {
                ResultText(ctx, raw.sqlite3_value_blob(args[1]));
            }

            return;
        }

        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is not { } indexId)
        {
            return;
        }

        try
        {
            ResultText(ctx, self.Value(indexId, raw.sqlite3_value_int64(args[1])));
        }
        catch (Exception e) when (e is InvalidDataException or SqliteException)
        {
            ResultError(ctx, e);
        }
    }

    private static void InvokeId(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is not { } indexId)
        {
            return;
        }

        if (self._blocks.HasPositions(indexId) || raw.sqlite3_value_type(args[1]) == raw.SQLITE_NULL)
        {
            raw.sqlite3_result_null(ctx);
            return;
        }

        try
        {
            using sqlite3_stmt find = self.Prepare($"SELECT id FROM values_{indexId.ToString(CultureInfo.InvariantCulture)} WHERE value = ?1");
            self.Check(raw.sqlite3_bind_text(find, 1, raw.sqlite3_value_blob(args[1])));
            if (self.Step(find) == raw.SQLITE_ROW)
            {
                raw.sqlite3_result_int64(ctx, raw.sqlite3_column_int64(find, 0));
            }
            else
            {
                raw.sqlite3_result_null(ctx);
            }
        }
        catch (SqliteException e)
        {
            raw.sqlite3_result_error(ctx, e.Message);
            raw.sqlite3_result_error_code(ctx, e.SqliteErrorCode);
        }
    }

    private static void InvokeDocId(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is not { } indexId)
        {
            return;
        }

        try
        {
            raw.sqlite3_result_text(ctx, LogDocumentId.ForRow(self.IdKey(indexId), raw.sqlite3_value_int64(args[1])));
        }
        catch (Exception e) when (e is InvalidDataException or SqliteException)
        {
            ResultError(ctx, e);
        }
    }

    private static void InvokeRowId(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        var self = (LogSourceFunction)user;
        if (IndexOf(ctx, args[0]) is not { } indexId)
        {
            return;
        }

        try
        {
            string id = raw.sqlite3_value_text(args[1]).utf8_to_string() ?? string.Empty;
            if (LogDocumentId.TryRowOf(self.IdKey(indexId), id, out long rowId))
            {
                raw.sqlite3_result_int64(ctx, rowId);
            }
            else
            {
                raw.sqlite3_result_null(ctx);
            }
        }
        catch (Exception e) when (e is InvalidDataException or SqliteException)
        {
            ResultError(ctx, e);
        }
    }

    // An index's id key, from its uuid in the indices table; per connection, dropped with the values when an index is
    // forgotten (its id may be given again).
    private byte[] IdKey(long indexId)
    {
        int epoch = _blocks.Cache.Epoch;
        if (epoch != _valuesEpoch)
        {
            _values.Clear();
            _idKeys.Clear();
            _valuesEpoch = epoch;
        }

        if (_idKeys.TryGetValue(indexId, out byte[]? key))
        {
            return key;
        }

        using sqlite3_stmt find = Prepare("SELECT uuid FROM indices WHERE id = ?1");
        Check(raw.sqlite3_bind_int64(find, 1, indexId));
        if (Step(find) != raw.SQLITE_ROW)
        {
            throw new InvalidDataException($"index {indexId} is not in the indices table");
        }

        key = LogDocumentId.KeyOf(raw.sqlite3_column_text(find, 0).utf8_to_string());
        _idKeys[indexId] = key;
        return key;
    }

    // An empty span is a null pointer to SQLite, which would make the result NULL instead of ''.
    // A block that cannot be read is SQLITE_CORRUPT; an error of the block's own read keeps SQLite's code.
    private static void ResultError(sqlite3_context ctx, Exception e)
    {
        raw.sqlite3_result_error(ctx, e.Message);
        raw.sqlite3_result_error_code(ctx, e is SqliteException sqlite ? sqlite.SqliteErrorCode : raw.SQLITE_CORRUPT);
    }

    private static void ResultText(sqlite3_context ctx, ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            raw.sqlite3_result_text(ctx, string.Empty);
        }
        else
        {
            raw.sqlite3_result_text(ctx, text);
        }
    }

    // Values by id, per index, for this connection: ids are never reused while an index exists, and the cache is
    // dropped when an index is forgotten (the block cache's epoch).
    private ReadOnlySpan<byte> Value(long indexId, long id)
    {
        int epoch = _blocks.Cache.Epoch;
        if (epoch != _valuesEpoch)
        {
            _values.Clear();
            _idKeys.Clear();
            _valuesEpoch = epoch;
        }

        if (!_values.TryGetValue(indexId, out List<byte[]?>? values))
        {
            values = [];
            _values[indexId] = values;
        }

        if (id > 0 && id <= values.Count && values[(int)(id - 1)] is { } cached)
        {
            return cached;
        }

        using sqlite3_stmt find = Prepare($"SELECT value FROM values_{indexId.ToString(CultureInfo.InvariantCulture)} WHERE id = ?1");
        Check(raw.sqlite3_bind_int64(find, 1, id));
        if (Step(find) != raw.SQLITE_ROW || id > LogStore.MaxValues)
        {
            throw new InvalidDataException($"value {id} of index {indexId} is not in values_{indexId}");
        }

        byte[] value = raw.sqlite3_column_blob(find, 0).ToArray();
        while (values.Count < id)
        {
            values.Add(null);
        }

        values[(int)(id - 1)] = value;
        return value;
    }

    private static long? IndexOf(sqlite3_context ctx, sqlite3_value table)
    {
        ReadOnlySpan<byte> name = raw.sqlite3_value_blob(table);
        if (name.StartsWith("fts_"u8) && long.TryParse(name[4..], NumberStyles.None, CultureInfo.InvariantCulture, out long indexId))
        {
            return indexId;
        }

        raw.sqlite3_result_error(ctx, "the first argument must name an index's full-text table");
        return null;
    }

    private static void Invoke(sqlite3_context ctx, object user, sqlite3_value[] args)
    {
        ReadOnlySpan<byte> stored = raw.sqlite3_value_blob(args[2]);
        if (stored.Length > 0)
        {
            raw.sqlite3_result_text(ctx, stored);
            return;
        }

        var self = (LogSourceFunction)user;
        ReadOnlySpan<byte> table = raw.sqlite3_value_blob(args[0]);
        long rowId = raw.sqlite3_value_int64(args[1]);
        if (!table.StartsWith("fts_"u8) || !long.TryParse(table[4..], NumberStyles.None, CultureInfo.InvariantCulture, out long indexId))
        {
            raw.sqlite3_result_error(ctx, "flotel_source: the first argument must name an index's full-text table");
            return;
        }

        try
        {
            raw.sqlite3_result_text(ctx, self.Read(indexId, rowId));
        }
        catch (Exception e) when (e is InvalidDataException or SqliteException)
        {
            ResultError(ctx, e);
        }
    }

    private ReadOnlySpan<byte> Read(long indexId, long rowId)
    {
        int epoch = _blocks.Cache.Epoch;
        if (_last is not { } block || _lastIndex != indexId || _lastEpoch != epoch || rowId < block.FirstRowId || rowId > _lastRowId)
        {
            block = Find(indexId, rowId, false, out long lastRowId);
            (_last, _lastIndex, _lastRowId, _lastEpoch) = (block, indexId, lastRowId, epoch);
        }

        return SourceOf(block, indexId, rowId);
    }

    private static ReadOnlySpan<byte> SourceOf(LogBlock block, long indexId, long rowId)
    {
        ReadOnlySpan<byte> source = block.Source(rowId);
        return source.Length > 0 ? source : throw new InvalidDataException(NoSource(indexId, rowId));
    }

    // The block of a row for a phrase check: its messages, or the whole block when it has no messages section. Kept apart
    // from the last whole block (Read), so a statement reading both does not decompress either again for each row.
    private LogBlock ReadMessages(long indexId, long rowId)
    {
        int epoch = _blocks.Cache.Epoch;
        if (_lastMessages is not { } block || _lastMessagesIndex != indexId || _lastMessagesEpoch != epoch || rowId < block.FirstRowId
            || rowId > _lastMessagesRowId)
        {
            block = Find(indexId, rowId, true, out long lastRowId);
            (_lastMessages, _lastMessagesIndex, _lastMessagesRowId, _lastMessagesEpoch) = (block, indexId, lastRowId, epoch);
        }

        return block;
    }

    private LogBlock Find(long indexId, long rowId, bool messagesOnly, out long lastRowId)
    {
        string blocks = "blocks_" + indexId.ToString(CultureInfo.InvariantCulture);
        long first;
        long compressed;
        using (sqlite3_stmt meta = Prepare($"SELECT first_rowid, last_rowid, length(data) FROM {blocks} WHERE last_rowid >= ?1 ORDER BY last_rowid LIMIT 1"))
        {
            Check(raw.sqlite3_bind_int64(meta, 1, rowId));
            if (Step(meta) != raw.SQLITE_ROW || raw.sqlite3_column_int64(meta, 0) > rowId)
            {
                throw new InvalidDataException(NoSource(indexId, rowId));
            }

            (first, lastRowId, compressed) = (raw.sqlite3_column_int64(meta, 0), raw.sqlite3_column_int64(meta, 1), raw.sqlite3_column_int64(meta, 2));
        }

        var key = new LogBlockCache.Key(indexId, first, lastRowId, compressed);
        if (_blocks.Cache.Find(key) is { } cached)
        {
            return cached;
        }

        if (messagesOnly && _blocks.Cache.Find(key with { MessagesOnly = true }) is { } messages)
        {
            return messages;
        }

        using sqlite3_stmt data = Prepare($"SELECT data FROM {blocks} WHERE last_rowid = ?1");
        Check(raw.sqlite3_bind_int64(data, 1, lastRowId));
        if (Step(data) != raw.SQLITE_ROW)
        {
            throw new InvalidDataException(NoSource(indexId, rowId));
        }

        LogBlock block;
        try
        {
            block = _blocks.Decode(indexId, first, lastRowId - first + 1, raw.sqlite3_column_blob(data, 0), LoadDictionary, messagesOnly);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(
                $"log block of rows {first}–{lastRowId} of index {indexId} ({blocks}) cannot be read: {e.Message}", e);
        }

        _blocks.Cache.Add(block.HasSources ? key : key with { MessagesOnly = true }, block);
        return block;
    }

    // A trained dictionary of dicts_N (schema in LogStore): committed with or before every block naming it, so this
    // connection's snapshot holds it; null when the index has none of that id (or no dicts_N, made by an older version).
    private byte[]? LoadDictionary(long indexId, uint id)
    {
        if (raw.sqlite3_prepare_v2(_db, $"SELECT data FROM dicts_{indexId.ToString(CultureInfo.InvariantCulture)} WHERE id = ?1", out sqlite3_stmt stmt)
            != raw.SQLITE_OK)
        {
            stmt.Dispose();
            return null;
        }

        using (stmt)
        {
            Check(raw.sqlite3_bind_int64(stmt, 1, id));
            return Step(stmt) == raw.SQLITE_ROW ? raw.sqlite3_column_blob(stmt, 0).ToArray() : null;
        }
    }

    private static string NoSource(long indexId, long rowId) =>
        $"row {rowId} of index {indexId} has no _source in blocks_{indexId}";

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_db, sql, out sqlite3_stmt stmt));
        return stmt;
    }

    private int Step(sqlite3_stmt stmt)
    {
        int rc = raw.sqlite3_step(stmt);
        if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            Check(rc);
        }

        return rc;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }
    }

    /// <summary>A store's decompressed-block cache and the decompressors its connections share.</summary>
    internal sealed class Blocks(long cacheBytes)
    {
        private readonly ConcurrentBag<Decompressor> _decompressors = [];

        // Per trained dictionary (index id, Dictionary_ID): decompressors that keep it loaded. Loading a 110 KB dictionary
        // costs 0.6–1.7 ms, about as much as decompressing a block's messages with it (docs/benchmarks.md, "Log storage").
        private readonly ConcurrentDictionary<(long Index, uint Id), (byte[] Bytes, ConcurrentBag<Decompressor> Pool)> _withDictionary = new();

        // Ids of the indices whose full-text table keeps positions (detail=full, written before the compact layout).
        private readonly ConcurrentDictionary<long, bool> _withPositions = new();

        public LogBlockCache Cache { get; } = new(cacheBytes);

        /// <summary>Whether the index's full-text table keeps token positions (see <see cref="LogFullText"/>).</summary>
        public bool HasPositions(long indexId) => _withPositions.ContainsKey(indexId);

        /// <summary>Records the layout of an index's full-text table when the store opens or creates it.</summary>
        public void SetPositions(long indexId, bool positions)
        {
            if (positions)
            {
                _withPositions[indexId] = true;
            }
            else
            {
                _ = _withPositions.TryRemove(indexId, out _);
            }
        }

        /// <summary>
        /// Decodes a block of index <paramref name="indexId"/> whole, or its messages only (<see cref="LogBlock.DecodeMessages"/>);
        /// <paramref name="loadDictionary"/> reads the index's trained dictionary of an id (null: none) the first time a
        /// block names it.
        /// </summary>
        public LogBlock Decode(long indexId, long firstRowId, long count, ReadOnlySpan<byte> data, Func<long, uint, byte[]?> loadDictionary,
            bool messagesOnly = false)
        {
            Decompressor decompressor = _decompressors.TryTake(out Decompressor? reused) ? reused : new Decompressor();
            ConcurrentBag<Decompressor>? rentedFrom = null;
            Decompressor? rented = null;
            Decompressor? WithDictionary(uint id)
            {
                if (!_withDictionary.TryGetValue((indexId, id), out (byte[] Bytes, ConcurrentBag<Decompressor> Pool) loaded))
                {
                    if (loadDictionary(indexId, id) is not { } dictionary)
                    {
                        return null;
                    }

                    loaded = _withDictionary.GetOrAdd((indexId, id), (dictionary, []));
                }

                if (!loaded.Pool.TryTake(out rented))
                {
                    rented = new Decompressor();
                    rented.LoadDictionary(loaded.Bytes);
                }

                rentedFrom = loaded.Pool;
                return rented;
            }

            try
            {
                return messagesOnly
                    ? LogBlock.DecodeMessages(decompressor, firstRowId, count, data, WithDictionary)
                    : LogBlock.Decode(decompressor, firstRowId, count, data, WithDictionary);
            }
            finally
            {
                Return(_decompressors, decompressor);
                if (rented is not null)
                {
                    Return(rentedFrom!, rented);
                }
            }
        }

        /// <summary>Drops the decompressors of a dropped index's dictionaries (a later index may get its id).</summary>
        public void Forget(long indexId)
        {
            foreach ((long Index, uint Id) key in _withDictionary.Keys)
            {
                if (key.Index == indexId && _withDictionary.TryRemove(key, out (byte[] Bytes, ConcurrentBag<Decompressor> Pool) loaded))
                {
                    while (loaded.Pool.TryTake(out Decompressor? decompressor))
                    {
                        decompressor.Dispose();
                    }
                }
            }

            Cache.Forget(indexId);
        }

        private static void Return(ConcurrentBag<Decompressor> pool, Decompressor decompressor)
        {
            if (pool.Count < Environment.ProcessorCount)
            {
                pool.Add(decompressor);
            }
            else
            {
                decompressor.Dispose();
            }
        }
    }
}
