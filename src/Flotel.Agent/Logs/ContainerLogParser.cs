using System.Buffers;
using System.Globalization;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Logs;

/// <summary>
/// Turns the entries of one container's log into lines — frames of libpod's log stream (<c>Accept</c>) or lines of
/// conmon's k8s-file (<see cref="AcceptFileEntry"/>): strips the timestamp, joins partial entries (conmon
/// splits long lines; a frame without a trailing LF, or a <c>P</c> entry, continues in the next entry of the same
/// stream), skips what a previous run already took (<see cref="LogCursor"/>) and tracks the cursor to save.
/// </summary>
/// <remarks>
/// The cursor to save is <see cref="SafeCursor"/>: the position after the last frame at which no partial line was
/// pending, so resuming there never cuts a line in two. Frames are counted per timestamp over both streams, in the
/// order the log file holds them, which is the order every read of the same log returns.
/// </remarks>
public sealed class ContainerLogParser
{
    /// <summary>Longest timestamp prefix accepted (RFC 3339 with nanoseconds and an offset is 35 bytes).</summary>
    private const int MaxTimestampBytes = 40;

    private readonly LogCursor _resume;
    private readonly int _maxLineBytes;
    private readonly ArrayBufferWriter<byte>[] _lines = [new(256), new(256)];
    private readonly long[] _lineTicks = new long[2];
    private readonly bool[] _pending = new bool[2];
    private readonly bool[] _truncating = new bool[2];
    private readonly byte[] _lastStamp = new byte[MaxTimestampBytes];
    private byte[] _scratch = new byte[256];
    private int _lastStampLength;
    private long _lastTicks;
    private int _seenAtResume;
    private LogCursor _position;

    /// <param name="resume">Where the previous run stopped: entries up to it are skipped.</param>
    /// <param name="maxLineBytes">Longer lines are cut to this size and counted in <see cref="TruncatedLines"/>.</param>
    public ContainerLogParser(LogCursor resume, int maxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _resume = resume;
        _position = resume;
        SafeCursor = resume;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>The cursor to save: every line up to it has been returned, and no line straddles it.</summary>
    public LogCursor SafeCursor { get; private set; }

    /// <summary>Entries skipped because a previous run already took them.</summary>
    public long SkippedEntries { get; private set; }

    /// <summary>Lines cut to the maximum line size.</summary>
    public long TruncatedLines { get; private set; }

    /// <summary>Entries without a readable timestamp (kept; the cursor cannot count them).</summary>
    public long UntimedEntries { get; private set; }

    /// <summary><c>k8s-file</c> entries that are not conmon's format (skipped).</summary>
    public long MalformedEntries { get; private set; }

    /// <summary>
    /// Takes one frame; returns true when it completes a line, given in <paramref name="message"/> (valid until the next
    /// call) with its stream and the timestamp of its first entry (UTC ticks).
    /// </summary>
    public bool Accept(PodmanStream stream, ReadOnlySequence<byte> payload, out PodmanStream lineStream, out long lineTicks, out ReadOnlySpan<byte> message)
    {
        if (payload.IsSingleSegment)
        {
            return Accept(stream, payload.FirstSpan, out lineStream, out lineTicks, out message);
        }

        // A frame split across the reader's buffers (rare): parse a copy.
        if (_scratch.Length < payload.Length)
        {
            _scratch = new byte[Math.Max((int)payload.Length, _scratch.Length * 2)];
        }

        payload.CopyTo(_scratch);
        return Accept(stream, _scratch.AsSpan(0, (int)payload.Length), out lineStream, out lineTicks, out message);
    }

    /// <summary>
    /// Takes one frame's payload; returns true when it completes a line, given in <paramref name="message"/> (valid until
    /// the next call, and only while <paramref name="payload"/> is) with its stream and the timestamp of its first entry.
    /// </summary>
    public bool Accept(PodmanStream stream, ReadOnlySpan<byte> payload, out PodmanStream lineStream, out long lineTicks, out ReadOnlySpan<byte> message)
    {
        lineStream = stream;
        lineTicks = 0;
        message = default;
        if (stream == PodmanStream.Stdin)
        {
            return false;
        }

        bool timed = TryReadTimestamp(ref payload, out long ticks);
        if (!Position(timed, ref ticks))
        {
            return false;
        }

        bool complete = payload.Length > 0 && payload[^1] == (byte)'\n';
        if (complete)
        {
            payload = payload[..^1];
        }

        return Take(stream, ticks, payload, complete, out lineTicks, out message);
    }

    /// <summary>
    /// Takes one entry of a conmon <c>k8s-file</c> log (one line of the file, without its LF; see
    /// <see cref="ConmonLogFile"/>); returns true when it completes a line, as <c>Accept</c> does for a frame.
    /// The line's time keeps the entry's precision; the cursor counts entries per whole second, as libpod's API stamps
    /// them, so a cursor saved while following the file resumes exactly on either path.
    /// </summary>
    /// <remarks>Entry layout (CRI logging format, conmon <c>write_k8s_log</c>):
    /// <c>RFC3339Nano-with-offset SP ("stdout" | "stderr") SP tag SP content</c>, tag <c>F</c> (the line ends here) or
    /// <c>P</c> (partial: conmon split the line, the next entry of the stream continues it). Entries that do not have
    /// this shape are counted in <see cref="MalformedEntries"/> and skipped (they do not move the cursor).</remarks>
    public bool AcceptFileEntry(ReadOnlySpan<byte> entry, out PodmanStream lineStream, out long lineTicks, out ReadOnlySpan<byte> message)
    {
        lineStream = PodmanStream.Stdout;
        lineTicks = 0;
        message = default;
        int space = entry[..Math.Min(entry.Length, MaxTimestampBytes + 1)].IndexOf((byte)' ');
        if (space <= 0 || !TryParseFileTimestamp(entry[..space], out long preciseTicks))
        {
            MalformedEntries++;
            return false;
        }

        var rest = entry[(space + 1)..];
        if (rest.StartsWith("stdout "u8))
        {
            lineStream = PodmanStream.Stdout;
        }
        else if (rest.StartsWith("stderr "u8))
        {
            lineStream = PodmanStream.Stderr;
        }
        else
        {
            MalformedEntries++;
            return false;
        }

        // The tag may carry more ':'-separated fields after P or F (CRI); only the first one is defined.
        rest = rest[7..];
        int tagEnd = rest.IndexOf((byte)' ');
        var tag = tagEnd < 0 ? rest : rest[..tagEnd];
        if (tag.Length == 0 || (tag[0] != (byte)'F' && tag[0] != (byte)'P') || (tag.Length > 1 && tag[1] != (byte)':'))
        {
            MalformedEntries++;
            return false;
        }

        long second = preciseTicks - (preciseTicks % TimeSpan.TicksPerSecond);
        if (!Position(timed: true, ref second))
        {
            return false;
        }

        var content = tagEnd < 0 ? default : rest[(tagEnd + 1)..];
        return Take(lineStream, preciseTicks, content, complete: tag[0] == (byte)'F', out lineTicks, out message);
    }

    /// <summary>
    /// Moves the position past one entry stamped <paramref name="ticks"/> (the cursor's unit); false when a previous run
    /// already took it. An untimed entry gets the position's time.
    /// </summary>
    private bool Position(bool timed, ref long ticks)
    {
        if (!timed)
        {
            UntimedEntries++;
            ticks = _position.TimestampTicks;
            return true;
        }

        if (ticks < _resume.TimestampTicks || (ticks == _resume.TimestampTicks && _seenAtResume < _resume.Count))
        {
            if (ticks == _resume.TimestampTicks)
            {
                _seenAtResume++;
            }

            SkippedEntries++;
            return false;
        }

        _position = _position.Advance(ticks);
        return true;
    }

    /// <summary>Joins one entry's content into its stream's line; true with the line when the entry completes it.</summary>
    private bool Take(PodmanStream stream, long ticks, ReadOnlySpan<byte> payload, bool complete, out long lineTicks, out ReadOnlySpan<byte> message)
    {
        lineTicks = 0;
        message = default;
        int s = stream == PodmanStream.Stdout ? 0 : 1;
        if (complete && !_pending[s])
        {
            // The common case, a whole line in one frame: hand out the payload itself, no copy.
            bool cut = payload.Length > _maxLineBytes;
            if (cut)
            {
                payload = payload[.._maxLineBytes];
                TruncatedLines++;
            }

            if (!_pending[1 - s])
            {
                SafeCursor = _position;
            }

            lineTicks = ticks;
            message = payload;
            return true;
        }

        var line = _lines[s];
        if (!_pending[s])
        {
            line.ResetWrittenCount();
            _truncating[s] = false;
            _lineTicks[s] = ticks;
        }

        int room = _maxLineBytes - line.WrittenCount;
        if (payload.Length > room)
        {
            payload = payload[..room];
            _truncating[s] = true;
        }

        line.Write(payload);
        if (!complete)
        {
            _pending[s] = true;
            return false;
        }

        _pending[s] = false;
        if (_truncating[s])
        {
            TruncatedLines++;
        }

        if (!_pending[0] && !_pending[1])
        {
            SafeCursor = _position;
        }

        lineTicks = _lineTicks[s];
        message = line.WrittenSpan;
        return true;
    }

    /// <summary>
    /// conmon's timestamp, <c>YYYY-MM-DDTHH:MM:SS.NNNNNNNNN±HH:MM</c> (local time with its offset) or with <c>Z</c>, to
    /// UTC ticks (100 ns: the last two digits of the nanoseconds are dropped). conmon stamps every line of one read of
    /// the container's output alike, so the last stamp parsed is remembered and compared first.
    /// </summary>
    private bool TryParseFileTimestamp(ReadOnlySpan<byte> stamp, out long ticks)
    {
        if (stamp.SequenceEqual(_lastStamp.AsSpan(0, _lastStampLength)))
        {
            ticks = _lastTicks;
            return true;
        }

        if (!TryParseRfc3339(stamp, out ticks))
        {
            return false;
        }

        stamp.CopyTo(_lastStamp);
        _lastStampLength = stamp.Length;
        _lastTicks = ticks;
        return true;
    }

    /// <summary>RFC 3339 §5.6 <c>date-time</c> with an optional fraction of up to 9 digits, to UTC ticks.</summary>
    internal static bool TryParseRfc3339(ReadOnlySpan<byte> s, out long ticks)
    {
        ticks = 0;
        if (s.Length < 20 || s.Length > MaxTimestampBytes || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        if (!Digits(s[..4], out int year) || !Digits(s[5..7], out int month) || !Digits(s[8..10], out int day)
            || !Digits(s[11..13], out int hour) || !Digits(s[14..16], out int minute) || !Digits(s[17..19], out int second))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        int i = 19;
        long fraction = 0;
        if (s[i] == '.')
        {
            int digits = 0;
            for (i++; i < s.Length && s[i] >= '0' && s[i] <= '9'; i++, digits++)
            {
                if (digits < 7)
                {
                    fraction = (fraction * 10) + (s[i] - '0');
                }
            }

            if (digits is 0 or > 9)
            {
                return false;
            }

            for (; digits < 7; digits++)
            {
                fraction *= 10;
            }
        }

        long offsetTicks;
        var zone = s[i..];
        if (zone.Length == 1 && (zone[0] == 'Z' || zone[0] == 'z'))
        {
            offsetTicks = 0;
        }
        else if (zone.Length == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':'
            && Digits(zone[1..3], out int oh) && Digits(zone[4..6], out int om) && oh <= 23 && om <= 59)
        {
            offsetTicks = ((oh * 60L) + om) * TimeSpan.TicksPerMinute * (zone[0] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        // A leap second (:60) is taken as the last tick of :59 plus one second, i.e. the next second's start.
        long local = new DateTime(year, month, day, hour, minute, 0, DateTimeKind.Unspecified).Ticks + (second * TimeSpan.TicksPerSecond) + fraction;
        ticks = local - offsetTicks;
        return ticks > 0 && ticks <= DateTime.MaxValue.Ticks;
    }

    private static bool Digits(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        foreach (byte b in s)
        {
            if (b < '0' || b > '9')
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    /// <summary>
    /// Reads and removes the <c>RFC3339 SP</c> prefix libpod adds with <c>timestamps=true</c>. libpod stamps whole
    /// seconds, so consecutive lines mostly share the prefix: the last one parsed is remembered and compared first.
    /// </summary>
    private bool TryReadTimestamp(ref ReadOnlySpan<byte> payload, out long ticks)
    {
        ticks = 0;
        var head = payload[..Math.Min(payload.Length, MaxTimestampBytes + 1)];
        int space = head.IndexOf((byte)' ');
        if (space <= 0)
        {
            return false;
        }

        var stamp = head[..space];
        if (stamp.SequenceEqual(_lastStamp.AsSpan(0, _lastStampLength)))
        {
            ticks = _lastTicks;
            payload = payload[(space + 1)..];
            return true;
        }

        Span<char> chars = stackalloc char[space];
        for (int i = 0; i < space; i++)
        {
            chars[i] = (char)stamp[i];
        }

        if (!DateTimeOffset.TryParse(chars, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return false;
        }

        ticks = time.UtcTicks;
        stamp.CopyTo(_lastStamp);
        _lastStampLength = space;
        _lastTicks = ticks;
        payload = payload[(space + 1)..];
        return true;
    }
}
