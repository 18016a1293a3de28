using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Flotel.Agent.Logs;

/// <summary>
/// The per-container capture cursors in <c>{data}/logs/cursors/{containerId}.cursor</c>. A reader opens its container's
/// file once (<see cref="Open"/>) and then saves each cursor in place: one 512-byte write, fsync'd at most once per
/// <c>syncInterval</c> (and when the reader stops), instead of a tmp file, an fsync and a rename per batch.
/// </summary>
/// <remarks>
/// <para>Layout (version 2): two 512-byte slots, written alternately; each starts with
/// <c>"FLC2" | i64 generation | i64 ticks | i32 count | u32 CRC-32C of the 24 bytes before it</c> (little-endian).
/// <see cref="Load"/> takes the valid slot with the highest generation, so a write torn by a power cut leaves the other
/// slot, an older cursor. Version 1 files (one line <c>v1 TICKS COUNT</c>) are read too and replaced on open.</para>
/// <para>Why this keeps the capture guarantees: a cursor is saved only after its lines are durable in the target's
/// buffer, so any cursor the file can hold, synced or not, is at or before the last durable line — never a gap. A killed
/// process loses nothing written (the page cache stays): capture resumes exactly. Only an OS crash or power cut can
/// bring back a cursor up to one sync interval older, and then those lines are captured again (bounded duplicates).</para>
/// </remarks>
public sealed class ContainerCursorStore
{
    /// <summary>Size of one slot; two slots make the file.</summary>
    internal const int SlotSize = 512;

    private const int RecordSize = 4 + 8 + 8 + 4 + 4;

    private readonly string _directory;
    private readonly TimeSpan _syncInterval;
    private readonly TimeProvider _time;

    /// <param name="directory">Where the cursor files live (created when missing).</param>
    /// <param name="syncInterval">Longest time a saved cursor may stay unsynced; <see cref="TimeSpan.Zero"/> syncs every save.</param>
    /// <param name="time">Clock of the sync interval.</param>
    public ContainerCursorStore(string directory, TimeSpan syncInterval, TimeProvider time)
    {
        _directory = directory;
        _syncInterval = syncInterval;
        _time = time;
        Directory.CreateDirectory(directory);
    }

    /// <summary>A store that syncs every save (tests).</summary>
    public ContainerCursorStore(string directory)
        : this(directory, TimeSpan.Zero, TimeProvider.System)
    {
    }

    /// <summary>The saved cursor, or <see cref="LogCursor.Start"/> when there is none or it is unreadable.</summary>
    public LogCursor Load(string containerId)
    {
        var path = PathOf(containerId);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return LogCursor.Start;
        }
        catch (DirectoryNotFoundException)
        {
            return LogCursor.Start;
        }

        return TryParseVersion2(bytes, out var cursor, out _) || TryParseVersion1(bytes, out cursor) ? cursor : LogCursor.Start;
    }

    /// <summary>
    /// Opens a container's cursor file for in-place saves, starting from the cursor saved so far (rewritten as a fresh
    /// version-2 file: tmp, fsync, rename). One writer per container; dispose it to sync and close.
    /// </summary>
    public CursorFile Open(string containerId)
    {
        var path = PathOf(containerId);
        var cursor = Load(containerId);
        var tmp = path + ".tmp";
        var image = new byte[2 * SlotSize];
        WriteSlot(image, 1, cursor);
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.None))
        {
            file.Write(image);
            file.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        return new CursorFile(handle, cursor, _syncInterval, _time);
    }

    /// <summary>Saves a cursor once, synced (tmp, fsync, rename); readers use <see cref="Open"/> instead.</summary>
    public void Save(string containerId, LogCursor cursor)
    {
        using var file = Open(containerId);
        file.Save(cursor);
    }

    /// <summary>Container ids that have a cursor file.</summary>
    public IReadOnlyList<string> List()
    {
        var ids = new List<string>();
        foreach (var file in Directory.EnumerateFiles(_directory, "*.cursor"))
        {
            ids.Add(Path.GetFileNameWithoutExtension(file));
        }

        return ids;
    }

    /// <summary>Forgets a container that no longer exists.</summary>
    public void Delete(string containerId) => File.Delete(PathOf(containerId));

    /// <summary>Writes a slot image (record at the start of a 512-byte slot) into <paramref name="slot"/>.</summary>
    internal static void WriteSlot(Span<byte> slot, long generation, LogCursor cursor)
    {
        "FLC2"u8.CopyTo(slot);
        BinaryPrimitives.WriteInt64LittleEndian(slot[4..], generation);
        BinaryPrimitives.WriteInt64LittleEndian(slot[12..], cursor.TimestampTicks);
        BinaryPrimitives.WriteInt32LittleEndian(slot[20..], cursor.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[24..], Checksum(slot[..24]));
    }

    private static bool TryParseVersion2(ReadOnlySpan<byte> bytes, out LogCursor cursor, out long generation)
    {
        cursor = LogCursor.Start;
        generation = 0;
        bool found = false;
        for (int offset = 0; offset + RecordSize <= bytes.Length && offset < 2 * SlotSize; offset += SlotSize)
        {
            var slot = bytes.Slice(offset, RecordSize);
            if (!slot.StartsWith("FLC2"u8) || BinaryPrimitives.ReadUInt32LittleEndian(slot[24..]) != Checksum(slot[..24]))
            {
                continue;
            }

            long g = BinaryPrimitives.ReadInt64LittleEndian(slot[4..]);
            int count = BinaryPrimitives.ReadInt32LittleEndian(slot[20..]);
            if (count < 0 || (found && g <= generation))
            {
                continue;
            }

            found = true;
            generation = g;
            cursor = new LogCursor(BinaryPrimitives.ReadInt64LittleEndian(slot[12..]), count);
        }

        return found;
    }

    private static bool TryParseVersion1(byte[] bytes, out LogCursor cursor)
    {
        cursor = LogCursor.Start;
        var parts = Encoding.ASCII.GetString(bytes).Trim().Split(' ');
        if (parts.Length == 3 && parts[0] == "v1"
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            cursor = new LogCursor(ticks, count);
            return true;
        }

        return false;
    }

    /// <summary>CRC-32C (the instruction where the CPU has it) of a slot's fields.</summary>
    private static uint Checksum(ReadOnlySpan<byte> fields)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in fields)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    private string PathOf(string containerId)
    {
        // Container ids are 64 hex digits; anything else is refused rather than used as a path.
        foreach (var c in containerId)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                throw new ArgumentException($"not a container id: {containerId}", nameof(containerId));
            }
        }

        return Path.Combine(_directory, containerId + ".cursor");
    }

    /// <summary>One container's open cursor file. Single writer (the container's reader).</summary>
    public sealed class CursorFile : IDisposable
    {
        private readonly SafeFileHandle _handle;
        private readonly TimeSpan _syncInterval;
        private readonly TimeProvider _time;
        private readonly byte[] _slot = new byte[RecordSize];
        private long _generation = 1;
        private long _lastSync;
        private bool _dirty;

        internal CursorFile(SafeFileHandle handle, LogCursor cursor, TimeSpan syncInterval, TimeProvider time)
        {
            _handle = handle;
            Cursor = cursor;
            _syncInterval = syncInterval;
            _time = time;
            _lastSync = time.GetTimestamp();
        }

        /// <summary>The cursor saved last (or loaded).</summary>
        public LogCursor Cursor { get; private set; }

        /// <summary>Saves in place (the slot not holding the newest cursor); fsyncs when the sync interval has passed.</summary>
        /// <exception cref="IOException">The write failed; the previous cursor stays.</exception>
        public void Save(LogCursor cursor)
        {
            _generation++;
            WriteSlot(_slot, _generation, cursor);
            RandomAccess.Write(_handle, _slot, (_generation % 2) * SlotSize);
            Cursor = cursor;
            _dirty = true;
            if (_time.GetElapsedTime(_lastSync) >= _syncInterval)
            {
                Sync();
            }
        }

        /// <summary>fsyncs what was saved.</summary>
        public void Sync()
        {
            if (_dirty)
            {
                RandomAccess.FlushToDisk(_handle);
                _dirty = false;
            }

            _lastSync = _time.GetTimestamp();
        }

        /// <summary>Syncs and closes.</summary>
        public void Dispose()
        {
            if (_handle.IsClosed)
            {
                return;
            }

            try
            {
                Sync();
            }
            catch (IOException)
            {
                // The cursor on disk is then an older one: those lines are captured again (duplicates, not a gap).
            }

            _handle.Dispose();
        }
    }
}
