using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// One reader's cursor file, <c>readers/NAME.cursor</c> (format at the top of <c>DurableQueue.cs</c>): the committed
/// sequence in a 16-byte slot, written either whole to a <c>.tmp</c> file fsync'd and renamed over the old one
/// (<see cref="WriteReplacing"/>), or in place into two alternating slots of a file kept open
/// (<see cref="WriteInPlace"/>). Not thread-safe: the queue serializes each reader's writes
/// (<see cref="ReaderState.FileLock"/>).
/// </summary>
/// <remarks>
/// <code>
///   slot (16 bytes; a file holds one, or two written alternately; the valid slot with the higher sequence counts)
///   +--------+-------------------------+-----------------------------+
///   | "FLQC" | u64 committed sequence  | u32 crc32c of bytes 0..11   |
///   +--------+-------------------------+-----------------------------+
/// </code>
/// </remarks>
internal sealed class QueueCursorFile(string path) : IDisposable
{
    /// <summary>Bytes of one slot.</summary>
    public const int SlotSize = 16;

    /// <summary>The cursor file's name ending (after the reader's name).</summary>
    public const string Extension = ".cursor";

    /// <summary>The name ending of a replacing write that has not reached its rename yet.</summary>
    public const string TemporaryExtension = ".tmp";

    /// <summary>With in-place writes: the file, kept open.</summary>
    private SafeFileHandle? _handle;

    /// <summary>The slot (0 or 1) the next in-place write goes to: not the one holding the newest cursor.</summary>
    private int _nextSlot;

    /// <summary>The file's path.</summary>
    public string Path { get; } = path;

    /// <summary>
    /// Reads the file (see <see cref="TryRead"/>) and aims the next in-place write at the slot that did not win, so the
    /// newest valid cursor is never overwritten.
    /// </summary>
    public bool TryLoad(out long committed)
    {
        var found = TryRead(Path, out committed, out var newerSlot);
        _nextSlot = newerSlot ^ 1;
        return found;
    }

    /// <summary>
    /// Reads a cursor file: one slot (written by rename) or two (written in place); the valid slot with the higher
    /// sequence wins. <paramref name="newerSlot"/> is the slot that won (the next in-place write goes to the other).
    /// </summary>
    public static bool TryRead(string path, out long committed, out int newerSlot)
    {
        committed = -1;
        newerSlot = 0;
        Span<byte> bytes = stackalloc byte[2 * SlotSize];
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        // Whole slots only: a longer file (or a torn second slot) still yields its valid first slot.
        var length = (int)Math.Min(RandomAccess.GetLength(handle), bytes.Length);
        if (length < SlotSize || RandomAccess.Read(handle, bytes[..length], 0) != length)
        {
            return false;
        }

        for (var slot = 0; (slot + 1) * SlotSize <= length; slot++)
        {
            var slice = bytes.Slice(slot * SlotSize, SlotSize);
            if (slice[..4].SequenceEqual("FLQC"u8) && BinaryPrimitives.ReadUInt32LittleEndian(slice[12..]) == Crc32C.Compute(slice[..12])
                && BinaryPrimitives.ReadInt64LittleEndian(slice[4..]) is var value && value >= 0 && value > committed)
            {
                committed = value;
                newerSlot = slot;
            }
        }

        return committed >= 0;
    }

    /// <summary>
    /// Many commits a second (the agent's forwarders): one pwrite into the slot not holding the newest cursor, no
    /// open/rename per commit. A write torn by a power cut spoils only its own slot; the other holds the previous cursor
    /// (one batch re-delivered).
    /// </summary>
    public void WriteInPlace(long committed, bool sync)
    {
        Span<byte> bytes = stackalloc byte[SlotSize];
        Encode(bytes, committed);
        _handle ??= File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        RandomAccess.Write(_handle, bytes, _nextSlot * (long)SlotSize);
        _nextSlot ^= 1;
        if (sync)
        {
            RandomAccess.FlushToDisk(_handle);
        }
    }

    /// <summary>Writes one slot to a <c>.tmp</c> file (fsync'd when <paramref name="sync"/>) and renames it over the file.</summary>
    public void WriteReplacing(long committed, bool sync)
    {
        Span<byte> bytes = stackalloc byte[SlotSize];
        Encode(bytes, committed);
        var tmp = Path + TemporaryExtension;
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: sync);
        }

        // rename(2) replaces atomically: a crash leaves the old or the new cursor, never a torn one. (.NET
        // cannot fsync the directory; the worst case after power loss is the previous cursor: a re-delivery.)
        File.Move(tmp, Path, overwrite: true);
    }

    /// <summary>Closes the file and deletes it (the reader was unregistered).</summary>
    public void Delete()
    {
        Dispose();
        File.Delete(Path);
    }

    /// <summary>Closes the file kept open for in-place writes (reader deleted, queue stopped); a later write opens it again.</summary>
    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }

    private static void Encode(Span<byte> slot, long committed)
    {
        "FLQC"u8.CopyTo(slot);
        BinaryPrimitives.WriteInt64LittleEndian(slot[4..], committed);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[12..], Crc32C.Compute(slot[..12]));
    }
}
