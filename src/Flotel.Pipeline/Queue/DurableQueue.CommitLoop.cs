using System.Buffers.Binary;

namespace Flotel.Pipeline.Queue;

// The commit loop: writes each group commit to the active segment, fsyncs it once, rolls segments.
public sealed partial class DurableQueue
{
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
}
