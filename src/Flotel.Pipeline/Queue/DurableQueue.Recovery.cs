using System.Buffers;
using System.Buffers.Binary;

namespace Flotel.Pipeline.Queue;

// Recovery on open: cursors, segment list, and the scan that repairs the last segment (see the format at the top of DurableQueue.cs).
public sealed partial class DurableQueue
{
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

        // Sequence ids start again at 1 only when no segment and no cursor is left (a fresh directory, or one emptied by
        // hand): then a kept IDENTITY would vouch for positions of records that are gone, so it is made anew.
        _identity = _segments.Count == 0 && maxCommitted == 0
            ? QueueIdentityFile.Create(_options.Directory)
            : QueueIdentityFile.LoadOrCreate(_options.Directory);
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
}
