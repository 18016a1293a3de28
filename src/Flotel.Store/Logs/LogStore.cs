using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flotel.Model.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Syslog;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

/// <summary>
/// The gateway's embedded log store: daily indices (named by the index pattern from <c>@timestamp</c>, UTC) in one
/// SQLite database in WAL mode, one writer connection, pooled read-only connections for searches.
/// </summary>
/// <remarks>
/// Schema (N = <c>indices.id</c>; index names never appear in SQL, only their numeric ids):
/// <code>
/// indices(id INTEGER PK, name TEXT UNIQUE, uuid TEXT, created_ms, newest_ms, doc_count, source_bytes)
///   docs_N(rowid INTEGER PK, id TEXT, ts INTEGER ms, severity, facility, program, logsource, host,
///          device_id, workload, source TEXT)      -- source = the _source JSON as stored and returned
///     index docs_N_ts(ts); unique index docs_N_id(id) once a document arrives with its own _id
///   fts_N  FTS5(message), contentless, rowid = docs_N.rowid   -- full text of message, unicode61 tokens
/// </code>
/// Full-text segments are merged lazily while events arrive (FTS5 <c>automerge</c> = <see cref="FtsAutomerge"/>: a level
/// is merged once it holds 16 segments instead of 4, which halves how often each posting is rewritten) and caught up with
/// <see cref="MergeStepAsync"/> when the store is idle, back to the shape FTS5's default would keep.
/// A daily index is two tables, so retention drops tables instead of deleting rows; <c>auto_vacuum=INCREMENTAL</c>
/// returns the pages to the file system afterwards. <c>synchronous=NORMAL</c>: a committed batch survives a process
/// crash; the last batches may be lost on power loss (the durable queue in front of the store keeps them).
/// </remarks>
public sealed partial class LogStore : IDisposable
{
    private readonly LogStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly LogstashIndexPattern _pattern;
    private readonly string _readConnectionString;

    // Writer side: the connection, the per-index state and the reusable JSON buffer are used only under _writeGate.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SqliteConnection _writer;
    private readonly Dictionary<string, IndexState> _indices = new(StringComparer.Ordinal);

    // Encoding buffers reused across WriteAsync calls (two per caller while chunks are pipelined, a few kept).
    private const int MaxPooledBatches = 4;

    // Events encoded per chunk in WriteAsync: large enough that handing a chunk to another thread costs nothing
    // measurable, small enough that a typical queue batch (thousands of events) is several chunks.
    private const int ChunkEvents = 1024;
    private readonly System.Collections.Concurrent.ConcurrentBag<PreparedBatch> _batches = [];

    // Read side: replaced as a whole after each commit, sorted by name; readers never lock.
    private volatile PublishedIndex[] _published = [];

    // WAL checkpoints run on their own thread (WalCheckpointer), asked for after about this many bytes of _source were
    // committed (~40 MiB of WAL with the full-text and ts index pages, the old automatic threshold). The writer's own
    // automatic checkpoint stays as a backstop at BackstopCheckpointPages (~400 MiB of WAL).
    private const long CheckpointSourceBytes = 16L * 1024 * 1024;
    private const int BackstopCheckpointPages = 100_000;
    private WalCheckpointer? _checkpointer;
    private long _sourceBytesSinceCheckpoint;

    // FTS5 merges a level of the full-text index once it holds this many segments (FTS5's default is 4). With 16 each
    // posting is rewritten about half as often during a burst: syslog → searchable 96 k → 109 k msg/s on the same run
    // (docs/benchmarks.md). Single-term queries stayed at 0.02–0.05 ms on a 1 M-event index either way; MergeStepAsync
    // catches up when idle.
    internal const int FtsAutomerge = 16;

    // Pages of merge work per MergeStepAsync call (a step takes ~20–30 ms here): short enough that a batch arriving during
    // a step waits little for the write lock.
    private const int MergeStepPages = 128;

    // Above this many matches in an index, a search sorted by @timestamp walks the ts index (see Search).
    private const int IndexedSortThreshold = 1000;
    private bool _disposed;
    private int _pendingMerges;

    private LogStore(LogStoreOptions options, TimeProvider time, LogstashIndexPattern pattern)
    {
        _options = options;
        _time = time;
        _pattern = pattern;
        string path = Path.GetFullPath(options.DatabasePath);
        _readConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
        _writer = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
    }

    /// <summary>The options the store was opened with.</summary>
    public LogStoreOptions Options => _options;

    /// <summary>
    /// Checks a <c>_source</c> document as <see cref="WriteDocumentsAsync"/> reads it: false with a reason when it is
    /// not one JSON object.
    /// </summary>
    public static bool TryValidateSource(ReadOnlySpan<byte> json, out string? error) => SourceFields.TryRead(json, out _, out error);

    /// <summary>Opens (or creates) the store; throws <see cref="ArgumentException"/> when the options are invalid.</summary>
    public static LogStore Open(LogStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _ = Directory.CreateDirectory(options.DataDirectory);
        var store = new LogStore(options, time ?? TimeProvider.System, LogstashIndexPattern.Parse(options.IndexPattern));
        try
        {
            store.Initialize();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    /// <summary>WAL checkpoints the background checkpointer completed (diagnostics and tests).</summary>
    internal long BackgroundCheckpoints => _checkpointer?.Completed ?? 0;

    /// <summary>The indices, sorted by name.</summary>
    public IReadOnlyList<LogIndexInfo> ListIndices() => Array.ConvertAll(_published, p => p.Info);

    /// <summary>Stores parsed events, each in the index its <c>@timestamp</c> names, in one transaction, with generated ids.</summary>
    /// <remarks>
    /// Events are encoded (ids, index names, <c>_source</c> JSON) in chunks of <see cref="ChunkEvents"/>: the first
    /// before the write lock is taken, each next one on another thread while the current one is inserted, so on a
    /// machine with a spare core the writer only runs SQLite. All chunks share one transaction: the call is atomic.
    /// </remarks>
    public async ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        PreparedBatch current = RentBatch();
        PreparedBatch? next = null;
        try
        {
            current.Prepare(events, 0, Math.Min(ChunkEvents, events.Count), _pattern, _time);
            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                using SqliteTransaction tx = _writer.BeginTransaction();
                try
                {
                    await InsertChunksAsync(events, tx).ConfigureAwait(false);
                }
                catch
                {
                    // The counters ran ahead of rows that will not be committed (as in Commit): reload them.
                    ReloadAfterFailure();
                    throw;
                }

                Commit(tx);
            }
            finally
            {
                _ = _writeGate.Release();
            }
        }
        finally
        {
            ReturnBatch(current);
            if (next is not null)
            {
                ReturnBatch(next);
            }
        }

        async Task InsertChunksAsync(IReadOnlyList<LogEvent> events, SqliteTransaction tx)
        {
            for (int start = 0; start < events.Count; start += ChunkEvents)
            {
                int nextStart = start + ChunkEvents;
                Task? encoding = null;
                if (nextStart < events.Count)
                {
                    next ??= RentBatch();
                    PreparedBatch target = next;
                    encoding = Task.Run(() => target.Prepare(events, nextStart, Math.Min(ChunkEvents, events.Count - nextStart), _pattern, _time), CancellationToken.None);
                }

                try
                {
                    InsertChunk(current, tx);
                }
                finally
                {
                    if (encoding is not null)
                    {
                        // Never leave a chunk being encoded into a buffer that goes back to the pool.
                        await encoding.ConfigureAwait(false);
                    }
                }

                if (next is not null && encoding is not null)
                {
                    current.Clear();
                    (current, next) = (next, current);
                }
            }
        }
    }

    /// <summary>
    /// Stores documents as given (the <c>_bulk</c> path) in one transaction. An existing id is replaced
    /// (<see cref="LogDocumentOutcome.Updated"/>) unless the document is create-only (<see cref="LogDocumentOutcome.Conflict"/>).
    /// </summary>
    public async ValueTask<LogDocumentResult[]> WriteDocumentsAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var results = new LogDocumentResult[documents.Count];
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using SqliteTransaction tx = _writer.BeginTransaction();
            for (int i = 0; i < documents.Count; i++)
            {
            LogDocument doc = documents[i];
            string id = doc.Id ?? LogDocumentId.New(_time);
            if (!SourceFields.TryRead(doc.Source.Span, out SourceFields fields, out string? error))
            {
                results[i] = new LogDocumentResult(doc.Index, id, LogDocumentOutcome.Invalid, error);
                continue;
            }

            IndexState index = GetOrCreate(doc.Index, tx);
            LogDocumentOutcome outcome = LogDocumentOutcome.Created;
            if (doc.Id is not null)
            {
                EnsureIdIndex(index, tx);
            }

            if (doc.Id is not null && FindRow(index, tx, id) is { } existing)
            {
                if (doc.CreateOnly)
                {
                    results[i] = new LogDocumentResult(doc.Index, id, LogDocumentOutcome.Conflict, $"[{id}]: version conflict, document already exists");
                    continue;
                }

                DeleteRow(index, tx, existing.RowId, existing.SourceBytes);
                outcome = LogDocumentOutcome.Updated;
            }

            Insert(index, id, in fields, doc.Source.Span);
            results[i] = new LogDocumentResult(doc.Index, id, outcome);
            }

            Commit(tx);
        }
        finally
        {
            _ = _writeGate.Release();
        }

        return results;
    }

    /// <summary>Whether an index was written since its full-text segments were last merged down (see <see cref="MergeStepAsync"/>).</summary>
    public bool HasPendingMerges => Volatile.Read(ref _pendingMerges) > 0;

    /// <summary>
    /// One bounded step of full-text merging (FTS5 <c>'merge'</c>, about <see cref="MergeStepPages"/> pages) on an index
    /// written since it was last merged down, in its own transaction: levels holding 4 or more segments are merged, as
    /// FTS5's default <c>automerge</c> would have done during the writes. Meant for idle time; returns whether work remains.
    /// </summary>
    public async ValueTask<bool> MergeStepAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            IndexState? index = _indices.Values.FirstOrDefault(i => i.NeedsMerge);
            if (index is null)
            {
                return false;
            }

            // FTS5 reports merge work as changes: fewer than 2 means there was nothing left to merge.
            long before = raw.sqlite3_total_changes(_writer.Handle!);
            Execute($"INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('merge', {MergeStepPages.ToString(CultureInfo.InvariantCulture)})");
            if (raw.sqlite3_total_changes(_writer.Handle!) - before < 2)
            {
                SetNeedsMerge(index, false);
            }

            return HasPendingMerges;
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    private void SetNeedsMerge(IndexState index, bool value)
    {
        if (index.NeedsMerge != value)
        {
            index.NeedsMerge = value;
            _ = value ? Interlocked.Increment(ref _pendingMerges) : Interlocked.Decrement(ref _pendingMerges);
        }
    }

    private PreparedBatch RentBatch() => _batches.TryTake(out PreparedBatch? reused) ? reused : new PreparedBatch();

    private void ReturnBatch(PreparedBatch batch)
    {
        batch.Clear();
        if (_batches.Count < MaxPooledBatches)
        {
            _batches.Add(batch);
        }
        else
        {
            batch.Dispose();
        }
    }

    /// <summary>Drops an index; false when there is none by that name.</summary>
    public async ValueTask<bool> DeleteIndexAsync(string name, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_indices.TryGetValue(name, out IndexState? index))
            {
                return false;
            }

            Drop(index);
            Vacuum();
            return true;
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    /// <summary>
    /// Applies retention: drops indices whose newest event is older than <see cref="LogStoreOptions.MaxAge"/>, then the
    /// oldest indices while the used database pages exceed <see cref="LogStoreOptions.MaxSizeMiB"/> (the newest index is
    /// kept). Returns the names dropped, oldest first. Meant to be called periodically (e.g. each minute).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        var dropped = new List<string>();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            List<IndexState> oldestFirst = [.. _indices.Values.OrderBy(i => i.NewestMs).ThenBy(i => i.Name, StringComparer.Ordinal)];
            if (_options.MaxAge is { } maxAge)
            {
                long cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)maxAge.TotalMilliseconds;
                while (oldestFirst.Count > 0 && oldestFirst[0].NewestMs < cutoff)
                {
                    dropped.Add(oldestFirst[0].Name);
                    Drop(oldestFirst[0]);
                    oldestFirst.RemoveAt(0);
                }
            }

            if (_options.MaxSizeMiB is { } maxMiB)
            {
                long limit = maxMiB * 1024 * 1024;
                while (oldestFirst.Count > 1 && UsedBytes() > limit)
                {
                    dropped.Add(oldestFirst[0].Name);
                    Drop(oldestFirst[0]);
                    oldestFirst.RemoveAt(0);
                }
            }

            if (dropped.Count > 0)
            {
                Vacuum();
            }
        }
        finally
        {
            _ = _writeGate.Release();
        }

        return dropped;
    }

    /// <summary>Bytes of the database's pages in use (page count less free pages, times the page size).</summary>
    public long UsedBytes()
    {
        using SqliteConnection connection = OpenReader();
        return Scalar(connection, "PRAGMA page_count") * Scalar(connection, "PRAGMA page_size")
            - (Scalar(connection, "PRAGMA freelist_count") * Scalar(connection, "PRAGMA page_size"));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _checkpointer?.Dispose();
            foreach (IndexState index in _indices.Values)
            {
                index.Dispose();
            }

            _indices.Clear();
            while (_batches.TryTake(out PreparedBatch? batch))
            {
                batch.Dispose();
            }

            _writer.Dispose();
            SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

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
        (string where, List<KeyValuePair<string, object>> parameters) = LogQuerySql.Compile(search.Query);
        var sortCompiler = new LogQuerySql();
        var sortExpressions = new List<(string Expr, bool Desc)>();
        foreach (LogSort sort in search.Sort)
        {
            if (sort.Field == "_doc")
            {
                sortExpressions.Add(("d.rowid", sort.Descending));
            }
            else if (sort.Field != "_score")
            {
                sortExpressions.Add((sortCompiler.ValueExpression(sort.Field), sort.Descending));
            }
        }

        // Sort parameters are numbered apart from the query's.
        for (int i = 0; i < sortExpressions.Count; i++)
        {
            foreach (KeyValuePair<string, object> p in sortCompiler.Parameters)
            {
                sortExpressions[i] = (sortExpressions[i].Expr.Replace(p.Key + ")", "@s" + p.Key[2..] + ")", StringComparison.Ordinal), sortExpressions[i].Desc);
            }
        }

        var selected = search.Indices.Distinct(StringComparer.Ordinal).ToList();
        PublishedIndex[] published = _published;
        int limit = search.From + search.Size;
        long total = 0;
        var rows = new List<(int IndexOrder, long RowId, LogHit Hit)>();
        using SqliteConnection connection = OpenReader();
        // Disposed before the connection (declared after it): no interrupt can reach a closed or pooled-again handle.
        using CancellationTokenRegistration interrupt = cancellationToken.Register(static handle => raw.sqlite3_interrupt((sqlite3)handle!), connection.Handle);
        for (int order = 0; order < selected.Count; order++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PublishedIndex? index = Array.Find(published, p => p.Info.Name == selected[order]);
            if (index is null)
            {
                continue;
            }

            string fts = "fts_" + index.Id.ToString(CultureInfo.InvariantCulture);
            string docs = "docs_" + index.Id.ToString(CultureInfo.InvariantCulture);
            string condition = where.Replace(LogQuerySql.FtsTable, fts, StringComparison.Ordinal);
            try
            {
                long matches;
                if (search.Query is MatchAllQuery)
                {
                    // Every document matches: the count the writer published with its last commit is exact, while
                    // COUNT(*) walks the whole ts index (26 ms CPU for 400k documents; clients poll _count).
                    matches = index.Info.DocumentCount;
                }
                else
                {
                    using SqliteCommand count = connection.CreateCommand();
                    // Counting stops past the remaining track_total_hits budget (ES's default 10000, then "gte").
                    count.CommandText = search.TrackTotalHitsUpTo is { } cap
                        ? $"SELECT COUNT(*) FROM (SELECT 1 FROM {docs} d WHERE {condition} LIMIT {(cap + 1L).ToString(CultureInfo.InvariantCulture)})"
                        : $"SELECT COUNT(*) FROM {docs} d WHERE {condition}";
                    Bind(count, parameters, sortCompiler.Parameters, index.Info.Name);
                    matches = (long)count.ExecuteScalar()!;
                }

                total += matches;
                if (countOnly || limit == 0)
                {
                    continue;
                }

                using SqliteCommand select = connection.CreateCommand();
                var sql = new StringBuilder("SELECT d.rowid, d.id, d.source");
                foreach ((string expr, _) in sortExpressions)
                {
                    sql.Append(", ").Append(expr);
                }

                sql.Append(" FROM ").Append(docs).Append(" d ");
                if (matches >= IndexedSortThreshold && sortExpressions.Count > 0 && sortExpressions[0].Expr == "d.ts")
                {
                    // SQLite cannot estimate how many rows a full-text match returns and then sorts every match by
                    // rowid lookups; with many matches, walking the ts index and stopping after the page is far
                    // cheaper (228k of 300k matches: 310 ms → 46 ms). The count just taken tells which case this is.
                    sql.Append("INDEXED BY ").Append(docs).Append("_ts ");
                }

                sql.Append("WHERE ").Append(condition).Append(" ORDER BY ");
                foreach ((string expr, bool desc) in sortExpressions)
                {
                    // Missing values sort last in both directions (ES's default "missing": "_last"); NULL is SQLite's
                    // smallest value, so DESC already puts it last and keeps the ts index usable for the newest-first sort.
                    sql.Append(expr).Append(desc ? " DESC, " : " ASC NULLS LAST, ");
                }

                cancellationToken.ThrowIfCancellationRequested();
                sql.Append("d.rowid LIMIT ").Append(limit.ToString(CultureInfo.InvariantCulture));
                select.CommandText = sql.ToString();
                Bind(select, parameters, sortCompiler.Parameters, index.Info.Name);
                using SqliteDataReader reader = select.ExecuteReader();
                while (reader.Read())
                {
                    object?[] sortValues = new object?[sortExpressions.Count];
                    for (int k = 0; k < sortValues.Length; k++)
                    {
                        sortValues[k] = reader.IsDBNull(3 + k) ? null : reader.GetValue(3 + k);
                    }

                    rows.Add((order, reader.GetInt64(0), new LogHit(index.Info.Name, reader.GetString(1), reader.GetString(2), sortValues)));
                }
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

        rows.Sort((a, b) =>
        {
            for (int k = 0; k < sortExpressions.Count; k++)
            {
                int c = CompareSortValues(a.Hit.SortValues[k], b.Hit.SortValues[k], sortExpressions[k].Desc);
                if (c != 0)
                {
                    return c;
                }
            }

            int byIndex = a.IndexOrder.CompareTo(b.IndexOrder);
            return byIndex != 0 ? byIndex : a.RowId.CompareTo(b.RowId);
        });
        var hits = new List<LogHit>(Math.Min(search.Size, Math.Max(0, rows.Count - search.From)));
        for (int i = search.From; i < rows.Count && i < limit; i++)
        {
            hits.Add(rows[i].Hit);
        }

        return Result(total, hits);

        LogSearchResult Result(long count, List<LogHit> page) => search.TrackTotalHitsUpTo is { } cap && count > cap
            ? new LogSearchResult(cap, page) { TotalIsLowerBound = true }
            : new LogSearchResult(count, page);
    }

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

    private static void Bind(SqliteCommand command, List<KeyValuePair<string, object>> parameters, List<KeyValuePair<string, object>> sortParameters, string indexName)
    {
        foreach (KeyValuePair<string, object> p in parameters)
        {
            if (command.CommandText.Contains(p.Key, StringComparison.Ordinal))
            {
                _ = command.Parameters.AddWithValue(p.Key, p.Value);
            }
        }

        foreach (KeyValuePair<string, object> p in sortParameters)
        {
            string name = "@s" + p.Key[2..];
            if (command.CommandText.Contains(name, StringComparison.Ordinal))
            {
                _ = command.Parameters.AddWithValue(name, p.Value);
            }
        }

        if (command.CommandText.Contains(LogQuerySql.IndexParameter, StringComparison.Ordinal))
        {
            _ = command.Parameters.AddWithValue(LogQuerySql.IndexParameter, indexName);
        }
    }

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        connection.CreateFunction<string?, string, long, bool>("flotel_match", LogAnalyzer.Matches, isDeterministic: true);
        return connection;
    }

    private static long Scalar(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = _writer.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        _ = command.ExecuteNonQuery();
    }

    private void Initialize()
    {
        _writer.Open();
        // auto_vacuum must be set before the first table exists; it is a no-op on an existing database.
        Execute("PRAGMA auto_vacuum=INCREMENTAL");
        Execute("PRAGMA journal_mode=WAL");
        Execute("PRAGMA synchronous=NORMAL");
        Execute("PRAGMA temp_store=MEMORY");
        Execute("PRAGMA cache_size=-16384");
        // Checkpoints are WalCheckpointer's; the automatic one is only a backstop (see BackstopCheckpointPages).
        Execute("PRAGMA wal_autocheckpoint=" + BackstopCheckpointPages.ToString(CultureInfo.InvariantCulture));
        Execute("""
            CREATE TABLE IF NOT EXISTS indices(
              id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
              newest_ms INTEGER NOT NULL, doc_count INTEGER NOT NULL, source_bytes INTEGER NOT NULL)
            """);
        var loaded = new List<IndexState>();
        using (SqliteCommand command = _writer.CreateCommand())
        {
            command.CommandText = "SELECT id, name, uuid, created_ms, newest_ms, doc_count, source_bytes FROM indices";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                loaded.Add(new IndexState(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3))
                {
                    NewestMs = reader.GetInt64(4),
                    DocCount = reader.GetInt64(5),
                    SourceBytes = reader.GetInt64(6),
                });
            }
        }

        foreach (IndexState index in loaded)
        {
            index.NextRowId = Scalar(_writer, $"SELECT coalesce(max(rowid), 0) + 1 FROM {index.Docs}");
            // Indices written by an older version kept FTS5's default automerge; a crash may have left merging to do.
            Execute($"INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('automerge', {FtsAutomerge.ToString(CultureInfo.InvariantCulture)})");
            _indices[index.Name] = index;
            SetNeedsMerge(index, true);
        }

        Publish();
    }

    private IndexState GetOrCreate(string name, SqliteTransaction tx)
    {
        if (_indices.TryGetValue(name, out IndexState? index))
        {
            return index;
        }

        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        string uuid = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16))[..22];
        using (SqliteCommand insert = _writer.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO indices(name, uuid, created_ms, newest_ms, doc_count, source_bytes) VALUES (@n, @u, @c, @c, 0, 0) RETURNING id";
            _ = insert.Parameters.AddWithValue("@n", name);
            _ = insert.Parameters.AddWithValue("@u", uuid);
            _ = insert.Parameters.AddWithValue("@c", now);
            index = new IndexState((long)insert.ExecuteScalar()!, name, uuid, now) { NewestMs = long.MinValue, NextRowId = 1, Dirty = true };
        }

        Execute($"""
            CREATE TABLE {index.Docs}(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, ts INTEGER, severity INTEGER, facility INTEGER,
              program TEXT, logsource TEXT, host TEXT, device_id TEXT, workload TEXT, source TEXT NOT NULL);
            CREATE INDEX {index.Docs}_ts ON {index.Docs}(ts);
            CREATE VIRTUAL TABLE {index.Fts} USING fts5(message, content='', contentless_delete=1);
            INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('automerge', {FtsAutomerge.ToString(CultureInfo.InvariantCulture)});
            """, tx);
        _indices[name] = index;
        index.Created = true;
        return index;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Insert(IndexState index, string id, in SourceFields f, ReadOnlySpan<byte> source)
    {
        RawStatement insert = index.InsertDoc ??= new RawStatement(_writer,
            $"INSERT INTO {index.Docs}(rowid, id, ts, severity, facility, program, logsource, host, device_id, workload, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
        long rowId = index.NextRowId++;
        insert.Bind(1, rowId);
        insert.Bind(2, id);
        insert.Bind(3, f.TimestampMs);
        insert.Bind(4, f.Severity);
        insert.Bind(5, f.Facility);
        insert.Bind(6, f.Program);
        insert.Bind(7, f.LogSource);
        insert.Bind(8, f.Host);
        insert.Bind(9, f.DeviceId);
        insert.Bind(10, f.Workload);
        insert.BindUtf8(11, source);
        insert.Execute();
        if (f.Message is { Length: > 0 } message)
        {
            RawStatement fts = index.InsertFts ??= new RawStatement(_writer, $"INSERT INTO {index.Fts}(rowid, message) VALUES (?1, ?2)");
            fts.Bind(1, rowId);
            fts.Bind(2, message);
            fts.Execute();
            SetNeedsMerge(index, true);
        }

        index.DocCount++;
        index.SourceBytes += source.Length;
        _sourceBytesSinceCheckpoint += source.Length;
        index.NewestMs = Math.Max(index.NewestMs, f.TimestampMs ?? _time.GetUtcNow().ToUnixTimeMilliseconds());
        index.Dirty = true;
    }

    // Out of the async state machine so the per-event loop is compiled optimized from the start (an async method's
    // body starts at tier 0 and is called once per queue batch, so it is slow to be promoted).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InsertChunk(PreparedBatch chunk, SqliteTransaction tx)
    {
        for (int i = 0; i < chunk.Count; i++)
        {
            IndexState index = GetOrCreate(chunk.Indices[i], tx);
            Insert(index, chunk.Ids[i], in chunk.Fields[i], chunk.Source(i));
        }
    }

    // The id index is built on the first document with a given id: generated ids are unique by construction
    // (LogDocumentId), so indices fed only by syslog never pay for it (about 12% of the write cost).
    private void EnsureIdIndex(IndexState index, SqliteTransaction tx)
    {
        if (!index.HasIdIndex)
        {
            Execute($"CREATE UNIQUE INDEX IF NOT EXISTS {index.Docs}_id ON {index.Docs}(id)", tx);
            index.HasIdIndex = true;
        }
    }

    private (long RowId, long SourceBytes)? FindRow(IndexState index, SqliteTransaction tx, string id)
    {
        SqliteCommand find = index.FindId ??= Prepare($"SELECT rowid, length(CAST(source AS BLOB)) FROM {index.Docs} WHERE id = @id", "@id");
        find.Transaction = tx;
        find.Parameters[0].Value = id;
        using SqliteDataReader reader = find.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private void DeleteRow(IndexState index, SqliteTransaction tx, long rowId, long sourceBytes)
    {
        Execute($"DELETE FROM {index.Fts} WHERE rowid = {rowId.ToString(CultureInfo.InvariantCulture)}", tx);
        Execute($"DELETE FROM {index.Docs} WHERE rowid = {rowId.ToString(CultureInfo.InvariantCulture)}", tx);
        index.DocCount--;
        index.SourceBytes -= sourceBytes;
    }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        SqliteCommand command = _writer.CreateCommand();
        command.CommandText = sql;
        foreach (string name in names)
        {
            _ = command.Parameters.Add(new SqliteParameter(name, null));
        }

        return command;
    }

    private void Commit(SqliteTransaction tx)
    {
        var dirty = _indices.Values.Where(i => i.Dirty).ToList();
        foreach (IndexState index in dirty)
        {
            using SqliteCommand update = _writer.CreateCommand();
            update.Transaction = tx;
            update.CommandText = "UPDATE indices SET newest_ms = @n, doc_count = @c, source_bytes = @b WHERE id = @id";
            _ = update.Parameters.AddWithValue("@n", index.NewestMs == long.MinValue ? index.CreatedMs : index.NewestMs);
            _ = update.Parameters.AddWithValue("@c", index.DocCount);
            _ = update.Parameters.AddWithValue("@b", index.SourceBytes);
            _ = update.Parameters.AddWithValue("@id", index.Id);
            _ = update.ExecuteNonQuery();
        }

        try
        {
            tx.Commit();
        }
        catch
        {
            // The in-memory counters ran ahead of a transaction that did not land: reload them.
            ReloadAfterFailure();
            throw;
        }

        foreach (IndexState index in dirty)
        {
            index.Dirty = false;
            index.Created = false;
        }

        Publish();
        if (_sourceBytesSinceCheckpoint >= CheckpointSourceBytes)
        {
            _sourceBytesSinceCheckpoint = 0;
            _checkpointer ??= new WalCheckpointer(new SqliteConnectionStringBuilder(_writer.ConnectionString) { Mode = SqliteOpenMode.ReadWrite }.ToString());
            _checkpointer.Request();
        }
    }

    private void ReloadAfterFailure()
    {
        foreach (IndexState index in _indices.Values)
        {
            index.Dispose();
        }

        _indices.Clear();
        _pendingMerges = 0;
        _writer.Close();
        Initialize();
    }

    private void Drop(IndexState index)
    {
        _ = _indices.Remove(index.Name);
        SetNeedsMerge(index, false);
        Publish();
        index.Dispose();
        using SqliteTransaction tx = _writer.BeginTransaction();
        Execute($"DROP TABLE IF EXISTS {index.Docs}; DROP TABLE IF EXISTS {index.Fts}; DELETE FROM indices WHERE id = {index.Id.ToString(CultureInfo.InvariantCulture)}", tx);
        tx.Commit();
    }

    private void Vacuum()
    {
        Execute("PRAGMA incremental_vacuum");
        Execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    private void Publish() =>
        _published = [.. _indices.Values
            .Select(i => new PublishedIndex(i.Id, new LogIndexInfo(i.Name, i.Uuid, i.DocCount, i.SourceBytes, i.NewestMs == long.MinValue ? i.CreatedMs : i.NewestMs)))
            .OrderBy(p => p.Info.Name, StringComparer.Ordinal)];

    private sealed record PublishedIndex(long Id, LogIndexInfo Info);

    // One batch of events encoded outside the write lock: index names, ids, indexed fields and the _source bytes
    // back to back in one buffer.
    private sealed class PreparedBatch : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _json = new(64 * 1024);
        private readonly Utf8JsonWriter _jsonWriter;
        private int[] _ends = [];

        public PreparedBatch() => _jsonWriter = new Utf8JsonWriter(_json, LogEventJson.WriterOptions);

        public int Count { get; private set; }

        public string[] Indices { get; private set; } = [];

        public string[] Ids { get; private set; } = [];

        public SourceFields[] Fields { get; private set; } = [];

        public ReadOnlySpan<byte> Source(int i) => _json.WrittenSpan[(i == 0 ? 0 : _ends[i - 1]).._ends[i]];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Prepare(IReadOnlyList<LogEvent> events, int start, int count, LogstashIndexPattern pattern, TimeProvider time)
        {
            Count = count;
            if (Indices.Length < Count)
            {
                Indices = new string[Count];
                Ids = new string[Count];
                Fields = new SourceFields[Count];
                _ends = new int[Count];
            }

            for (int i = 0; i < Count; i++)
            {
                LogEvent e = events[start + i];
                Indices[i] = pattern.Render(e.Timestamp);
                Ids[i] = LogDocumentId.New(time);
                _jsonWriter.Reset(_json);
                LogEventJson.Write(_jsonWriter, e);
                _jsonWriter.Flush();
                _ends[i] = _json.WrittenCount;
                Fields[i] = new SourceFields
                {
                    TimestampMs = new DateTimeOffset(DateTime.SpecifyKind(e.Timestamp, DateTimeKind.Utc)).ToUnixTimeMilliseconds(),
                    Severity = e.Severity,
                    Facility = e.Facility,
                    Program = e.Program,
                    LogSource = e.LogSource,
                    Host = e.Host,
                    DeviceId = e.DeviceId,
                    Workload = e.Workload,
                    Message = e.Message,
                };
            }
        }

        public void Clear()
        {
            Array.Clear(Indices, 0, Count);
            Array.Clear(Ids, 0, Count);
            Array.Clear(Fields, 0, Count);
            Count = 0;
            _json.ResetWrittenCount();
        }

        public void Dispose() => _jsonWriter.Dispose();
    }

    // Writer-side state of one index; every field is read and written only under _writeGate.
    private sealed class IndexState(long id, string name, string uuid, long createdMs) : IDisposable
    {
        public long Id { get; } = id;

        public string Name { get; } = name;

        public string Uuid { get; } = uuid;

        public long CreatedMs { get; } = createdMs;

        public string Docs { get; } = "docs_" + id.ToString(CultureInfo.InvariantCulture);

        public string Fts { get; } = "fts_" + id.ToString(CultureInfo.InvariantCulture);

        public long NextRowId { get; set; }

        public long DocCount { get; set; }

        public long SourceBytes { get; set; }

        public long NewestMs { get; set; }

        public bool Dirty { get; set; }

        public bool Created { get; set; }

        public bool HasIdIndex { get; set; }

        public bool NeedsMerge { get; set; }

        public RawStatement? InsertDoc { get; set; }

        public RawStatement? InsertFts { get; set; }

        public SqliteCommand? FindId { get; set; }

        public void Dispose()
        {
            InsertDoc?.Dispose();
            InsertFts?.Dispose();
            FindId?.Dispose();
        }
    }
}
