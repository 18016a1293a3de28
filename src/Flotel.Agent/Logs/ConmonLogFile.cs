using Microsoft.Win32.SafeHandles;

namespace Flotel.Agent.Logs;

/// <summary>
/// Follows one container's <c>k8s-file</c> log, the file conmon writes the container's output to: hands out its
/// complete entries (lines) in order, across conmon's rotations and truncations, without going through podman. Reads
/// with positional reads into one bounded buffer; never blocks (the caller polls when <see cref="Fill"/> finds nothing).
/// </summary>
/// <remarks>
/// <para>What conmon does to the file (conmon <c>src/ctr_logging.c</c>): it opens the path with <c>O_APPEND</c> (a
/// restarted container appends to the same file) and writes each read of the container's output with one
/// <c>writev</c>, so the file's last line can be torn (no LF yet) until the rest lands: entries are handed out only up
/// to their LF. With a size limit (<c>log_size_max</c> in containers.conf, <c>--log-opt max-size</c>), before a write
/// that would pass it conmon fsyncs and closes the file, creates <c>PATH.tmp</c> empty and renames it over the path:
/// the old file is complete, its content is gone from the path, the new file starts empty. Nothing else truncates it;
/// a truncation in place (an outside <c>copytruncate</c>) is recognized by the file being shorter than the position.</para>
/// <para>How a replacement is recognized without an inode API: <c>/proc/self/fd/N</c> names the file the handle has
/// open; after a rename over the path (or the container's removal) it reads <c>PATH (deleted)</c>, after a rename of
/// the file elsewhere the new name. At the end of the data the handle is checked; when it no longer names what it named
/// when opened, the old file is read to its end (its writer closed it before the rename) and the path opened again from
/// its start. Where <c>/proc</c> is missing only truncations are recognized.</para>
/// <para>Limits: an entry longer than the buffer (conmon writes at most its 8 KiB read buffer per entry, so only a
/// foreign writer does this) is skipped up to its LF and counted in <see cref="OversizedEntries"/>.</para>
/// </remarks>
public sealed class ConmonLogFile : IDisposable
{
    /// <summary>The default buffer: 8 times conmon's longest entry.</summary>
    public const int DefaultBufferBytes = 64 * 1024;

    private readonly string _path;
    private readonly byte[] _buffer;
    private SafeFileHandle _handle;
    private string? _identity;
    private long _offset;
    private int _start;
    private int _end;
    private bool _discarding;

    /// <summary>The last read returned less than it asked for: it reached the end of the data written so far.</summary>
    private bool _shortRead;

    /// <summary>Data arrived since the end of the data was last checked for a truncation or a replacement.</summary>
    private bool _grewSinceCheck;

    private ConmonLogFile(string path, SafeFileHandle handle, int bufferBytes)
    {
        _path = path;
        _handle = handle;
        _identity = IdentityOf(handle);
        _buffer = new byte[bufferBytes];
    }

    /// <summary>The file's path.</summary>
    public string Path => _path;

    /// <summary>Times the file at the path was replaced (conmon's rotation) and followed from the new file's start.</summary>
    public long Rotations { get; private set; }

    /// <summary>Times the file was found shorter than what was read (truncated in place) and read again from its start.</summary>
    public long Truncations { get; private set; }

    /// <summary>Entries longer than the buffer, skipped.</summary>
    public long OversizedEntries { get; private set; }

    /// <summary>Opens the file at <paramref name="path"/> from its start.</summary>
    /// <exception cref="IOException">It cannot be opened (missing: <see cref="FileNotFoundException"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">The agent may not read it.</exception>
    public static ConmonLogFile Open(string path, int bufferBytes = DefaultBufferBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 64);
        return new ConmonLogFile(path, OpenHandle(path), bufferBytes);
    }

    /// <summary>
    /// The next complete entry in the buffer, without its LF (valid until the next <see cref="Fill"/>); false when the
    /// buffer holds none (call <see cref="Fill"/>).
    /// </summary>
    public bool TryReadEntry(out ReadOnlySpan<byte> entry)
    {
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            int lf = pending.IndexOf((byte)'\n');
            if (lf < 0)
            {
                entry = default;
                if (_discarding)
                {
                    _start = _end;
                }

                return false;
            }

            _start += lf + 1;
            if (_discarding)
            {
                // The end of an oversized entry: the next one starts after it.
                _discarding = false;
                continue;
            }

            entry = pending[..lf];
            return true;
        }
    }

    /// <summary>
    /// Reads what was written since the last read into the buffer; false when there was nothing new or the previous read
    /// already reached the end of the data (then the caller waits before calling again: one read per poll while the file
    /// grows). When a poll finds nothing new, checks for a truncation or a replacement of the file and follows it.
    /// </summary>
    /// <exception cref="IOException">Reading failed, or the path's new file cannot be opened.</exception>
    public bool Fill()
    {
        // Keep the unread tail (a torn entry) at the start of the buffer, where the read continues it.
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // An entry longer than the buffer: dropped up to its LF, which a later read brings.
            OversizedEntries++;
            _discarding = true;
            _end = 0;
        }

        if (_shortRead)
        {
            // The previous read reached the end: report nothing new now rather than read again at once (one read per poll).
            _shortRead = false;
            return false;
        }

        var space = _buffer.AsSpan(_end);
        int n = RandomAccess.Read(_handle, space, _offset);
        if (n > 0)
        {
            _offset += n;
            _end += n;
            _shortRead = n < space.Length;
            _grewSinceCheck = true;
            return true;
        }

        if (_grewSinceCheck)
        {
            // The file grew since the last check: its writer still writes it, so it was neither replaced nor truncated
            // before that data. The checks (an fstat and a /proc look-up, which cost more than the read) wait for a poll
            // that finds nothing new; a rotation is then followed one poll later, never missed: the old file stops growing.
            _grewSinceCheck = false;
            return false;
        }

        if (RandomAccess.GetLength(_handle) < _offset)
        {
            // Truncated in place: what is there now was written after the truncation. A torn entry before it is gone.
            Truncations++;
            _offset = 0;
            _start = _end = 0;
            _discarding = false;
            _shortRead = false;
            return true;
        }

        // Unknown now (a transient failure) counts as unchanged: reading the path again from its start would repeat lines.
        var identity = _identity is null ? null : IdentityOf(_handle);
        if (identity is null || string.Equals(identity, _identity, StringComparison.Ordinal))
        {
            return false;
        }

        // Replaced: the old file was closed by its writer before the rename; read what landed after the read above.
        n = RandomAccess.Read(_handle, _buffer.AsSpan(_end), _offset);
        if (n > 0)
        {
            _offset += n;
            _end += n;
            _grewSinceCheck = true;
            return true;
        }

        SafeFileHandle next;
        try
        {
            next = OpenHandle(_path);
        }
        catch (FileNotFoundException)
        {
            // The container was removed (its reader is stopped soon) or the rename has not happened yet: look again later.
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }

        _handle.Dispose();
        _handle = next;
        _identity = IdentityOf(next);
        Rotations++;
        _offset = 0;
        _start = _end = 0;
        _discarding = false;
        _shortRead = false;
        return true;
    }

    public void Dispose() => _handle.Dispose();

    private static SafeFileHandle OpenHandle(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>What <c>/proc/self/fd/N</c> says the handle has open, or null where that cannot be read.</summary>
    private static string? IdentityOf(SafeFileHandle handle)
    {
        try
        {
            var fd = handle.DangerousGetHandle().ToInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new FileInfo("/proc/self/fd/" + fd).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
