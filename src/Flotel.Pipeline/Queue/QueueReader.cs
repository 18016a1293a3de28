using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// A named cursor over a <see cref="DurableQueue"/>: one per output. It delivers durable records in sequence order;
/// <see cref="Commit"/> (after the output's peer acknowledged) persists the cursor. Records read but not committed are
/// delivered again after a restart (at-least-once). Meant for one consumer task: not thread-safe against itself.
/// </summary>
public sealed class QueueReader : IDisposable
{
    // Read chunk when the byte budget is large; one array per chunk, so payload slices stay valid (until the next read
    // when ReuseReadBuffers is set, else for good). Kept under the 85,000-byte large-object threshold: a 1 MiB chunk per
    // batch went to the LOH and cost gen-2 collections.
    private const int MaxChunkBytes = 80_000;
    private const int MinChunkBytes = 4 << 10;

    private readonly DurableQueue _queue;
    private readonly ReaderState _state;

    // consumer only: the segment read from (null until positioned) and the offset of the next record in it.
    private Segment? _segment;
    private long _offset;

    // consumer only: the segment's file, open while reading it.
    private SafeFileHandle? _handle;

    // consumer only: a bad record was met in _segment with no valid record after it; move on once a later segment exists.
    private bool _skipRestOfSegment;

    // consumer only: the sequence id of the last whole record parsed in _segment (resync looks for a later one).
    private long _lastParsed;

    // consumer only: a bad record at _offset of the active segment has no valid record after it yet; this is the durable
    // length scanned. Resync runs again once the segment grows past it or is sealed (−1 = not stalled).
    private long _stalledAt = -1;

    // consumer only: the next sequence id to deliver, and the highest delivered (what Commit may go up to).
    private long _nextSequence;
    private long _lastDelivered;

    // guarded by the queue's lock: set by Dispose or by DurableQueue.DeleteReader.
    private bool _closed;

    // consumer only: the current TryReadBatch call's filter on a record's first payload byte (null = every record).
    private Predicate<byte>? _wanted;

    // consumer only, with ReuseReadBuffers: the chunk arrays of earlier reads, and how many of them this read used.
    private readonly List<byte[]> _chunks = [];
    private int _chunksUsed;

    internal QueueReader(DurableQueue queue, ReaderState state)
    {
        _queue = queue;
        _state = state;
        _nextSequence = state.Committed + 1;
        _lastDelivered = state.Committed;
    }

    /// <summary>The reader's name.</summary>
    public string Name => _state.Name;

    /// <summary>
    /// When true, the payload memory of the records a <c>TryReadBatch</c> call returns is valid only until the next
    /// <c>TryReadBatch</c> call on this reader, which reuses its read buffers (no allocation per read). For a consumer that
    /// settles each batch before reading the next, as <see cref="Delivery.QueueDelivery{T}"/> does. Default false: every
    /// read has arrays of its own, and payloads stay valid for as long as they are referenced.
    /// </summary>
    public bool ReuseReadBuffers { get; set; }

    /// <summary>
    /// The highest sequence id delivered or passed over by a filtered <see cref="TryReadBatch(int, long, List{QueueRecord}, Predicate{byte})"/>:
    /// what <see cref="Commit"/> may go up to once every delivered record is settled.
    /// </summary>
    public long LastReadSequence => _lastDelivered;

    /// <summary>The highest committed sequence id (0 = none yet); drop-oldest may move it forward.</summary>
    public long CommittedSequence
    {
        get
        {
            lock (_queue.Gate)
            {
                return _state.Committed;
            }
        }
    }

    /// <summary>
    /// Adds up to <paramref name="maxRecords"/> durable records, about <paramref name="maxBytes"/> payload bytes (at
    /// least one record however large), to <paramref name="into"/>. Never blocks on new data; does disk reads.
    /// </summary>
    /// <returns>true when at least one record was added; false when none is durable yet or the queue is stopped.</returns>
    public bool TryReadBatch(int maxRecords, long maxBytes, List<QueueRecord> into) => TryReadBatch(maxRecords, maxBytes, into, null);

    /// <summary>
    /// As <see cref="TryReadBatch(int, long, List{QueueRecord})"/>, but records whose first payload byte
    /// <paramref name="wanted"/> rejects (a record kind the consumer does not handle) are passed over: a record met at
    /// the start of a read has only its header and first byte read from disk, so a consumer of small records does not
    /// read the large records of another kind. Passed-over records count as read (<see cref="LastReadSequence"/>).
    /// </summary>
    /// <returns>true when at least one record was added; false otherwise (records may have been passed over).</returns>
    public bool TryReadBatch(int maxRecords, long maxBytes, List<QueueRecord> into, Predicate<byte>? wanted)
    {
        _wanted = wanted;
        _chunksUsed = 0;
        try
        {
            return ReadBatchCore(maxRecords, maxBytes, into);
        }
        finally
        {
            _wanted = null;
        }
    }

    private bool ReadBatchCore(int maxRecords, long maxBytes, List<QueueRecord> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var added = 0;
        long bytes = 0;
        while (added < maxRecords && bytes < maxBytes)
        {
            Segment segment;
            Segment? next;
            long durable;
            lock (_queue.Gate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_queue.StoppedLocked)
                {
                    break;
                }

                segment = PositionLocked();
                var segments = _queue.SegmentsLocked;
                var index = segments.IndexOf(segment);
                next = index + 1 < segments.Count ? segments[index + 1] : null;
                durable = segment.Length;
                if (_skipRestOfSegment && next is not null && !segment.CorruptionCounted)
                {
                    // The records between the bad one and the next segment are lost; count them once for all readers.
                    segment.CorruptionCounted = true;
                    _queue.CountCorruptLocked(Math.Max(0, next.FirstSequence - _nextSequence));
                }
            }

            if (_skipRestOfSegment || _offset >= durable)
            {
                if (next is null)
                {
                    break;
                }

                MoveTo(next);
                continue;
            }

            var parsed = ReadChunk(segment, durable, maxRecords, maxBytes, into, ref added, ref bytes);
            if (!parsed)
            {
                break;
            }
        }

        return added > 0;
    }

    /// <summary>
    /// Completes with true when a record this reader has not read yet is durable, or with false once the queue is
    /// stopped (including when it stops while waiting).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task signal;
            lock (_queue.Gate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_queue.StoppedLocked)
                {
                    return false;
                }

                if (HasUnreadLocked())
                {
                    return true;
                }

                signal = _queue.DataAvailableLocked;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Persists the cursor at <paramref name="upToSequence"/> (fsync'd, tmp-then-rename): records up to it are never
    /// delivered again, and segments every reader is past are deleted. Committing an older sequence is a no-op.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The sequence was not delivered by this reader yet.</exception>
    /// <exception cref="IOException">The cursor file could not be written; the previous cursor stays.</exception>
    public void Commit(long upToSequence)
    {
        lock (_queue.Gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(upToSequence, _lastDelivered);
        _queue.Commit(_state, upToSequence);
    }

    /// <summary>Closes the reader (its registration and cursor stay; reopen it by name).</summary>
    public void Dispose()
    {
        lock (_queue.Gate)
        {
            _closed = true;
        }

        _handle?.Dispose();
        _handle = null;
        _queue.ReaderClosed(_state, this);
    }

    /// <summary>guarded: the queue deleted this reader's registration.</summary>
    internal void MarkDeleted() => _closed = true;

    /// <summary>guarded: whether a durable record (or a later segment past a bad one) is waiting for this reader.</summary>
    private bool HasUnreadLocked()
    {
        var segments = _queue.SegmentsLocked;
        if (_skipRestOfSegment && _segment is not null && !_segment.Deleted)
        {
            return !ReferenceEquals(segments[^1], _segment);
        }

        if (_stalledAt >= 0 && _segment is not null && !_segment.Deleted)
        {
            return _segment.Length > _stalledAt || !ReferenceEquals(segments[^1], _segment);
        }

        return _queue.DurableSequenceLocked >= _nextSequence;
    }

    /// <summary>guarded: the segment to read from, repositioning when unset or deleted under us (drop-oldest).</summary>
    private Segment PositionLocked()
    {
        if (_segment is { Deleted: false })
        {
            return _segment;
        }

        // Also moves forward past dropped segments: drop-oldest advanced the committed cursor beyond them.
        _nextSequence = Math.Max(_nextSequence, _state.Committed + 1);
        var segments = _queue.SegmentsLocked;
        var target = segments[0];
        foreach (var segment in segments)
        {
            if (segment.FirstSequence > _nextSequence)
            {
                break;
            }

            target = segment;
        }

        _nextSequence = Math.Max(_nextSequence, target.FirstSequence);
        _lastDelivered = Math.Max(_lastDelivered, _nextSequence - 1);
        SetSegment(target);
        return target;
    }

    private void MoveTo(Segment next)
    {
        _nextSequence = Math.Max(_nextSequence, next.FirstSequence);
        SetSegment(next);
    }

    private void SetSegment(Segment segment)
    {
        _handle?.Dispose();
        _handle = null;
        _segment = segment;
        _offset = DurableQueue.SegmentHeaderSize;
        _skipRestOfSegment = false;
        _stalledAt = -1;
        _lastParsed = segment.FirstSequence - 1;
    }

    /// <summary>
    /// Reads one chunk of <paramref name="segment"/> below its durable length and adds the records in it that fit the
    /// budget (<paramref name="maxRecords"/> and <paramref name="maxBytes"/> are the whole call's limits; <paramref name="added"/>
    /// and <paramref name="bytes"/> what it has taken so far). Records before <see cref="_nextSequence"/> (re-positioning)
    /// are skipped. false when nothing was consumed.
    /// </summary>
    private bool ReadChunk(Segment segment, long durable, int maxRecords, long maxBytes, List<QueueRecord> into, ref int added, ref long bytes)
    {
        _handle ??= File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (_wanted is not null && PassOverUnwanted(segment, durable, out var stop))
        {
            // Something was passed over; the caller loops (and moves to the next segment at the end of this one).
            return stop;
        }

        var available = durable - _offset;
        if (available < DurableQueue.RecordHeaderSize)
        {
            return BadRecord(segment, durable, _offset);
        }

        var want = (int)Math.Min(available, Math.Clamp(maxBytes - bytes + (DurableQueue.RecordHeaderSize * (long)Math.Min(maxRecords - added, 1024)), MinChunkBytes, MaxChunkBytes));
        var chunk = Chunk(want);
        if (DurableQueue.ReadFully(_handle, chunk.AsSpan(0, want), _offset) != want)
        {
            return BadRecord(segment, durable, _offset);
        }

        // A first record larger than the chunk gets a chunk of its own.
        if (want >= DurableQueue.RecordHeaderSize)
        {
            var firstLength = BinaryPrimitives.ReadUInt32LittleEndian(chunk);
            var firstSize = DurableQueue.RecordHeaderSize + (long)firstLength;
            if (firstSize > want && firstSize <= available)
            {
                want = (int)firstSize;
                chunk = Chunk(want);
                if (DurableQueue.ReadFully(_handle, chunk.AsSpan(0, want), _offset) != want)
                {
                    return BadRecord(segment, durable, _offset);
                }
            }
        }

        var position = 0;
        while (position + DurableQueue.RecordHeaderSize <= want && added < maxRecords && bytes < maxBytes)
        {
            var span = chunk.AsSpan(position, want - position);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(span);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
            var size = DurableQueue.RecordHeaderSize + (long)length;

            // Below the durable length every record is whole: one that runs past it is corruption, not a torn tail.
            if (size > available - position)
            {
                return BadRecord(segment, durable, _offset + position);
            }

            if (size > want - position)
            {
                break;
            }

            var payload = chunk.AsMemory(position + DurableQueue.RecordHeaderSize, (int)length);
            if (sequence <= _lastParsed || Crc32C.OfRecord(sequence, payload.Span) != crc)
            {
                return BadRecord(segment, durable, _offset + position);
            }

            if (sequence >= _nextSequence && length > 0 && _wanted is not null && !_wanted(payload.Span[0]))
            {
                _nextSequence = sequence + 1;
                _lastDelivered = sequence;
            }
            else if (sequence >= _nextSequence)
            {
                if (added > 0 && bytes + length > maxBytes)
                {
                    break;
                }

                into.Add(new QueueRecord(sequence, payload));
                added++;
                bytes += length;
                _nextSequence = sequence + 1;
                _lastDelivered = sequence;
            }

            // Set only when moving past the record: one left for the next read (budget) is parsed again then.
            _lastParsed = sequence;
            position += (int)size;
        }

        _offset += position;
        return position > 0;
    }

    /// <summary>
    /// An array of at least <paramref name="size"/> bytes for one chunk of this read: new, or with
    /// <see cref="ReuseReadBuffers"/> one of the previous reads' arrays (allocated at the chunk limit, so that one array
    /// serves reads of every size below it).
    /// </summary>
    private byte[] Chunk(int size)
    {
        if (!ReuseReadBuffers || size > MaxChunkBytes)
        {
            return new byte[size];
        }

        if (_chunksUsed == _chunks.Count)
        {
            _chunks.Add(new byte[MaxChunkBytes]);
        }

        return _chunks[_chunksUsed++];
    }

    /// <summary>
    /// Reads record headers (and each payload's first byte) from <see cref="_offset"/> and moves past the records
    /// <see cref="_wanted"/> rejects, without reading their payload or checking their CRC (they are not delivered).
    /// true when it moved past at least one (<paramref name="result"/> is then ReadChunk's answer); false when the record
    /// at the offset is wanted or the segment has no more durable records: read it normally.
    /// </summary>
    private bool PassOverUnwanted(Segment segment, long durable, out bool result)
    {
        Span<byte> head = stackalloc byte[DurableQueue.RecordHeaderSize + 1];
        var moved = false;
        result = true;
        while (durable - _offset >= head.Length)
        {
            if (DurableQueue.ReadFully(_handle!, head, _offset) != head.Length)
            {
                result = BadRecord(segment, durable, _offset);
                return true;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(head);
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(head[8..]);
            var size = DurableQueue.RecordHeaderSize + (long)length;
            if (size > durable - _offset || sequence <= _lastParsed)
            {
                result = BadRecord(segment, durable, _offset);
                return true;
            }

            if (length == 0 || _wanted!(head[DurableQueue.RecordHeaderSize]))
            {
                return moved;
            }

            // Passed over unchecked (no CRC read): a bad header that still looks plausible is caught by the next one.
            _lastParsed = sequence;

            if (sequence >= _nextSequence)
            {
                _nextSequence = sequence + 1;
                _lastDelivered = sequence;
            }

            _offset += size;
            moved = true;
        }

        return moved;
    }

    /// <summary>
    /// A bad record at <paramref name="at"/>, below the durable length (bit rot, a damaged disk block): resync by scanning
    /// forward for the next valid record (see the format notes in DurableQueue.cs) and go on from there, so one bad record
    /// costs that record only. With no valid record after it: in a sealed segment the rest of the segment is skipped (the
    /// caller moves to the next one and counts the records lost); in the active segment the reader waits at the bad record
    /// and scans again once more is durable. true when the batch loop can go on.
    /// </summary>
    private bool BadRecord(Segment segment, long durable, long at)
    {
        _offset = at;
        _queue.ReportCorruptRecord(segment, at);
        long maxSequence;
        bool isActive;
        lock (_queue.Gate)
        {
            // The segment may have grown (or been sealed) since the caller looked: scan all that is durable now.
            maxSequence = segment.LastSequence;
            durable = Math.Max(durable, segment.Length);
            isActive = ReferenceEquals(_queue.SegmentsLocked[^1], segment);
        }

        var next = DurableQueue.FindNextRecord(_handle!, at + 1, durable, Math.Max(_lastParsed + 1, segment.FirstSequence), maxSequence);
        if (next >= 0)
        {
            _offset = next;
            _stalledAt = -1;
            return true;
        }

        if (isActive)
        {
            _stalledAt = durable;
            return false;
        }

        _skipRestOfSegment = true;
        return true;
    }
}
