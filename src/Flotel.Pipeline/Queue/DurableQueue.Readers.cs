using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Flotel.Pipeline.Queue;

// Readers: registering and deleting them, what QueueReader calls, and the cursor each one commits.
public sealed partial class DurableQueue
{
    /// <summary>
    /// Opens the named reader. A new name is registered at the oldest record still on disk (so an output added later, or
    /// started after the inputs, misses nothing retained); a known name resumes after its committed cursor, so records
    /// read but not committed before a restart are delivered again. One open reader per name at a time.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not 1–64 characters of <c>[A-Za-z0-9._-]</c>.</exception>
    /// <exception cref="InvalidOperationException">A reader of that name is already open.</exception>
    public QueueReader OpenReader(string name)
    {
        CheckReaderName(name);
        ReaderState state;
        bool created;
        QueueReader reader;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(!_accepting, this);
            created = !_readers.TryGetValue(name, out state!);
            if (created)
            {
                state = new ReaderState(name, _segments[0].FirstSequence - 1, new QueueCursorFile(CursorPath(name)));
                _readers.Add(name, state);
            }
            else if (state.Open is not null)
            {
                throw new InvalidOperationException($"The durable queue reader '{name}' is already open.");
            }

            reader = new QueueReader(this, state);
            state.Open = reader;
        }

        if (created)
        {
            // Registered on disk at once: from now on it keeps unread segments alive across restarts.
            PersistCursor(state);
        }

        return reader;
    }

    /// <summary>Unregisters a reader (an output removed from the configuration): its cursor file goes, and it no longer keeps segments alive.</summary>
    /// <returns>false when no reader of that name was registered.</returns>
    public bool DeleteReader(string name)
    {
        CheckReaderName(name);
        ReaderState? state;
        lock (_gate)
        {
            if (!_readers.Remove(name, out state))
            {
                return false;
            }

            state.Open?.MarkDeleted();
            state.Open = null;
            ReleaseSegmentsLocked();
        }

        lock (state.FileLock)
        {
            state.CursorFile.Delete();
        }

        return true;
    }

    internal Lock Gate => _gate;

    /// <summary>guarded: the segment list.</summary>
    internal List<Segment> SegmentsLocked => _segments;

    /// <summary>guarded: highest durable sequence id.</summary>
    internal long DurableSequenceLocked => _durableSequence;

    /// <summary>guarded: the commit loop has ended.</summary>
    internal bool StoppedLocked => _stopped;

    /// <summary>guarded: the signal completed at the next durable advance or at stop.</summary>
    internal Task DataAvailableLocked => _dataAvailable.Task;

    /// <summary>guarded: counts records a reader lost at the bad end of a sealed segment (once per segment).</summary>
    internal void CountCorruptLocked(long records) => _droppedRecordsCorrupt += records;

    /// <summary>
    /// A bad record at <paramref name="offset"/> of <paramref name="segment"/>: counted and logged the first time anyone
    /// (recovery or any reader) meets it, so one bad record is one count however many readers pass it.
    /// </summary>
    internal void ReportCorruptRecord(Segment segment, long offset)
    {
        lock (_gate)
        {
            if (!segment.CorruptOffsets.Add(offset))
            {
                return;
            }

            _corruptRecords++;
        }

        LogCorruptRecord(_logger, Path.GetFileName(segment.Path), offset);
    }

    /// <summary>A reader committed: persist its cursor, then delete segments every reader is past.</summary>
    internal void Commit(ReaderState state, long upToSequence)
    {
        lock (_gate)
        {
            if (!_readers.ContainsKey(state.Name) || upToSequence <= state.Committed)
            {
                return;
            }

            state.Committed = upToSequence;
            state.Acknowledged = upToSequence;
        }

        PersistCursor(state);
        lock (_gate)
        {
            ReleaseSegmentsLocked();
        }
    }

    internal void ReaderClosed(ReaderState state, QueueReader reader)
    {
        lock (_gate)
        {
            if (ReferenceEquals(state.Open, reader))
            {
                state.Open = null;
            }
        }
    }

    private string CursorPath(string name) => Path.Combine(_readersDirectory, name + QueueCursorFile.Extension);

    /// <summary>
    /// Writes the reader's committed sequence (tmp file, fsync, rename over the old one; or in place). At stop
    /// (<paramref name="acknowledgedOnly"/>) it writes what the reader itself committed, not a cursor that drop-oldest
    /// moved past records the reader never saw: the next open then still shows that gap in the sequence ids, so the
    /// reader can report the drop (the agent's forwarder does) after a restart as after a crash.
    /// </summary>
    private void PersistCursor(ReaderState state, bool acknowledgedOnly = false)
    {
        lock (state.FileLock)
        {
            long committed;
            lock (_gate)
            {
                committed = acknowledgedOnly ? Math.Max(state.Persisted, state.Acknowledged) : state.Committed;
                if (!_readers.ContainsKey(state.Name))
                {
                    return;
                }
            }

            // fsync unless the options say otherwise: CursorSyncInterval > 0 skips it while the last one is recent (the
            // written file survives a process crash either way; only a power cut can bring back an older cursor).
            bool sync;
            lock (_gate)
            {
                sync = _options.Fsync && (_options.CursorSyncInterval == TimeSpan.Zero || state.SyncedAt == 0
                    || _time.GetElapsedTime(state.SyncedAt) >= _options.CursorSyncInterval);
            }

            if (_options.CursorSyncInterval > TimeSpan.Zero)
            {
                state.CursorFile.WriteInPlace(committed, sync);
            }
            else
            {
                state.CursorFile.WriteReplacing(committed, sync);
            }

            lock (_gate)
            {
                state.Persisted = Math.Max(state.Persisted, committed);
                if (sync)
                {
                    state.SyncedAt = _time.GetTimestamp();
                }
            }
        }
    }

    private static void CheckReaderName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 64 || name is "." or ".." || name.AsSpan().IndexOfAnyExcept(ReaderNameChars) >= 0)
        {
            throw new ArgumentException($"A durable queue reader name must be 1 to 64 characters of [A-Za-z0-9._-], not '{name}'.", nameof(name));
        }
    }

    private static readonly SearchValues<char> ReaderNameChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    [LoggerMessage(Level = LogLevel.Error, Message = "Durable queue: a corrupt record at offset {Offset} of segment {Segment} was skipped (its data is lost; the records after it are kept); counted in flotel_queue_corrupt_records")]
    private static partial void LogCorruptRecord(ILogger logger, string segment, long offset);
}
