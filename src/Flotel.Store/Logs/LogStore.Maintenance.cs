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

    // Called by Commit after each transaction, under _writeGate.
    private void RequestCheckpointIfDue()
    {
        if (_sourceBytesSinceCheckpoint >= CheckpointSourceBytes)
        {
            _sourceBytesSinceCheckpoint = 0;
            _checkpointer ??= new WalCheckpointer(new SqliteConnectionStringBuilder(_writer.ConnectionString) { Mode = SqliteOpenMode.ReadWrite }.ToString());
            _checkpointer.Request();
        }
    }

    private void Vacuum()
    {
        Execute("PRAGMA incremental_vacuum");
        Execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}
