namespace Flotel.Pipeline.Queue;

/// <summary>
/// A consistent snapshot of a <see cref="DurableQueue"/>'s counters (taken under the queue's lock). Counters only grow
/// during the life of one <see cref="DurableQueue"/> object; they start at zero on every open.
/// </summary>
public sealed record DurableQueueStats
{
    /// <summary>Records made durable by appends.</summary>
    public long AppendedRecords { get; init; }

    /// <summary>Payload bytes made durable by appends.</summary>
    public long AppendedBytes { get; init; }

    /// <summary>Group commits stored (one write + fsync per segment touched each); far fewer than appends under concurrency.</summary>
    public long GroupCommits { get; init; }

    /// <summary>Appends refused with <see cref="QueueFullException"/> (one per call, whatever its record count).</summary>
    public long RejectedAppends { get; init; }

    /// <summary>Records deleted unread by <see cref="QueueFullPolicy.DropOldest"/> (reason "queue_full").</summary>
    public long DroppedRecordsQueueFull { get; init; }

    /// <summary>Segment bytes deleted unread by <see cref="QueueFullPolicy.DropOldest"/> (reason "queue_full").</summary>
    public long DroppedBytesQueueFull { get; init; }

    /// <summary>
    /// Records lost because no valid record followed a bad one in a sealed segment (reason "corrupt"): readers skipped
    /// from the bad record to the next segment. Counted from the sequence ids, so it is an estimate.
    /// </summary>
    public long DroppedRecordsCorrupt { get; init; }

    /// <summary>
    /// Bad records (failed CRC, impossible length, sequence out of order) below the durable length that were skipped with
    /// a valid record after them — corruption in the middle of a segment, not a torn tail. Each is counted once, when
    /// recovery or the first reader meets it.
    /// </summary>
    public long CorruptRecords { get; init; }

    /// <summary>Times a torn or checksum-failing tail was cut from the last segment on open.</summary>
    public long TornTailRepairs { get; init; }

    /// <summary>Bytes cut by torn-tail repairs.</summary>
    public long TornTailBytes { get; init; }

    /// <summary>Group commits whose write or fsync failed (for example ENOSPC); their appenders got an <see cref="IOException"/>.</summary>
    public long WriteFailures { get; init; }

    /// <summary>The last group commit failed and no write has succeeded since (see <see cref="DurableQueue.CheckWritable"/>).</summary>
    public bool WriteFailing { get; init; }

    /// <summary>Bytes in segment files on disk (headers included).</summary>
    public long BytesOnDisk { get; init; }

    /// <summary>Number of segment files.</summary>
    public int SegmentCount { get; init; }

    /// <summary>Highest durable sequence id (0 when nothing was ever appended).</summary>
    public long LastSequence { get; init; }

    /// <summary>Every registered reader with its committed sequence and lag.</summary>
    public IReadOnlyList<QueueReaderStats> Readers { get; init; } = [];
}
