using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Pipeline.Queue;

/*
 Durable queue — on-disk format (version 1). All integers little-endian.

   {Directory}/
     00000000000000000001.seg     segment: records with sequence ids >= 1
     00000000000000052001.seg     file name = first sequence id, 20 digits (names sort like ids);
     ...                          the last file is the active one, all others are sealed
     readers/
       gateway-store.cursor       one per reader; written as .cursor.tmp, fsync'd, renamed over — or, with a
                                  CursorSyncInterval, rewritten in place in two alternating 16-byte slots (32 bytes)
       elasticsearch.cursor
     LOCK                         empty; held open with an exclusive lock (flock) while the queue is open, so a second
                                  process on the same directory fails at open instead of corrupting the segments
     IDENTITY                     32 lower-case hex digits and a newline: a random id made when the directory first holds
                                  a queue (written as IDENTITY.tmp, fsync'd, renamed). Sequence ids only grow within one
                                  identity; a wiped directory starts again at 1 under a new one (QueueIdentityFile)

   segment file
   +---------------------------+--------------+--------------+-----+--------------+
   | header: "FLQS" | u32 ver=1| record       | record       | ... | record       |
   +---------------------------+--------------+--------------+-----+--------------+
     8 bytes                     a segment is sealed when the next record would pass
                                 min(MaxSegmentBytes, MaxTotalBytes / 4); one oversized
                                 record still gets a segment of its own

   record (16-byte header + payload)
   +------------+-------------+-------------------+----------------------------+
   | u32 length | u32 crc32c  | u64 sequence id   | payload (length bytes)     |
   +------------+-------------+-------------------+----------------------------+
     payload      CRC-32C over   strictly increasing  opaque: a syslog frame, a still-
     bytes only   sequence id    within and across    compressed remote-write body,
                  (8 bytes LE)   segments (gaps after a bulk document...
                  then payload   a failed write)

   cursor file (16 bytes, or two such slots = 32 bytes; the valid slot with the higher sequence counts)
   +--------+-------------------------+-----------------------------+
   | "FLQC" | u64 committed sequence  | u32 crc32c of bytes 0..11   |
   +--------+-------------------------+-----------------------------+

 Durability: appends are copied (already in record format) into one pending buffer; a single commit loop writes that
 buffer and fsyncs once per group commit, then completes every append in it — many appenders, one fsync. A segment's
 "durable length" only grows after an fsync, and readers never read past it, so nothing is read that a crash could take
 back.

 A write or fsync that fails (ENOSPC, an I/O error) fails the appenders of that group commit with QueueWriteException
 and cuts the active segment back to its durable length (again before the next write if that cut failed too), so a
 partial record never stays behind a durable one and later appends and readers carry on; nothing of the failed commit
 was acknowledged. CheckWritable tells a readiness probe when writes succeed again.

 Recovery on open: only the last segment can have a torn tail (earlier ones were fsync'd before the next one was
 created), so only it is scanned. A record that is cut short, fails its CRC or breaks sequence order is either
 corruption in the middle or a torn tail, and the bytes after it decide which: the scan looks forward, byte by byte, for
 the next valid record (a header whose length fits in the file, whose sequence id follows the last good one and whose
 CRC matches its payload — a false match is a 2^-32 chance per plausible header). Found: the bad record is skipped
 (counted once in CorruptRecords and logged) and every record after it is kept. Not found: it is a torn tail, the file is
 truncated there and the repair is counted. Older segments are not scanned at open (that would read the whole queue at
 start-up); a reader that meets a bad record (in any segment) resyncs the same way, and only when no valid record follows
 it in a sealed segment does it skip to the next segment, counting the records lost.

   ... | record k-1 | record k (bad) | record k+1 | ...      bad in the middle: k skipped, k+1.. delivered
   ... | record k-1 | record k (bad) |<end of file>          bad at the end: torn tail, cut at k's offset

 Segment files are never rewritten, only appended to, truncated at the tail on recovery, or deleted whole.
*/

/// <summary>
/// A bounded, crash-safe, multi-reader queue of opaque byte records on local disk (architecture §1; style.md rules 5, 6,
/// 12, 13). Inputs append; each output reads through its own named <see cref="QueueReader"/> and commits after its peer
/// acknowledged; a segment is deleted once every reader is past it. The format is described at the top of this file.
/// </summary>
/// <remarks>
/// This file holds the state every part shares (each field says which lock guards it) and <see cref="Open"/>; the rest
/// is one file per concern: <c>DurableQueue.Append.cs</c> (appends, the bound, group commits),
/// <c>DurableQueue.CommitLoop.cs</c> (write, fsync, roll), <c>DurableQueue.Readers.cs</c> (reader registration, what
/// <see cref="QueueReader"/> calls, cursor commits; the file itself is <see cref="QueueCursorFile"/>),
/// <c>DurableQueue.Retention.cs</c> (segment deletion), <c>DurableQueue.Recovery.cs</c> (open-time repair and the
/// resync scan), <c>DurableQueue.Stats.cs</c> (counters, writability probe) and <c>DurableQueue.Lifecycle.cs</c> (stop,
/// directory lock).
/// </remarks>
public sealed partial class DurableQueue : IAsyncDisposable
{
    /// <summary>Bytes before the first record of a segment.</summary>
    internal const int SegmentHeaderSize = 8;

    /// <summary>Bytes before each payload: length, CRC-32C, sequence id.</summary>
    internal const int RecordHeaderSize = 16;

    private const uint FormatVersion = 1;

    // A pending commit this large already amortizes its fsync well, so the loop writes it without waiting the window:
    // with the window applied unconditionally, a gateway connection awaiting each 1,024-line batch ran at less than
    // half the rate (measured, see DurableQueueBenchmarks).
    private const int GroupCommitEnoughBytes = 64 << 10;

    private readonly DurableQueueOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _readersDirectory;
    private readonly long _segmentBytes;

    /// <summary>The directory lock (LOCK, opened with FileShare.None = flock LOCK_EX); held from open until stopped.</summary>
    private readonly FileStream _directoryLock;

    // Guards every field below marked "guarded", and the mutable state of Segment and ReaderState.
    private readonly Lock _gate = new();

    // guarded: ordered by first sequence; never empty; the last one is the active segment the commit loop appends to.
    private readonly List<Segment> _segments = [];

    // guarded: every registered reader by name.
    private readonly Dictionary<string, ReaderState> _readers = new(StringComparer.Ordinal);

    // Appenders post here (non-blocking, coalescing: capacity 1, extra wake-ups dropped); the commit loop waits on it.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private readonly Task _commitLoop;

    // guarded: the group commit that appenders currently add to.
    private PendingCommit _pending;

    // commit loop only: the buffer of the previous commit, reused for the next one.
    private RecordBuffer _spare = new();

    // commit loop only: the active segment's file, opened lazily; null after a write failure so it is reopened and re-truncated.
    private Stream? _writer;

    // Set once at open (QueueIdentityFile).
    private string _identity = "";

    // guarded: next sequence id to give out.
    private long _nextSequence;

    // guarded: highest sequence id that is durable.
    private long _durableSequence;

    // guarded: bytes in segment files plus bytes pending in the next group commit — what MaxTotalBytes bounds.
    private long _totalBytes;

    // guarded: completed (and replaced) whenever new records become durable, and at stop; readers wait on it.
    private TaskCompletionSource _dataAvailable = NewSignal();

    // guarded: appends refused once stop began.
    private bool _accepting = true;

    // guarded: the commit loop has ended and the files are closed.
    private bool _stopped;

    // guarded: the first StopAsync's task; later calls await the same one.
    private Task? _stopTask;

    // guarded: counters (see DurableQueueStats).
    private long _appendedRecords;
    private long _appendedBytes;
    private long _groupCommits;
    private long _rejectedAppends;
    private long _droppedRecordsQueueFull;
    private long _droppedBytesQueueFull;
    private long _droppedRecordsCorrupt;
    private long _corruptRecords;
    private long _tornTailRepairs;
    private long _tornTailBytes;
    private long _writeFailures;

    // guarded: the last group commit failed (and no probe has succeeded since); see CheckWritable.
    private bool _writeFailing;

    // guarded: when CheckWritable last wrote a probe (TimeProvider timestamp; 0 = never).
    private long _probedAt;

    private DurableQueue(DurableQueueOptions options, TimeProvider time)
    {
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _time = time;
        _readersDirectory = Path.Combine(options.Directory, "readers");
        _segmentBytes = options.EffectiveSegmentBytes;
        _pending = new PendingCommit(new RecordBuffer());
        _directoryLock = LockDirectory(options.Directory);
        try
        {
            Recover();
        }
        catch
        {
            _directoryLock.Dispose();
            throw;
        }

        _commitLoop = Task.Run(CommitLoopAsync);
    }

    /// <summary>
    /// The queue's identity: a random id kept in the directory's <c>IDENTITY</c> file. Sequence ids only grow under one
    /// identity; a consumer that stores a sequence outside the queue stores the identity with it, so that after the
    /// directory was wiped (sequences start again at 1, under a new identity) it does not take old positions for new.
    /// </summary>
    public string Identity => _identity;

    /// <summary>
    /// Opens (creating when missing) the queue in <see cref="DurableQueueOptions.Directory"/>: validates the options,
    /// loads the reader cursors, repairs a torn tail of the last segment and starts the commit loop.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (the message quotes the key).</exception>
    /// <exception cref="IOException">The directory cannot be read or written, or another process (or another open queue) holds it.</exception>
    public static DurableQueue Open(DurableQueueOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new DurableQueue(options, time ?? TimeProvider.System);
    }
}
