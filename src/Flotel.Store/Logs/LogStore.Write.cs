using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Flotel.Model.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Syslog;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Logs;

// The write path: the single writer (every write holds _writeGate and uses the one _writer connection), events encoded
// in chunks on another thread while the previous chunk is inserted, documents stored as given by _bulk, and the commit
// that publishes the new counts to readers.
public sealed partial class LogStore
{
    /// <summary>Stores parsed events, each in the index its <c>@timestamp</c> names, in one transaction, with generated ids.</summary>
    /// <remarks>
    /// Events are encoded (ids, index names, <c>_source</c> JSON) in chunks of <see cref="ChunkEvents"/>: the first
    /// before the write lock is taken, each next one on another thread while the current one is inserted, so on a
    /// machine with a spare core the writer only runs SQLite. All chunks share one transaction: the call is atomic.
    /// </remarks>
    public async ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        _ = await WriteCoreAsync(events, [], null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores documents as given (the <c>_bulk</c> path) in one transaction. An existing id is replaced
    /// (<see cref="LogDocumentOutcome.Updated"/>) unless the document is create-only (<see cref="LogDocumentOutcome.Conflict"/>).
    /// </summary>
    public ValueTask<LogDocumentResult[]> WriteDocumentsAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return WriteCoreAsync([], documents, null, cancellationToken);
    }

    /// <summary>
    /// Stores one queue batch in one transaction: <paramref name="events"/> as <see cref="WriteAsync"/>, then
    /// <paramref name="documents"/> as <see cref="WriteDocumentsAsync"/>, and <paramref name="position"/> (the batch's last
    /// record) in <c>queue_positions</c>. All or nothing: after a crash the stored position says exactly which records
    /// the store holds (<see cref="ReadPositionAsync"/>), whatever the queue's cursor says.
    /// </summary>
    public ValueTask<LogDocumentResult[]> WriteBatchAsync(
        IReadOnlyList<LogEvent> events, IReadOnlyList<LogDocument> documents, LogStorePosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentException.ThrowIfNullOrEmpty(position.Source);
        ArgumentException.ThrowIfNullOrEmpty(position.QueueIdentity);
        return WriteCoreAsync(events, documents, position, cancellationToken);
    }

    /// <summary>The last position <paramref name="source"/> stored with <see cref="WriteBatchAsync"/>; null when none.</summary>
    public async ValueTask<LogStorePosition?> ReadPositionAsync(string source, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return ReadPosition(source);
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    /// <summary>
    /// A sync point: when it returns, every transaction committed before it survives a power loss or an OS crash, not
    /// only a process crash (commits use <c>synchronous=NORMAL</c>). One small transaction committed with
    /// <c>synchronous=FULL</c>, that is one fsync of the WAL (<see cref="WalSync"/>); call it at most every second or
    /// so, not per batch.
    /// </summary>
    public async ValueTask SyncAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WalSync.Commit(_writer);
            _ = Interlocked.Increment(ref _syncs);
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    /// <summary>Sync points (<see cref="SyncAsync"/>) since the store opened.</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    // The writer's view of queue_positions (under _writeGate).
    private LogStorePosition? ReadPosition(string source)
    {
        using SqliteCommand select = _writer.CreateCommand();
        select.CommandText = "SELECT queue_identity, sequence FROM queue_positions WHERE source = @s";
        _ = select.Parameters.AddWithValue("@s", source);
        using SqliteDataReader reader = select.ExecuteReader();
        return reader.Read() ? new LogStorePosition(source, reader.GetString(0), reader.GetInt64(1)) : null;
    }

    private async ValueTask<LogDocumentResult[]> WriteCoreAsync(
        IReadOnlyList<LogEvent> events, IReadOnlyList<LogDocument> documents, LogStorePosition? position, CancellationToken cancellationToken)
    {
        var results = new LogDocumentResult[documents.Count];
        PreparedBatch current = RentBatch();
        PreparedBatch? next = null;
        try
        {
            if (events.Count > 0)
            {
                current.Prepare(events, 0, Math.Min(ChunkEvents, events.Count), _pattern, _time);
            }

            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                using SqliteTransaction tx = _writer.BeginTransaction();
                try
                {
                    await InsertChunksAsync(events, tx).ConfigureAwait(false);
                    InsertDocuments(documents, results, tx);
                    if (position is { } stored)
                    {
                        WritePosition(stored, tx);
                    }
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

        return results;

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

    private void InsertDocuments(IReadOnlyList<LogDocument> documents, LogDocumentResult[] results, SqliteTransaction tx)
    {
        for (int i = 0; i < documents.Count; i++)
        {
            LogDocument doc = documents[i];
            if (!SourceFields.TryRead(doc.Source.Span, out SourceFields fields, out string? error))
            {
                results[i] = new LogDocumentResult(doc.Index, doc.Id ?? LogDocumentId.New(_time), LogDocumentOutcome.Invalid, error);
                continue;
            }

            IndexState index = GetOrCreate(doc.Index, tx);
            LogDocumentOutcome outcome = LogDocumentOutcome.Created;
            if (doc.Id is not null)
            {
                EnsureIdIndex(index, tx);
                if (LogDocumentId.TryRowOf(index.IdKey, doc.Id, out long named) && named >= index.NextRowId)
                {
                    // The id of a row this index has not written yet: storing it would give two documents one id later.
                    results[i] = new LogDocumentResult(doc.Index, doc.Id, LogDocumentOutcome.Invalid,
                        $"[{doc.Id}]: this id has the form of the ids this index generates and names no document yet");
                    continue;
                }
            }

            string? stored = doc.Id ?? (index.StoresGeneratedIds ? LogDocumentId.New(_time) : null);
            if (doc.Id is not null && FindRow(index, tx, doc.Id) is { } existing)
            {
                if (doc.CreateOnly)
                {
                    results[i] = new LogDocumentResult(doc.Index, doc.Id, LogDocumentOutcome.Conflict,
                        $"[{doc.Id}]: version conflict, document already exists");
                    continue;
                }

                DeleteRow(index, tx, existing.RowId, existing.SourceBytes, existing.HasTs);
                outcome = LogDocumentOutcome.Updated;
            }

            long rowId = Insert(index, stored, in fields, doc.Source.Span);
            results[i] = new LogDocumentResult(doc.Index, stored ?? LogDocumentId.ForRow(index.IdKey, rowId), outcome);
        }
    }

    private void WritePosition(LogStorePosition position, SqliteTransaction tx)
    {
        using SqliteCommand upsert = _writer.CreateCommand();
        upsert.Transaction = tx;
        upsert.CommandText = "INSERT INTO queue_positions(source, queue_identity, sequence) VALUES (@s, @q, @n) "
            + "ON CONFLICT(source) DO UPDATE SET queue_identity = excluded.queue_identity, sequence = excluded.sequence";
        _ = upsert.Parameters.AddWithValue("@s", position.Source);
        _ = upsert.Parameters.AddWithValue("@q", position.QueueIdentity);
        _ = upsert.Parameters.AddWithValue("@n", position.Sequence);
        _ = upsert.ExecuteNonQuery();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long Insert(IndexState index, string? id, in SourceFields f, ReadOnlySpan<byte> source)
    {
        RawStatement insert = index.InsertDoc ??= new RawStatement(_writer,
            $"INSERT INTO {index.Docs}(rowid, id, ts, severity, facility, program, logsource, host, device_id, workload, source) "
            + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '')");
        long rowId = index.NextRowId++;
        insert.Bind(1, rowId);
        insert.Bind(2, id);
        insert.Bind(3, f.TimestampMs);
        insert.Bind(4, f.Severity);
        insert.Bind(5, f.Facility);
        BindValue(index, insert, 6, f.Program);
        BindValue(index, insert, 7, f.LogSource);
        BindValue(index, insert, 8, f.Host);
        BindValue(index, insert, 9, f.DeviceId);
        BindValue(index, insert, 10, f.Workload);
        insert.Execute();
        if (index.PendingEnds.Count == 0)
        {
            index.PendingFirstRowId = rowId;
            (index.PendingMinTs, index.PendingMaxTs) = (null, null);
            (index.PendingTsRows, index.PendingOrdered) = (0, true);
        }

        if (f.TimestampMs is { } ts)
        {
            index.PendingOrdered = index.PendingOrdered && (index.PendingMaxTs is not { } last || last <= ts);
            index.PendingTsRows++;
            index.PendingMinTs = index.PendingMinTs is { } min && min <= ts ? min : ts;
            index.PendingMaxTs = index.PendingMaxTs is { } max && max >= ts ? max : ts;
        }
        else
        {
            index.PendingOrdered = false;
        }

        index.Pending.Write(source);
        index.PendingEnds.Add(index.Pending.WrittenCount);
        index.PendingMessages.Add((f.MessageAt, f.MessageLength));
        if (index.Pending.WrittenCount >= MaxBlockBytes)
        {
            CloseBlock(index);
        }

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
        index.NewestMs = Math.Max(index.NewestMs, f.TimestampMs ?? _time.GetUtcNow().ToUnixTimeMilliseconds());
        index.Dirty = true;
        return rowId;
    }

    // One of the five repeated strings: its id in values_N (a new value gets the next id, in the writer's transaction; a
    // failed transaction reloads the dictionary with everything else, see ReloadAfterFailure), or the text in an index
    // with text columns or past MaxValues values.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BindValue(IndexState index, RawStatement insert, int parameter, string? value)
    {
        if (value is null || index.Values is not { } values)
        {
            insert.Bind(parameter, value);
            return;
        }

        if (!values.TryGetValue(value, out long id))
        {
            if (values.Count >= MaxValues)
            {
                insert.Bind(parameter, value);
                return;
            }

            id = values.Count + 1;
            RawStatement add = index.InsertValue ??= new RawStatement(_writer, $"INSERT INTO {index.ValuesTable}(id, value) VALUES (?1, ?2)");
            add.Bind(1, id);
            add.Bind(2, value);
            add.Execute();
            values[value] = id;
        }

        insert.Bind(parameter, id);
    }

    // Out of the async state machine so the per-event loop is compiled optimized from the start (an async method's
    // body starts at tier 0 and is called once per queue batch, so it is slow to be promoted).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InsertChunk(PreparedBatch chunk, SqliteTransaction tx)
    {
        for (int i = 0; i < chunk.Count; i++)
        {
            IndexState index = GetOrCreate(chunk.Indices[i], tx);
            // A generated id is computed from the row when read (LogDocumentId.ForRow): nothing to store.
            _ = Insert(index, index.StoresGeneratedIds ? LogDocumentId.New(_time) : null, in chunk.Fields[i], chunk.Source(i));
        }
    }

    // The row holding the document with this id: one given to it (the id index), or the generated id of a row given none.
    private (long RowId, long SourceBytes, bool HasTs)? FindRow(IndexState index, SqliteTransaction tx, string id)
    {
        SqliteCommand find = index.FindId ??= Prepare(
            $"SELECT rowid, length(CAST(source AS BLOB)), ts IS NOT NULL FROM {index.Docs} WHERE id = @id UNION ALL "
            + $"SELECT rowid, length(CAST(source AS BLOB)), ts IS NOT NULL FROM {index.Docs} WHERE rowid = @row AND id IS NULL", "@id", "@row");
        find.Transaction = tx;
        find.Parameters[0].Value = id;
        find.Parameters[1].Value = LogDocumentId.TryRowOf(index.IdKey, id, out long named) ? named : 0L;
        long rowId;
        long stored;
        bool hasTs;
        using (SqliteDataReader reader = find.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }

            (rowId, stored, hasTs) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2) != 0);
        }

        if (stored > 0)
        {
            return (rowId, stored, hasTs);
        }

        if (index.PendingEnds.Count > 0 && rowId >= index.PendingFirstRowId)
        {
            // Written earlier in this transaction: its source is still in the open block.
            int i = (int)(rowId - index.PendingFirstRowId);
            return (rowId, index.PendingEnds[i] - (i == 0 ? 0 : index.PendingEnds[i - 1]), hasTs);
        }

        using SqliteCommand length = _writer.CreateCommand();
        length.Transaction = tx;
        length.CommandText = $"SELECT length(CAST({LogSourceFunction.For(index.Id)} AS BLOB)) FROM {index.Docs} WHERE rowid = @r";
        _ = length.Parameters.AddWithValue("@r", rowId);
        return (rowId, Convert.ToInt64(length.ExecuteScalar(), CultureInfo.InvariantCulture), hasTs);
    }

    // Compresses the open block of an index into blocks_N (in the writer's transaction).
    private void CloseBlock(IndexState index)
    {
        if (index.PendingEnds.Count == 0)
        {
            return;
        }

        // With the index's trained dictionary once it has one (committed before): at level 1 it costs no measurable CPU and
        // saves 7 % of a fresh block (docs/benchmarks.md, "A trained dictionary per index").
        ReadOnlySpan<byte> data = _freshBlocks.Encode(index.Pending.WrittenSpan, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(index.PendingEnds),
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(index.PendingMessages), index.Dictionary);
        InsertBlock(index, index.PendingFirstRowId, index.PendingFirstRowId + index.PendingEnds.Count - 1, index.Pending.WrittenCount, data,
            FreshBlockLevel, (index.PendingMinTs, index.PendingMaxTs), (index.PendingTsRows, index.PendingOrdered));
        // Every fresh block is re-packed once when idle (at RepackLevel); small ones wait until enough of them gathered.
        SetNeedsRepack(index, true);
        index.Written = true;
        if (index.Pending.WrittenCount >= SmallBlockBytes)
        {
            _ = Interlocked.Increment(ref _freshLargeBlocks);
        }
        else
        {
            _ = Interlocked.Add(ref _smallBlockBytes, index.Pending.WrittenCount);
            Volatile.Write(ref _lastSmallBlock, _time.GetTimestamp());
        }

        index.Pending.ResetWrittenCount();
        index.PendingEnds.Clear();
        index.PendingMessages.Clear();
    }

    // times: the least and greatest ts of the block's rows, stored when the index keeps time bounds per block, with rows:
    // how many have a ts and whether they are ordered (blockrows_N; null when not known: the block has no entry).
    private void InsertBlock(IndexState index, long first, long last, long sourceBytes, ReadOnlySpan<byte> data, int level, (long? Min, long? Max) times,
        (long TsRows, bool Ordered)? rows)
    {
        RawStatement insert = index.InsertBlock ??= new RawStatement(_writer, index.BlockTimes
            ? $"INSERT OR REPLACE INTO {index.Blocks}(last_rowid, first_rowid, source_bytes, data, level, min_ts, max_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            : $"INSERT OR REPLACE INTO {index.Blocks}(last_rowid, first_rowid, source_bytes, data, level) VALUES (?1, ?2, ?3, ?4, ?5)");
        insert.Bind(1, last);
        insert.Bind(2, first);
        insert.Bind(3, sourceBytes);
        insert.BindBlob(4, data);
        insert.Bind(5, (long)level);
        if (index.BlockTimes)
        {
            insert.Bind(6, times.Min);
            insert.Bind(7, times.Max);
        }

        insert.Execute();
        if (index.BlockTimes && rows is { } counted)
        {
            RawStatement entry = index.InsertBlockRows ??= new RawStatement(_writer,
                $"INSERT OR REPLACE INTO {index.BlockRows}(last_rowid, ts_rows, ordered) VALUES (?1, ?2, ?3)");
            entry.Bind(1, last);
            entry.Bind(2, counted.TsRows);
            entry.Bind(3, counted.Ordered ? 1L : 0L);
            entry.Execute();
        }
    }

    // hasTs: whether the row has a ts (FindRow read it with the row).
    private void DeleteRow(IndexState index, SqliteTransaction tx, long rowId, long sourceBytes, bool hasTs)
    {
        if (index.BlockTimes)
        {
            // Its block counts one row with a ts less (blockrows_N); its order stays as it was without the row.
            string row = rowId.ToString(CultureInfo.InvariantCulture);
            if (hasTs && index.PendingEnds.Count > 0 && rowId >= index.PendingFirstRowId)
            {
                index.PendingTsRows--;
            }
            else if (hasTs)
            {
                Execute($"UPDATE {index.BlockRows} SET ts_rows = ts_rows - 1 "
                    + $"WHERE last_rowid = (SELECT min(last_rowid) FROM {index.Blocks} WHERE last_rowid >= {row})", tx);
            }
        }

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

    private void Commit(SqliteTransaction tx, bool afterRetention = false)
    {
        var dirty = _indices.Values.Where(i => i.Dirty).ToList();
        try
        {
            foreach (IndexState index in dirty)
            {
                CloseBlock(index);
                using SqliteCommand update = _writer.CreateCommand();
                update.Transaction = tx;
                update.CommandText = "UPDATE indices SET newest_ms = @n, doc_count = @c, source_bytes = @b WHERE id = @id";
                _ = update.Parameters.AddWithValue("@n", index.NewestMs == long.MinValue ? index.CreatedMs : index.NewestMs);
                _ = update.Parameters.AddWithValue("@c", index.DocCount);
                _ = update.Parameters.AddWithValue("@b", index.SourceBytes);
                _ = update.Parameters.AddWithValue("@id", index.Id);
                _ = update.ExecuteNonQuery();
            }

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
        ManageWal();
        if (!afterRetention)
        {
            try
            {
                _ = EnforceMaxBytes();
            }
            catch (SqliteException)
            {
                // The batch is committed; retention tries again after the next commit.
            }
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
        _pendingRepacks = 0;
        _freshLargeBlocks = 0;
        _writer.Close();
        Initialize();
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

    // One batch of events encoded outside the write lock: index names, indexed fields and the _source bytes
    // back to back in one buffer.
    private sealed class PreparedBatch : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _json = new(64 * 1024);
        private readonly Utf8JsonWriter _jsonWriter;
        private int[] _ends = [];

        public PreparedBatch() => _jsonWriter = new Utf8JsonWriter(_json, LogEventJson.WriterOptions);

        public int Count { get; private set; }

        public string[] Indices { get; private set; } = [];

        public SourceFields[] Fields { get; private set; } = [];

        public ReadOnlySpan<byte> Source(int i) => _json.WrittenSpan[(i == 0 ? 0 : _ends[i - 1]).._ends[i]];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Prepare(IReadOnlyList<LogEvent> events, int start, int count, LogstashIndexPattern pattern, TimeProvider time)
        {
            Count = count;
            if (Indices.Length < Count)
            {
                Indices = new string[Count];
                Fields = new SourceFields[Count];
                _ends = new int[Count];
            }

            for (int i = 0; i < Count; i++)
            {
                LogEvent e = events[start + i];
                Indices[i] = pattern.Render(e.Timestamp);
                _jsonWriter.Reset(_json);
                LogEventJson.Write(_jsonWriter, e);
                _jsonWriter.Flush();
                int sourceStart = i == 0 ? 0 : _ends[i - 1];
                _ends[i] = _json.WrittenCount;
                // LogEventJson writes one message, always a string: the first one found is the one to cut out.
                _ = SourceFields.TryFindMessage(_json.WrittenSpan[sourceStart..], out int messageAt, out int messageLength, first: true);
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
                    MessageAt = messageAt,
                    MessageLength = messageLength,
                };
            }
        }

        public void Clear()
        {
            Array.Clear(Indices, 0, Count);
            Array.Clear(Fields, 0, Count);
            Count = 0;
            _json.ResetWrittenCount();
        }

        public void Dispose() => _jsonWriter.Dispose();
    }
}
