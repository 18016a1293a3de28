using System.Buffers;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

// Keeping the database in shape: full-text merge steps for idle time, retention (dropping whole daily indices, then
// returning their pages), and asking the background WAL checkpointer for a checkpoint after enough commits.
public sealed partial class LogStore
{
    /// <summary>WAL checkpoints the background checkpointer completed (diagnostics and tests).</summary>
    internal long BackgroundCheckpoints => _checkpointer?.Completed ?? 0;

    /// <summary>Whether the background checkpointer has nothing asked for or running (tests).</summary>
    internal bool CheckpointerIdle => _checkpointer?.Idle ?? true;

    /// <summary>The database's size as SQLite sees it (pages, free ones included, times the page size; tests).</summary>
    internal long DatabaseBytes()
    {
        using SqliteConnection connection = OpenReader();
        return Scalar(connection, "PRAGMA page_count") * Scalar(connection, "PRAGMA page_size");
    }

    /// <summary>
    /// Whether an index was written since its full-text segments were last merged down or its small blocks re-packed
    /// (see <see cref="MergeStepAsync"/>).
    /// </summary>
    public bool HasPendingMerges => Volatile.Read(ref _pendingMerges) > 0 || Volatile.Read(ref _pendingRepacks) > 0;

    /// <summary>Decompressed-block cache: bytes held, hits, misses and evictions since the store opened (metrics).</summary>
    public (long Bytes, long Hits, long Misses, long Evictions) BlockCache =>
        (_blocks.Cache.Bytes, _blocks.Cache.Hits, _blocks.Cache.Misses, _blocks.Cache.Evictions);

    /// <summary>
    /// Whether <see cref="IdleStepAsync"/> has work now: full-text segments to merge, or small blocks to re-pack once
    /// enough of them gathered or none came for <see cref="RepackQuietDelay"/>.
    /// </summary>
    public bool HasIdleWorkDue => Volatile.Read(ref _pendingMerges) > 0 || (Volatile.Read(ref _pendingRepacks) > 0 && RepackDue());

    /// <summary>
    /// One bounded step of maintenance, in its own transaction: first re-packing one run of adjacent small
    /// <c>_source</c> blocks of an index into one (see the schema in <see cref="LogStore"/>), else full-text merging
    /// (FTS5 <c>'merge'</c>, about <see cref="MergeStepPages"/> pages) on an index written since it was last merged down:
    /// levels holding 4 or more segments are merged, as FTS5's default <c>automerge</c> would have done during the
    /// writes. Returns whether work remains (<see cref="HasPendingMerges"/>).
    /// </summary>
    public ValueTask<bool> MergeStepAsync(CancellationToken cancellationToken = default) => StepAsync(onlyDue: false, cancellationToken);

    /// <summary>
    /// <see cref="MergeStepAsync"/> for idle time: re-packs only when it is due (see <see cref="HasIdleWorkDue"/>), so a
    /// trickle of small commits is joined once per <see cref="SmallBlockBytes"/> instead of after each. Returns
    /// <see cref="HasIdleWorkDue"/>.
    /// </summary>
    public ValueTask<bool> IdleStepAsync(CancellationToken cancellationToken = default) => StepAsync(onlyDue: true, cancellationToken);

    private bool RepackDue()
    {
        long last = Volatile.Read(ref _lastSmallBlock);
        return Interlocked.Read(ref _freshLargeBlocks) > 0 || Interlocked.Read(ref _smallBlockBytes) >= SmallBlockBytes || last == 0
            || _time.GetElapsedTime(last) >= RepackQuietDelay;
    }

    private async ValueTask<bool> StepAsync(bool onlyDue, CancellationToken cancellationToken)
    {
        // An index's dictionary first, so that its first re-packs already use it.
        if (await TrainStepAsync(onlyDue, cancellationToken).ConfigureAwait(false))
        {
            return onlyDue ? HasIdleWorkDue : HasPendingMerges;
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if ((!onlyDue || RepackDue()) && _indices.Values.FirstOrDefault(i => i.NeedsRepack) is { } packing)
            {
                long joined = RepackStep(packing, out int freshLarge);
                if (joined == 0)
                {
                    SetNeedsRepack(packing, false);
                }

                // Blocks of the previous process were not counted: the count stops at 0.
                long remaining = Interlocked.Add(ref _freshLargeBlocks, -freshLarge);
                if (remaining < 0 || Volatile.Read(ref _pendingRepacks) == 0)
                {
                    _ = Interlocked.Exchange(ref _freshLargeBlocks, 0);
                }

                // What is left to join: nothing once no index has a run (blocks of other indices count again when written).
                _ = Volatile.Read(ref _pendingRepacks) == 0
                    ? Interlocked.Exchange(ref _smallBlockBytes, 0)
                    : Interlocked.Add(ref _smallBlockBytes, -Math.Min(joined, Interlocked.Read(ref _smallBlockBytes)));
                ManageWal();
                return onlyDue ? HasIdleWorkDue : HasPendingMerges;
            }

            if (_indices.Values.FirstOrDefault(i => i.NeedsMerge) is { } index)
            {
                // FTS5 reports merge work as changes: fewer than 2 means there was nothing left to merge.
                long before = raw.sqlite3_total_changes(_writer.Handle!);
                Execute($"INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('merge', {MergeStepPages.ToString(CultureInfo.InvariantCulture)})");
                if (raw.sqlite3_total_changes(_writer.Handle!) - before < 2)
                {
                    SetNeedsMerge(index, false);
                }

                ManageWal();
            }

            return onlyDue ? HasIdleWorkDue : HasPendingMerges;
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    private void SetNeedsRepack(IndexState index, bool value)
    {
        if (index.NeedsRepack != value)
        {
            index.NeedsRepack = value;
            _ = value ? Interlocked.Increment(ref _pendingRepacks) : Interlocked.Decrement(ref _pendingRepacks);
        }
    }

    // Re-packs the oldest run of adjacent blocks that are small (under SmallBlockBytes) or not yet re-packed (level below
    // RepackLevel, NULL for blocks written before the level column), up to MaxBlockBytes of sources, into one block at
    // RepackLevel in one transaction; returns the source bytes re-packed, 0 when the index has no such run. A run is two
    // or more blocks, or one not yet re-packed unless it is a small newest block (later small blocks will join it). Row ids
    // missing between two blocks get empty entries, so the new block still has one entry per row id of its range. The
    // pages the step frees are returned to the file system (incremental_vacuum), so the file shrinks by what it saved.
    private long RepackStep(IndexState index, out int freshLarge)
    {
        freshLarge = 0;
        var run = new List<(long Last, long First, long Bytes, bool Packed, long? MinTs, long? MaxTs)>();
        long runBytes = 0;
        bool worth = false;
        using (SqliteCommand list = _writer.CreateCommand())
        {
            list.CommandText = $"SELECT last_rowid, first_rowid, source_bytes, coalesce(level, 0), {(index.BlockTimes ? "min_ts, max_ts" : "NULL, NULL")} "
                + $"FROM {index.Blocks} ORDER BY last_rowid";
            using SqliteDataReader reader = list.ExecuteReader();
            while (reader.Read())
            {
                (long last, long first, long bytes) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
                bool repacked = reader.GetInt64(3) >= RepackLevel;
                long? minTs = reader.IsDBNull(4) ? null : reader.GetInt64(4);
                long? maxTs = reader.IsDBNull(5) ? null : reader.GetInt64(5);
                bool candidate = bytes < SmallBlockBytes || !repacked;
                if (!candidate || runBytes + bytes > MaxBlockBytes)
                {
                    // A run of one block that is not yet re-packed is worth a step here: a later block follows it.
                    if (run.Count >= 2 || (run.Count == 1 && !run[0].Packed))
                    {
                        worth = true;
                        break;
                    }

                    run.Clear();
                    runBytes = 0;
                    if (!candidate)
                    {
                        continue;
                    }
                }

                run.Add((last, first, bytes, repacked, minTs, maxTs));
                runBytes += bytes;
            }
        }

        // At the end of the index: a run of two or more, or one large block not yet re-packed.
        worth = worth || run.Count >= 2 || (run.Count == 1 && !run[0].Packed && run[0].Bytes >= SmallBlockBytes);
        if (!worth)
        {
            return 0;
        }

        long freeBefore = Scalar(_writer, "PRAGMA freelist_count");
        using SqliteTransaction tx = _writer.BeginTransaction();
        var sources = new ArrayBufferWriter<byte>((int)runBytes);
        var ends = new List<int>();
        var messages = new List<(int At, int Length)>();
        long next = run[0].First;
        using (SqliteCommand read = _writer.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = $"SELECT data FROM {index.Blocks} WHERE last_rowid = @l";
            SqliteParameter lastParameter = read.Parameters.Add(new SqliteParameter("@l", null));
            foreach ((long last, long first, _, _, _, _) in run)
            {
                lastParameter.Value = last;
                byte[] data = (byte[])read.ExecuteScalar()!;
                LogBlock block;
                try
                {
                    block = _blocks.Decode(index.Id, first, last - first + 1, data, WriterDictionaries(index));
                }
                catch (InvalidDataException)
                {
                    // A block that cannot be read is left as it is (its searches report it); the run stops before it.
                    return 0;
                }

                for (; next < first; next++)
                {
                    ends.Add(sources.WrittenCount);
                    messages.Add((-1, 0));
                }

                for (long rowId = first; rowId <= last; rowId++, next++)
                {
                    sources.Write(block.Source(rowId));
                    ends.Add(sources.WrittenCount);
                    messages.Add(block.MessageRange(rowId));
                }
            }
        }

        // Messages with the index's trained dictionary once it has one (committed before this transaction began).
        ReadOnlySpan<byte> packed = _repackedBlocks.Encode(sources.WrittenSpan, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ends),
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(messages), index.Dictionary);
        string upTo = run[^1].Last.ToString(CultureInfo.InvariantCulture);
        (long TsRows, bool Ordered)? joinedRows = index.BlockTimes ? JoinedRows(index, tx, run) : null;
        Execute($"DELETE FROM {index.Blocks} WHERE last_rowid >= {run[0].Last.ToString(CultureInfo.InvariantCulture)} AND last_rowid < {upTo}", tx);
        if (index.BlockTimes)
        {
            Execute($"DELETE FROM {index.BlockRows} WHERE last_rowid >= {run[0].Last.ToString(CultureInfo.InvariantCulture)} AND last_rowid < {upTo}", tx);
        }

        // The joined block's rows are the run's: its time bounds are the union of theirs (a block without bounds adds none).
        long? joinedMin = run.Min(b => b.MinTs), joinedMax = run.Max(b => b.MaxTs);
        InsertBlock(index, run[0].First, run[^1].Last, sources.WrittenCount, packed, RepackLevel, (joinedMin, joinedMax), joinedRows);
        tx.Commit();
        freshLarge = run.Count(b => !b.Packed && b.Bytes >= SmallBlockBytes);
        long freed = Scalar(_writer, "PRAGMA freelist_count") - freeBefore;
        if (freed > 0)
        {
            Execute("PRAGMA incremental_vacuum(" + freed.ToString(CultureInfo.InvariantCulture) + ")");
        }

        return runBytes;
    }

    /// <summary>
    /// The blockrows_N entry of the block joining <paramref name="run"/>: the sum of their counts, ordered when each is and
    /// each block's bounds end at or before the next one's begin (bounds only widen, so the rows are then ordered across
    /// them too); null when one of them has no entry (the joined block then has none either, and is counted from its rows).
    /// </summary>
    private (long TsRows, bool Ordered)? JoinedRows(IndexState index, SqliteTransaction tx,
        List<(long Last, long First, long Bytes, bool Packed, long? MinTs, long? MaxTs)> run)
    {
        using SqliteCommand read = _writer.CreateCommand();
        read.Transaction = tx;
        read.CommandText = $"SELECT last_rowid, ts_rows, ordered FROM {index.BlockRows} WHERE last_rowid BETWEEN @f AND @l ORDER BY last_rowid";
        _ = read.Parameters.AddWithValue("@f", run[0].Last);
        _ = read.Parameters.AddWithValue("@l", run[^1].Last);
        using SqliteDataReader reader = read.ExecuteReader();
        long total = 0;
        bool ordered = true;
        long? previousMax = null;
        // Both in last_rowid order: the k-th entry belongs to the k-th block of the run, or a block has none.
        foreach ((long last, _, _, _, long? minTs, long? maxTs) in run)
        {
            if (!reader.Read() || reader.GetInt64(0) != last)
            {
                return null;
            }

            total += reader.GetInt64(1);
            bool hasBounds = minTs is not null && maxTs is not null;
            ordered = ordered && reader.GetInt64(2) != 0 && hasBounds && (previousMax is not { } p || p <= minTs);
            previousMax = hasBounds ? maxTs : previousMax;
        }

        return (total, ordered);
    }

    private void SetNeedsMerge(IndexState index, bool value)
    {
        if (index.NeedsMerge != value)
        {
            index.NeedsMerge = value;
            _ = value ? Interlocked.Increment(ref _pendingMerges) : Interlocked.Decrement(ref _pendingMerges);
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
    /// Applies retention: drops indices whose newest event is older than <see cref="LogStoreOptions.MaxAge"/> (and returns
    /// their pages to the file system), then applies <see cref="LogStoreOptions.MaxBytes"/> as every commit does (see
    /// <see cref="EnforceMaxBytes"/>). Returns the names of the indices dropped whole, oldest first. Meant to be called
    /// periodically (e.g. each minute).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        var dropped = new List<string>();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_options.MaxAge is { } maxAge)
            {
                List<IndexState> oldestFirst = OldestFirst();
                long cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)maxAge.TotalMilliseconds;
                while (oldestFirst.Count > 0 && oldestFirst[0].NewestMs < cutoff)
                {
                    dropped.Add(oldestFirst[0].Name);
                    _ = Interlocked.Add(ref _deletedByAge, oldestFirst[0].DocCount);
                    Drop(oldestFirst[0]);
                    oldestFirst.RemoveAt(0);
                }

                if (dropped.Count > 0)
                {
                    Vacuum();
                }
            }

            dropped.AddRange(EnforceMaxBytes(force: true));
        }
        finally
        {
            _ = _writeGate.Release();
        }

        return dropped;
    }

    /// <summary>
    /// Events deleted by retention since the store opened: by <see cref="LogStoreOptions.MaxAge"/> and by
    /// <see cref="LogStoreOptions.MaxBytes"/>.
    /// </summary>
    public (long ByAge, long BySize) RetentionDeletedEvents => (Interlocked.Read(ref _deletedByAge), Interlocked.Read(ref _deletedBySize));

    /// <summary>Bytes of the database's pages in use (page count less free pages, times the page size).</summary>
    public long UsedBytes()
    {
        using SqliteConnection connection = OpenReader();
        return UsedBytes(connection);
    }

    private static long UsedBytes(SqliteConnection connection) =>
        (Scalar(connection, "PRAGMA page_count") - Scalar(connection, "PRAGMA freelist_count")) * Scalar(connection, "PRAGMA page_size");

    private List<IndexState> OldestFirst() => [.. _indices.Values.OrderBy(i => i.NewestMs).ThenBy(i => i.Name, StringComparer.Ordinal)];

    /// <summary>
    /// Keeps the pages in use at most <see cref="LogStoreOptions.MaxBytes"/>; called after every commit, under
    /// <c>_writeGate</c>. Over the limit it drops whole indices, oldest first, while more than one is left, then deletes
    /// the oldest events (in the order they were stored) of the oldest index: as many as the excess over
    /// <see cref="RetentionTarget"/> of the limit is of the pages in use, counted in events of the whole store. The
    /// freed pages stay in the file's free list, so later writes reuse them and the file stops growing near the limit
    /// (auto_vacuum=INCREMENTAL would otherwise move pages around to shrink it, only for the next writes to grow it).
    /// </summary>
    /// <remarks>
    /// Deleted events leave the full-text index at once for searches, but their postings are freed only when FTS5
    /// merges the segments holding them (contentless_delete tombstones). Until then the pages in use overstate what is
    /// kept; so that this does not delete again and again for the same excess, a new deletion waits until the pages in
    /// use grew by the headroom (limit − target) since the last one, unless <paramref name="force"/>.
    /// </remarks>
    private List<string> EnforceMaxBytes(bool force = false)
    {
        var dropped = new List<string>();
        if (_options.MaxBytes is not { } limit)
        {
            return dropped;
        }

        long used = UsedBytes(_writer);
        long headroom = limit - (long)(limit * RetentionTarget);
        if (used <= limit || (!force && used < _usedAfterSizeRetention + headroom))
        {
            return dropped;
        }

        List<IndexState> oldestFirst = OldestFirst();
        while (oldestFirst.Count > 1 && used > limit)
        {
            dropped.Add(oldestFirst[0].Name);
            _ = Interlocked.Add(ref _deletedBySize, oldestFirst[0].DocCount);
            Drop(oldestFirst[0]);
            oldestFirst.RemoveAt(0);
            used = UsedBytes(_writer);
        }

        if (used > limit && oldestFirst.Count > 0)
        {
            IndexState oldest = oldestFirst[0];
            long events = _indices.Values.Sum(i => i.DocCount);
            long excess = used - (long)(limit * RetentionTarget);
            long count = Math.Min(oldest.DocCount, Math.Max(1, (long)Math.Ceiling((double)events * excess / used)));
            DeleteOldest(oldest, count);
            used = UsedBytes(_writer);
        }

        _usedAfterSizeRetention = used;
        return dropped;
    }

    // Deletes the COUNT oldest rows of an index (lowest rowids: the order they were stored) in one transaction.
    private void DeleteOldest(IndexState index, long count)
    {
        if (count <= 0 || index.DocCount == 0)
        {
            return;
        }

        using SqliteTransaction tx = _writer.BeginTransaction();
        long cutoff = Scalar(_writer, $"SELECT rowid FROM {index.Docs} ORDER BY rowid LIMIT 1 OFFSET {(count - 1).ToString(CultureInfo.InvariantCulture)}", tx);
        // Whole blocks go: up to the end of the block holding the cutoff row (rows older than blocks have none).
        cutoff = Scalar(_writer, $"SELECT coalesce((SELECT last_rowid FROM {index.Blocks} WHERE last_rowid >= {cutoff.ToString(CultureInfo.InvariantCulture)} "
            + $"AND first_rowid <= {cutoff.ToString(CultureInfo.InvariantCulture)}), {cutoff.ToString(CultureInfo.InvariantCulture)})", tx);
        string upTo = cutoff.ToString(CultureInfo.InvariantCulture);
        long deleted = Scalar(_writer, $"SELECT count(*) FROM {index.Docs} WHERE rowid <= {upTo}", tx);
        long bytes = Scalar(_writer, $"SELECT coalesce(sum(length(CAST(source AS BLOB))), 0) FROM {index.Docs} WHERE rowid <= {upTo}", tx)
            + BlockSourceBytes(index, tx, cutoff);
        Execute($"DELETE FROM {index.Fts} WHERE rowid <= {upTo}; DELETE FROM {index.Docs} WHERE rowid <= {upTo}; "
            + $"DELETE FROM {index.Blocks} WHERE last_rowid <= {upTo}"
            + (index.BlockTimes ? $"; DELETE FROM {index.BlockRows} WHERE last_rowid <= {upTo}" : string.Empty), tx);
        index.DocCount -= deleted;
        index.SourceBytes = Math.Max(0, index.SourceBytes - bytes);
        index.Dirty = true;
        try
        {
            Commit(tx, afterRetention: true);
        }
        catch (SqliteException)
        {
            return;
        }

        _ = Interlocked.Add(ref _deletedBySize, deleted);
        SetNeedsMerge(index, true);
    }

    // The bytes of the sources of the rows still present in the blocks ending at or before upTo. Read here rather than
    // with flotel_source: a block that cannot be read must not stop retention, which is what removes it; its rows count
    // with the bytes it was written with.
    private long BlockSourceBytes(IndexState index, SqliteTransaction tx, long upTo)
    {
        var blocks = new List<(long First, long Last, long Bytes, byte[] Data)>();
        using (SqliteCommand read = _writer.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = $"SELECT first_rowid, last_rowid, source_bytes, data FROM {index.Blocks} WHERE last_rowid <= @u ORDER BY last_rowid";
            _ = read.Parameters.AddWithValue("@u", upTo);
            using SqliteDataReader reader = read.ExecuteReader();
            while (reader.Read())
            {
                blocks.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
            }
        }

        long bytes = 0;
        using SqliteCommand rows = _writer.CreateCommand();
        rows.Transaction = tx;
        rows.CommandText = $"SELECT rowid FROM {index.Docs} WHERE rowid BETWEEN @f AND @l AND source = ''";
        SqliteParameter from = rows.Parameters.Add(new SqliteParameter("@f", null));
        SqliteParameter to = rows.Parameters.Add(new SqliteParameter("@l", null));
        foreach ((long first, long last, long written, byte[] data) in blocks)
        {
            LogBlock block;
            try
            {
                block = _blocks.Decode(index.Id, first, last - first + 1, data, WriterDictionaries(index));
            }
            catch (InvalidDataException)
            {
                bytes += written;
                continue;
            }

            (from.Value, to.Value) = (first, last);
            using SqliteDataReader reader = rows.ExecuteReader();
            while (reader.Read())
            {
                bytes += block.Source(reader.GetInt64(0)).Length;
            }
        }

        return bytes;
    }

    private void Drop(IndexState index)
    {
        _ = _indices.Remove(index.Name);
        SetNeedsMerge(index, false);
        SetNeedsRepack(index, false);
        Publish();
        index.Dispose();
        using SqliteTransaction tx = _writer.BeginTransaction();
        Execute($"DROP TABLE IF EXISTS {index.Docs}; DROP TABLE IF EXISTS {index.Fts}; DROP TABLE IF EXISTS {index.Blocks}; "
            + $"DROP TABLE IF EXISTS {index.BlockRows}; "
            + $"DROP TABLE IF EXISTS {index.ValuesTable}; DROP TABLE IF EXISTS {index.Dicts}; "
            + $"DELETE FROM indices WHERE id = {index.Id.ToString(CultureInfo.InvariantCulture)}", tx);
        tx.Commit();
        _blocks.Forget(index.Id);
    }

    /// <summary>Bytes of the <c>-wal</c> file beside the database right now (0 when there is none).</summary>
    public long WalBytes
    {
        get
        {
            var file = new FileInfo(_walFile.FullName);
            return file.Exists ? file.Length : 0;
        }
    }

    // Called by Commit after each transaction, under _writeGate (see CheckpointWalBytes).
    private void ManageWal()
    {
        if (_checkpointer is { } checkpointer && checkpointer.TakeFinished())
        {
            TryCheckpoint("TRUNCATE");
            return;
        }

        _walFile.Refresh();
        if (_walFile.Exists && _walFile.Length >= MinCheckpointWalBytes && _walFile.Length >= WalCheckpointBytes())
        {
            _checkpointer ??= new WalCheckpointer(new SqliteConnectionStringBuilder(_writer.ConnectionString) { Mode = SqliteOpenMode.ReadWrite }.ToString());
            _checkpointer.Request();
        }
    }

    /// <summary>
    /// The WAL size that starts a checkpoint: a tenth of the database file, between <see cref="MinCheckpointWalBytes"/>
    /// and <see cref="CheckpointWalBytes"/> (see there).
    /// </summary>
    internal long WalCheckpointBytes()
    {
        _databaseFile.Refresh();
        long share = _databaseFile.Exists ? _databaseFile.Length / CheckpointDatabaseShare : 0;
        return Math.Clamp(share, MinCheckpointWalBytes, CheckpointWalBytes);
    }

    // A checkpoint on the writer; a failure leaves the WAL to the next one (and to the backstop).
    private void TryCheckpoint(string mode)
    {
        try
        {
            Execute($"PRAGMA wal_checkpoint({mode})");
        }
        catch (SqliteException)
        {
            // Nothing lost: the pages stay in the WAL, which readers and the next checkpoint see.
        }
    }

    private void Vacuum()
    {
        Execute("PRAGMA incremental_vacuum");
        Execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}
