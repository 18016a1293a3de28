using System.Buffers;
using System.Globalization;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Logs;

/// <summary>
/// Turns the frames of one container's log stream into lines: strips libpod's timestamp prefix, joins partial entries
/// (conmon splits long lines; a frame without a trailing LF continues in the next frame of the same stream), skips what
/// a previous run already took (<see cref="LogCursor"/>) and tracks the cursor to save.
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

        int s = stream == PodmanStream.Stdout ? 0 : 1;
        bool timed = TryReadTimestamp(ref payload, out long ticks);
        if (!timed)
        {
            UntimedEntries++;
            ticks = _position.TimestampTicks;
        }
        else if (ticks < _resume.TimestampTicks || (ticks == _resume.TimestampTicks && _seenAtResume < _resume.Count))
        {
            if (ticks == _resume.TimestampTicks)
            {
                _seenAtResume++;
            }

            SkippedEntries++;
            return false;
        }
        else
        {
            _position = _position.Advance(ticks);
        }

        bool complete = payload.Length > 0 && payload[^1] == (byte)'\n';
        if (complete)
        {
            payload = payload[..^1];
        }

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
