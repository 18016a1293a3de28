using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
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

    /// <summary>
    /// Appends one record; completes once it is durable (fsync'd by the group commit it joined).
    /// Cancelling stops the wait only: the record may still become durable.
    /// </summary>
    /// <exception cref="QueueFullException">The queue is full (policy Reject), or the record cannot fit even after dropping.</exception>
    /// <exception cref="QueueWriteException">Writing or fsyncing the group commit failed (for example a full disk); records acknowledged before are intact and the queue accepts appends again once writes succeed.</exception>
    /// <exception cref="ObjectDisposedException">The queue is stopping or stopped.</exception>
    public ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckRecordSize(payload.Length);
        PendingCommit commit;
        long sequence;
        lock (_gate)
        {
            ThrowIfNotAccepting();
            MakeRoomLocked(RecordHeaderSize + payload.Length);
            sequence = _nextSequence++;
            _pending.Buffer.Append(sequence, payload.Span);
            _totalBytes += RecordHeaderSize + payload.Length;
            commit = _pending;
        }

        _wake.Writer.TryWrite(true);
        return WaitDurableAsync(commit, new AppendResult(sequence, sequence), cancellationToken);
    }

    /// <summary>
    /// Appends several records with one lock, one group commit and one durability wait (the hot path: one call per TCP
    /// read or HTTP request). Either all records are accepted or, when full, none.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <inheritdoc cref="AppendAsync" path="/exception"/>
    public ValueTask<AppendResult> AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new ArgumentException("The batch must hold at least one record.", nameof(payloads));
        }

        cancellationToken.ThrowIfCancellationRequested();
        long bytes = 0;
        for (var i = 0; i < payloads.Count; i++)
        {
            CheckRecordSize(payloads[i].Length);
            bytes += RecordHeaderSize + payloads[i].Length;
        }

        PendingCommit commit;
        long first;
        lock (_gate)
        {
            ThrowIfNotAccepting();
            MakeRoomLocked(bytes);
            first = _nextSequence;
            for (var i = 0; i < payloads.Count; i++)
            {
                _pending.Buffer.Append(_nextSequence++, payloads[i].Span);
            }

            _totalBytes += bytes;
            commit = _pending;
        }

        _wake.Writer.TryWrite(true);
        return WaitDurableAsync(commit, new AppendResult(first, first + payloads.Count - 1), cancellationToken);
    }

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

    /// <summary>
    /// Stops the queue: refuses new appends, lets the commit loop write and fsync what is pending (those appends
    /// complete normally), persists reader cursors, closes the files and releases readers waiting in
    /// <see cref="QueueReader.WaitToReadAsync"/> (they get false). Idempotent; safe to call concurrently.
    /// </summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (_stopTask is null)
            {
                _accepting = false;

                // Run outside the lock: the stop path takes the lock again and waits for the commit loop.
                _stopTask = Task.Run(StopCoreAsync);
            }

            return _stopTask;
        }
    }

    /// <inheritdoc cref="StopAsync"/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    // ---- internal surface used by QueueReader ----

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

    // ---- appending ----

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<AppendResult> WaitDurableAsync(PendingCommit commit, AppendResult result, CancellationToken cancellationToken)
    {
        await commit.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private void CheckRecordSize(int length)
    {
        if (length > _options.EffectiveMaxRecordBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, string.Create(CultureInfo.InvariantCulture, $"A durable queue record is limited to {_options.EffectiveMaxRecordBytes} bytes (`MaxRecordBytes`, at most half of `MaxTotalBytes`)."));
        }
    }

    private void ThrowIfNotAccepting() => ObjectDisposedException.ThrowIf(!_accepting, this);

    /// <summary>guarded: enforces MaxTotalBytes for an append of <paramref name="bytes"/> (headers included).</summary>
    private void MakeRoomLocked(long bytes)
    {
        if (_totalBytes + bytes <= _options.MaxTotalBytes)
        {
            return;
        }

        if (_options.FullPolicy == QueueFullPolicy.DropOldest)
        {
            // Only sealed segments are dropped: the active one is being written. Segments are at most a quarter of the
            // bound, so this frees space unless the batch itself is most of the bound.
            while (_totalBytes + bytes > _options.MaxTotalBytes && _segments.Count > 1 && _segments[0].Sealed)
            {
                if (!DeleteOldestLocked(dropped: true))
                {
                    break;
                }
            }

            if (_totalBytes + bytes <= _options.MaxTotalBytes)
            {
                return;
            }
        }

        _rejectedAppends++;
        throw new QueueFullException(string.Create(CultureInfo.InvariantCulture, $"The durable queue is full: {_totalBytes} of {_options.MaxTotalBytes} bytes used, {bytes} more requested."))
        {
            RequestedBytes = bytes,
            CapacityBytes = _options.MaxTotalBytes,
        };
    }

    // ---- commit loop ----

    private async Task CommitLoopAsync()
    {
        var wake = _wake.Reader;
        while (await wake.WaitToReadAsync().ConfigureAwait(false))
        {
            wake.TryRead(out _);
            if (_options.GroupCommitWindow > TimeSpan.Zero && PendingBytes() < GroupCommitEnoughBytes)
            {
                // Let concurrent appenders join this commit: one fsync for all of them.
                await Task.Delay(_options.GroupCommitWindow, _time).ConfigureAwait(false);
            }

            CommitPending();
        }

        // Stop completed the channel after refusing appends: whatever is still pending is the last commit.
        CommitPending();
    }

    private int PendingBytes()
    {
        lock (_gate)
        {
            return _pending.Buffer.Length;
        }
    }

    private void CommitPending()
    {
        PendingCommit commit;
        lock (_gate)
        {
            commit = _pending;
            if (commit.Buffer.Count == 0)
            {
                return;
            }

            _pending = new PendingCommit(_spare);
        }

        try
        {
            WriteCommit(commit.Buffer);
            lock (_gate)
            {
                _groupCommits++;
                _writeFailing = false;
            }

            commit.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            // Any failure fails this commit's appenders and nothing else: the loop keeps serving later commits.
            commit.Done.TrySetException(new QueueWriteException($"The durable queue could not store a group commit of {commit.Buffer.Count} record(s) in '{_options.Directory}': {ex.Message}", ex));
        }
        finally
        {
            commit.Buffer.Reset();
            _spare = commit.Buffer;
        }
    }

    /// <summary>
    /// Writes one group commit, splitting it at segment boundaries; each part is fsync'd before the segment's durable
    /// length moves. On failure the active segment is cut back to its durable length and the rest is not written.
    /// </summary>
    private void WriteCommit(RecordBuffer buffer)
    {
        var bytes = buffer.Written;
        var position = 0;
        try
        {
            while (position < bytes.Length)
            {
                Segment active;
                lock (_gate)
                {
                    active = _segments[^1];
                }

                // A commit that fits in a fresh segment but not in the rest of this one starts the fresh one first, so it
                // is written as one part: were its first part durable and the second to fail (a full disk), its
                // appenders would be told it failed while some of their records are stored, and their retry would store
                // those twice. Only a commit larger than a segment is still split.
                var rest = bytes.Length - position;
                if (position == 0 && active.RecordCount > 0 && active.Length + rest > _segmentBytes && SegmentHeaderSize + rest <= _segmentBytes)
                {
                    Roll(BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]));
                    continue;
                }

                // Take whole records while they fit; an empty segment takes at least one.
                var end = position;
                long records = 0, payloadBytes = 0, lastSequence = 0;
                while (end < bytes.Length)
                {
                    var payloadLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[end..]);
                    var size = RecordHeaderSize + payloadLength;
                    var empty = active.RecordCount == 0 && end == position;
                    if (!empty && active.Length + (end - position) + size > _segmentBytes)
                    {
                        break;
                    }

                    lastSequence = BinaryPrimitives.ReadInt64LittleEndian(bytes[(end + 8)..]);
                    records++;
                    payloadBytes += payloadLength;
                    end += size;
                }

                if (end == position)
                {
                    Roll(BinaryPrimitives.ReadInt64LittleEndian(bytes[(position + 8)..]));
                    continue;
                }

                var writer = _writer ??= OpenWriter(active);
                writer.Write(bytes[position..end]);
                Sync(writer);
                lock (_gate)
                {
                    active.Length += end - position;
                    active.LastSequence = lastSequence;
                    active.RecordCount += records;
                    _durableSequence = lastSequence;
                    _appendedRecords += records;
                    _appendedBytes += payloadBytes;
                    SignalDataLocked();
                }

                position = end;
            }
        }
        catch
        {
            lock (_gate)
            {
                _writeFailures++;
                _writeFailing = true;
                _totalBytes -= bytes.Length - position;
            }

            // Partially written bytes past the durable length are cut now, or on reopen of the writer if this fails too.
            DiscardWriter(truncate: true);
            throw;
        }
    }

    /// <summary>Seals the active segment and starts a new one whose first record is <paramref name="firstSequence"/>.</summary>
    private void Roll(long firstSequence)
    {
        // The old segment's bytes were fsync'd by the part that filled it; close it before the new file exists.
        DiscardWriter(truncate: false);
        var segment = new Segment(Path.Combine(_options.Directory, Segment.FileName(firstSequence)), firstSequence)
        {
            LastSequence = firstSequence - 1,
        };
        try
        {
            var stream = CreateSegmentFile(segment.Path);
            segment.Length = SegmentHeaderSize;
            _writer = stream;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(segment.Path);
            throw;
        }

        lock (_gate)
        {
            _segments[^1].Sealed = true;
            _segments.Add(segment);
            _totalBytes += SegmentHeaderSize;
            ReleaseSegmentsLocked();
            SignalDataLocked();
        }
    }

    private Stream CreateSegmentFile(string path)
    {
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        Stream stream = _options.SegmentStreamWrapper is { } wrap ? wrap(file) : file;
        try
        {
            Span<byte> header = stackalloc byte[SegmentHeaderSize];
            WriteSegmentHeader(header);
            stream.Write(header);
            Sync(stream);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens the active segment for appending, cutting anything past its durable length (left by a failed write).</summary>
    private Stream OpenWriter(Segment active)
    {
        var file = new FileStream(active.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        Stream stream = _options.SegmentStreamWrapper is { } wrap ? wrap(file) : file;
        try
        {
            if (file.Length != active.Length)
            {
                file.SetLength(active.Length);
                file.Flush(flushToDisk: true);
            }

            file.Seek(active.Length, SeekOrigin.Begin);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private void DiscardWriter(bool truncate)
    {
        var writer = _writer;
        _writer = null;
        if (writer is null)
        {
            return;
        }

        if (truncate)
        {
            try
            {
                long durable;
                lock (_gate)
                {
                    durable = _segments[^1].Length;
                }

                writer.SetLength(durable);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                // OpenWriter truncates again before the next write.
            }
        }

        try
        {
            writer.Dispose();
        }
        catch (IOException)
        {
            // Nothing unsynced is lost here: every part is fsync'd before its segment's length moves.
        }
    }

    private void Sync(Stream stream)
    {
        if (stream is FileStream file)
        {
            file.Flush(flushToDisk: _options.Fsync);
        }
        else
        {
            stream.Flush();
        }
    }

    private static void WriteSegmentHeader(Span<byte> header)
    {
        "FLQS"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
    }

    // ---- segment retention ----

    /// <summary>guarded: deletes sealed segments every reader has committed past. With no reader registered nothing is deleted.</summary>
    private void ReleaseSegmentsLocked()
    {
        if (_readers.Count == 0)
        {
            return;
        }

        var minCommitted = long.MaxValue;
        foreach (var state in _readers.Values)
        {
            minCommitted = Math.Min(minCommitted, state.Committed);
        }

        // A sealed segment ends right before the next one's first sequence id.
        while (_segments.Count > 1 && _segments[0].Sealed && _segments[1].FirstSequence - 1 <= minCommitted)
        {
            if (!DeleteOldestLocked(dropped: false))
            {
                return;
            }
        }
    }

    /// <summary>guarded: deletes the oldest (sealed) segment; when <paramref name="dropped"/>, counts it and advances readers past it.</summary>
    private bool DeleteOldestLocked(bool dropped)
    {
        var segment = _segments[0];
        var nextFirst = _segments[1].FirstSequence;
        try
        {
            // Readers with the file open keep reading it (FileShare.Delete); they notice Deleted and move on.
            File.Delete(segment.Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        _segments.RemoveAt(0);
        segment.Deleted = true;
        _totalBytes -= segment.Length;
        if (dropped)
        {
            long unread = 0;
            foreach (var state in _readers.Values)
            {
                unread = Math.Max(unread, Math.Min(nextFirst - 1, segment.LastSequence) - state.Committed);
                state.Committed = Math.Max(state.Committed, nextFirst - 1);
            }

            // Counted once per segment: as dropped when some reader had not read it, or when there is no reader at all.
            if (unread > 0 || _readers.Count == 0)
            {
                _droppedRecordsQueueFull += segment.RecordCount;
                _droppedBytesQueueFull += segment.Length - SegmentHeaderSize;
            }
        }

        return true;
    }

    // ---- readers' cursors ----

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

    // ---- recovery ----

    private void Recover()
    {
        Directory.CreateDirectory(_options.Directory);
        Directory.CreateDirectory(_readersDirectory);

        long maxCommitted = 0;
        foreach (var path in Directory.EnumerateFiles(_readersDirectory))
        {
            var fileName = Path.GetFileName(path);
            if (fileName.EndsWith(QueueCursorFile.TemporaryExtension, StringComparison.Ordinal))
            {
                // A cursor write that did not reach its rename: the previous cursor is the committed one.
                TryDelete(path);
                continue;
            }

            if (!fileName.EndsWith(QueueCursorFile.Extension, StringComparison.Ordinal))
            {
                continue;
            }

            // An unreadable cursor restarts that reader at the oldest record: re-delivery, never loss.
            var cursorFile = new QueueCursorFile(path);
            var committed = cursorFile.TryLoad(out var value) ? value : 0;
            var name = fileName[..^QueueCursorFile.Extension.Length];
            _readers[name] = new ReaderState(name, committed, cursorFile);
            maxCommitted = Math.Max(maxCommitted, committed);
        }

        var found = new List<long>();
        foreach (var path in Directory.EnumerateFiles(_options.Directory, "*.seg"))
        {
            if (Segment.TryParseFileName(Path.GetFileName(path), out var first))
            {
                found.Add(first);
            }
        }

        found.Sort();
        for (var i = 0; i < found.Count; i++)
        {
            var segment = new Segment(Path.Combine(_options.Directory, Segment.FileName(found[i])), found[i]);
            if (i < found.Count - 1)
            {
                segment.Sealed = true;
                segment.Length = new FileInfo(segment.Path).Length;
                segment.LastSequence = found[i + 1] - 1;
                segment.RecordCount = found[i + 1] - found[i];
            }
            else
            {
                RecoverActive(segment);
            }

            _segments.Add(segment);
        }

        if (_segments.Count == 0)
        {
            // A fresh queue, or every segment file was removed: continue after the highest committed cursor so that
            // sequence ids never go back.
            var first = maxCommitted + 1;
            var segment = new Segment(Path.Combine(_options.Directory, Segment.FileName(first)), first) { LastSequence = first - 1 };
            CreateSegmentFile(segment.Path).Dispose();
            segment.Length = SegmentHeaderSize;
            _segments.Add(segment);
        }

        var active = _segments[^1];
        _durableSequence = Math.Max(active.LastSequence, 0);
        _nextSequence = Math.Max(active.LastSequence + 1, Math.Max(active.FirstSequence, maxCommitted + 1));
        foreach (var segment in _segments)
        {
            _totalBytes += segment.Length;
        }

        ReleaseSegmentsLocked();
    }

    /// <summary>
    /// Scans the last segment: keeps the longest prefix of whole records with valid CRCs and increasing sequence ids,
    /// truncates the rest (a write torn by a crash or power cut) and counts the repair.
    /// </summary>
    private void RecoverActive(Segment segment)
    {
        using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        var length = file.Length;
        Span<byte> header = stackalloc byte[RecordHeaderSize];
        segment.LastSequence = segment.FirstSequence - 1;
        if (length < SegmentHeaderSize || RandomAccess.Read(file.SafeFileHandle, header[..SegmentHeaderSize], 0) != SegmentHeaderSize || !IsSegmentHeader(header[..SegmentHeaderSize]))
        {
            // Crashed while creating the segment (or its header is damaged): start it again empty.
            if (length > 0)
            {
                _tornTailRepairs++;
                _tornTailBytes += length;
            }

            file.SetLength(0);
            WriteSegmentHeader(header);
            file.Write(header[..SegmentHeaderSize]);
            file.Flush(flushToDisk: true);
            segment.Length = SegmentHeaderSize;
            return;
        }

        long offset = SegmentHeaderSize;
        var buffer = ArrayPool<byte>.Shared.Rent(64 << 10);
        try
        {
            while (offset + RecordHeaderSize <= length)
            {
                RandomAccess.Read(file.SafeFileHandle, header, offset);
                var payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
                var sequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
                var bad = payloadLength > length - offset - RecordHeaderSize || sequence <= segment.LastSequence;
                if (!bad)
                {
                    if (buffer.Length < payloadLength)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent((int)payloadLength);
                    }

                    var payload = buffer.AsSpan(0, (int)payloadLength);
                    bad = ReadFully(file.SafeFileHandle, payload, offset + RecordHeaderSize) != payload.Length || Crc32C.OfRecord(sequence, payload) != crc;
                }

                if (bad)
                {
                    // Corruption in the middle when a valid record follows; otherwise a torn tail, cut below.
                    var next = FindNextRecord(file.SafeFileHandle, offset + 1, length, segment.LastSequence + 1, long.MaxValue);
                    if (next < 0)
                    {
                        break;
                    }

                    ReportCorruptRecord(segment, offset);
                    offset = next;
                    continue;
                }

                segment.LastSequence = sequence;
                segment.RecordCount++;
                offset += RecordHeaderSize + payloadLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (offset < length)
        {
            _tornTailRepairs++;
            _tornTailBytes += length - offset;
            file.SetLength(offset);
            file.Flush(flushToDisk: true);
        }

        segment.Length = offset;
    }

    /// <summary>
    /// Looks in <c>[from, end)</c> of a segment file for the first whole record: a header whose payload ends at or before
    /// <paramref name="end"/>, whose sequence id lies in <c>[minSequence, maxSequence]</c> and whose CRC matches. The
    /// sequence test rejects almost every offset without reading a payload; the CRC settles the rest.
    /// </summary>
    /// <returns>The record's offset, or −1 when there is none.</returns>
    internal static long FindNextRecord(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long from, long end, long minSequence, long maxSequence)
    {
        var window = ArrayPool<byte>.Shared.Rent(ResyncWindowBytes);
        byte[]? payloadBuffer = null;
        try
        {
            var position = from;
            while (position + RecordHeaderSize <= end)
            {
                var read = ReadFully(handle, window.AsSpan(0, (int)Math.Min(ResyncWindowBytes, end - position)), position);
                if (read < RecordHeaderSize)
                {
                    return -1;
                }

                var last = read - RecordHeaderSize;
                for (var i = 0; i <= last; i++)
                {
                    var header = window.AsSpan(i, RecordHeaderSize);
                    var sequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
                    var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
                    var at = position + i;
                    if (sequence < minSequence || sequence > maxSequence || length > end - at - RecordHeaderSize)
                    {
                        continue;
                    }

                    ReadOnlySpan<byte> payload;
                    if (i + RecordHeaderSize + length <= read)
                    {
                        payload = window.AsSpan(i + RecordHeaderSize, (int)length);
                    }
                    else
                    {
                        if (payloadBuffer is null || payloadBuffer.Length < length)
                        {
                            if (payloadBuffer is not null)
                            {
                                ArrayPool<byte>.Shared.Return(payloadBuffer);
                            }

                            payloadBuffer = ArrayPool<byte>.Shared.Rent((int)length);
                        }

                        var span = payloadBuffer.AsSpan(0, (int)length);
                        if (ReadFully(handle, span, at + RecordHeaderSize) != span.Length)
                        {
                            continue;
                        }

                        payload = span;
                    }

                    if (Crc32C.OfRecord(sequence, payload) == BinaryPrimitives.ReadUInt32LittleEndian(header[4..]))
                    {
                        return at;
                    }
                }

                position += last + 1;
            }

            return -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
            if (payloadBuffer is not null)
            {
                ArrayPool<byte>.Shared.Return(payloadBuffer);
            }
        }
    }

    /// <summary>Bytes a resync scan reads at a time: under the large-object threshold, many records per read.</summary>
    private const int ResyncWindowBytes = 64 << 10;

    internal static bool IsSegmentHeader(ReadOnlySpan<byte> header) =>
        header.Length >= SegmentHeaderSize && header[..4].SequenceEqual("FLQS"u8) && BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == FormatVersion;

    internal static int ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> into, long offset)
    {
        var total = 0;
        while (total < into.Length)
        {
            var read = RandomAccess.Read(handle, into[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next open to ignore (a .tmp) or to overwrite.
        }
    }

    // ---- lifecycle ----

    private async Task StopCoreAsync()
    {
        _wake.Writer.TryComplete();
        await _commitLoop.ConfigureAwait(false);
        DiscardWriter(truncate: false);

        // A commit whose cursor write failed is written again; with a CursorSyncInterval the last write may not be
        // fsync'd yet: write those again, synced. (Cursors drop-oldest advanced stay as the reader left them.)
        List<ReaderState> dirty = [];
        lock (_gate)
        {
            foreach (var state in _readers.Values)
            {
                if (state.Acknowledged > state.Persisted || (_options.CursorSyncInterval > TimeSpan.Zero && _options.Fsync))
                {
                    if (_options.CursorSyncInterval > TimeSpan.Zero)
                    {
                        state.SyncedAt = 0;
                    }

                    dirty.Add(state);
                }
            }
        }

        foreach (var state in dirty)
        {
            try
            {
                PersistCursor(state, acknowledgedOnly: true);
            }
            catch (IOException)
            {
                // The older cursor stays: those records are re-delivered, nothing is lost.
            }
        }

        List<ReaderState> all;
        lock (_gate)
        {
            all = [.. _readers.Values];
        }

        foreach (var state in all)
        {
            lock (state.FileLock)
            {
                state.CursorFile.Dispose();
            }
        }

        lock (_gate)
        {
            _stopped = true;
            SignalDataLocked();
        }

        _directoryLock.Dispose();
    }

    /// <summary>
    /// Takes the directory's lock file. Two queues on one directory would interleave records in the same segment and
    /// overwrite each other's cursors; the second one fails here, at start-up, with a message naming the directory.
    /// The lock is the kernel's (flock), so it goes away with the process however it ends.
    /// </summary>
    private static FileStream LockDirectory(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new IOException(
                $"the durable queue directory '{Path.GetFullPath(directory)}' is in use by another process or queue (its lock file '{LockFileName}' is held); " +
                "two gateways cannot share one data directory", e);
        }
    }

    /// <summary>The lock file's name in the queue directory.</summary>
    public const string LockFileName = "LOCK";

    /// <summary>
    /// Releases the directory lock without stopping anything, as the kernel does when a process is killed: only for
    /// tests that simulate a crash by abandoning a queue and opening the directory again in the same process.
    /// </summary>
    internal void UnsafeReleaseDirectoryLock() => _directoryLock.Dispose();

    private void SignalDataLocked()
    {
        var signal = _dataAvailable;
        _dataAvailable = NewSignal();
        signal.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Error, Message = "Durable queue: a corrupt record at offset {Offset} of segment {Segment} was skipped (its data is lost; the records after it are kept); counted in flotel_queue_corrupt_records")]
    private static partial void LogCorruptRecord(ILogger logger, string segment, long offset);

    /// <summary>One group commit: the records appended since the previous one and the task their appenders await.</summary>
    private sealed class PendingCommit(RecordBuffer buffer)
    {
        public RecordBuffer Buffer { get; } = buffer;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
