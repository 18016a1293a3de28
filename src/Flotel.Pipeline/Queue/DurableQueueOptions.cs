using System.Globalization;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// Settings of one <see cref="DurableQueue"/>. A plain class with documented defaults, checked by
/// <see cref="DurableQueue.Open"/> before anything touches the disk (style.md rule 2).
/// </summary>
public sealed class DurableQueueOptions
{
    /// <summary>Smallest accepted <see cref="MaxSegmentBytes"/>: a segment must hold a header and a few records.</summary>
    public const long MinSegmentBytes = 256;

    /// <summary>Largest accepted <see cref="MaxSegmentBytes"/>: recovery reads the last segment on open.</summary>
    public const long MaxSegmentBytesLimit = 1L << 30;

    /// <summary>Directory holding the segment files and <c>readers/</c>; created when missing. Required.</summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// A segment is sealed and a new one started when the next record would pass this size. Default 64 MiB. The queue
    /// uses at most a quarter of <see cref="MaxTotalBytes"/> per segment, so that <see cref="QueueFullPolicy.DropOldest"/>
    /// always has a sealed segment to drop and never drops more than about a quarter of the capacity at once.
    /// </summary>
    public long MaxSegmentBytes { get; set; } = 64L << 20;

    /// <summary>Bound on the bytes on disk plus the bytes waiting for the next group commit. Default 1 GiB.</summary>
    public long MaxTotalBytes { get; set; } = 1L << 30;

    /// <summary>What an append does when the bound is reached. Default <see cref="QueueFullPolicy.Reject"/>.</summary>
    public QueueFullPolicy FullPolicy { get; set; } = QueueFullPolicy.Reject;

    /// <summary>
    /// How long the commit loop waits after the first pending append before it writes and fsyncs, so that concurrent
    /// appenders share one fsync. Default 2 ms: at most ~500 fsyncs/s, which spares the SD cards of edge devices, at a
    /// cost of ≤ 2 ms append latency. Skipped when 64 KiB or more is already pending (high load batches by itself).
    /// <see cref="TimeSpan.Zero"/> still batches whatever arrived during the previous fsync.
    /// </summary>
    public TimeSpan GroupCommitWindow { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// fsync each group commit before acknowledging it. Default true. false acknowledges once the bytes are in the page
    /// cache: it survives a process crash but not a power cut.
    /// </summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// How often a reader's cursor file is fsync'd. Every commit writes the cursor file before
    /// <see cref="QueueReader.Commit"/> returns, so a crashed process resumes exactly where it committed. Default
    /// <see cref="TimeSpan.Zero"/>: every write is a tmp file, fsync'd (when <see cref="Fsync"/>) and renamed over the
    /// cursor. Greater than zero: the cursor file stays open and each commit rewrites one of its two checksummed slots in
    /// place (one pwrite); it is fsync'd only when the last fsync is at least this old (and at stop), so after a power
    /// cut the reader can resume at an older cursor and deliver again what was committed during at most one interval
    /// (duplicates, never a gap) — for a reader committing many small batches a second this saves an fsync, an open and
    /// a rename per batch.
    /// </summary>
    public TimeSpan CursorSyncInterval { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Largest payload accepted by an append; larger ones throw <see cref="ArgumentOutOfRangeException"/> (the input
    /// answers 413). Default 16 MiB; the queue uses at most half of <see cref="MaxTotalBytes"/>, so a record always fits.
    /// </summary>
    public int MaxRecordBytes { get; set; } = 16 << 20;

    /// <summary>Where the queue logs what an operator must know (a corrupt record skipped). Default: nowhere.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; set; }

    /// <summary>
    /// Test seam (style.md rule 13): wraps the stream each segment is written through, so a test can make writes fail
    /// with an <see cref="IOException"/> like a full disk does. A wrapper's <see cref="Stream.Flush()"/> must fsync.
    /// </summary>
    internal Func<FileStream, Stream>? SegmentStreamWrapper { get; set; }

    /// <summary>The segment size actually used: <see cref="MaxSegmentBytes"/>, at most a quarter of the bound.</summary>
    internal long EffectiveSegmentBytes => Math.Max(MinSegmentBytes, Math.Min(MaxSegmentBytes, MaxTotalBytes / 4));

    /// <summary>The record limit actually used: <see cref="MaxRecordBytes"/>, at most half of the bound.</summary>
    internal long EffectiveMaxRecordBytes => Math.Min(MaxRecordBytes, MaxTotalBytes / 2);

    /// <summary>Pure checks; the message quotes the key.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("`Directory` must be set (durable queue options).", nameof(Directory));
        }

        if (CursorSyncInterval < TimeSpan.Zero || CursorSyncInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"`CursorSyncInterval` must be between 0 and 60 s (durable queue {Directory}).", nameof(CursorSyncInterval));
        }

        if (MaxSegmentBytes < MinSegmentBytes || MaxSegmentBytes > MaxSegmentBytesLimit)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"`MaxSegmentBytes` must be between {MinSegmentBytes} and {MaxSegmentBytesLimit} (durable queue {Directory})."), nameof(MaxSegmentBytes));
        }

        if (MaxTotalBytes < 4 * MinSegmentBytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"`MaxTotalBytes` must be at least {4 * MinSegmentBytes} (durable queue {Directory})."), nameof(MaxTotalBytes));
        }

        if (FullPolicy is not (QueueFullPolicy.Reject or QueueFullPolicy.DropOldest))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"`FullPolicy` must be Reject or DropOldest (durable queue {Directory})."), nameof(FullPolicy));
        }

        if (GroupCommitWindow < TimeSpan.Zero || GroupCommitWindow > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"`GroupCommitWindow` must be between 0 and 1 s (durable queue {Directory})."), nameof(GroupCommitWindow));
        }

        if (MaxRecordBytes <= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"`MaxRecordBytes` must be greater than 0 (durable queue {Directory})."), nameof(MaxRecordBytes));
        }
    }
}
