namespace Flotel.Pipeline.Queue;

// Counters, per-reader lag and the writability probe.
public sealed partial class DurableQueue
{
    /// <summary>A consistent snapshot of the counters, bytes on disk and per-reader lag.</summary>
    public DurableQueueStats GetStats()
    {
        lock (_gate)
        {
            long bytesOnDisk = 0;
            foreach (var segment in _segments)
            {
                bytesOnDisk += segment.Length;
            }

            var readers = new List<QueueReaderStats>(_readers.Count);
            foreach (var state in _readers.Values)
            {
                readers.Add(new QueueReaderStats(state.Name, state.Committed, Math.Max(0, _durableSequence - state.Committed)));
            }

            readers.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            return new DurableQueueStats
            {
                AppendedRecords = _appendedRecords,
                AppendedBytes = _appendedBytes,
                GroupCommits = _groupCommits,
                RejectedAppends = _rejectedAppends,
                DroppedRecordsQueueFull = _droppedRecordsQueueFull,
                DroppedBytesQueueFull = _droppedBytesQueueFull,
                DroppedRecordsCorrupt = _droppedRecordsCorrupt,
                CorruptRecords = _corruptRecords,
                TornTailRepairs = _tornTailRepairs,
                TornTailBytes = _tornTailBytes,
                WriteFailures = _writeFailures,
                WriteFailing = _writeFailing,
                BytesOnDisk = bytesOnDisk,
                SegmentCount = _segments.Count,
                LastSequence = _durableSequence,
                Readers = readers,
            };
        }
    }

    /// <summary>
    /// Whether appends can be stored now: true while the last group commit succeeded. After a failed one (a full disk)
    /// it writes a probe file of <see cref="ProbeBytes"/> in the queue directory, fsync'd and deleted — at most once per
    /// <see cref="ProbeInterval"/> — so that a readiness check sees the space come back even when no append arrives to
    /// prove it (a not-ready gateway gets no traffic). The next successful commit also clears the failure.
    /// </summary>
    public bool CheckWritable()
    {
        lock (_gate)
        {
            if (!_writeFailing || _stopped)
            {
                return !_writeFailing;
            }

            if (_probedAt != 0 && _time.GetElapsedTime(_probedAt) < ProbeInterval)
            {
                return false;
            }

            _probedAt = _time.GetTimestamp();
        }

        var path = Path.Combine(_options.Directory, ProbeFileName);
        try
        {
            using (var probe = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                probe.Write(new byte[ProbeBytes]);
                probe.Flush(flushToDisk: _options.Fsync);
            }

            lock (_gate)
            {
                _writeFailing = false;
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        finally
        {
            TryDelete(path);
        }
    }

    /// <summary>
    /// Bytes a writability probe writes: one large group commit (<see cref="GroupCommitEnoughBytes"/>), so "writable"
    /// means a commit of that size fits, not merely that a file can be created.
    /// </summary>
    internal const int ProbeBytes = GroupCommitEnoughBytes;

    /// <summary>Least time between two probes: a readiness check every second costs one 64 KiB write at most.</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    /// <summary>The probe's file name (not a segment name, so recovery ignores a leftover one).</summary>
    private const string ProbeFileName = "PROBE.tmp";
}
