using System.Buffers;
using System.Runtime.CompilerServices;

namespace Flotel.Wire.Syslog;

/// <summary>
/// Splits a syslog byte stream (TCP or TLS) into messages: RFC 6587 §3.4.1 octet counting and §3.4.2 LF framing,
/// mixed on one connection (architecture §5). One instance per connection: it carries the discard state of an
/// oversized frame across reads.
/// </summary>
/// <remarks>
/// <para>Wire forms, decided per frame by its first byte:</para>
/// <code>
///   octet counted:  MSG-LEN SP SYSLOG-MSG        MSG-LEN = NONZERO-DIGIT *8DIGIT (first byte '1'..'9')
///   LF framed:      SYSLOG-MSG [CR] LF           anything else; a trailing CR is stripped
/// </code>
/// <para>A line that starts with digits but whose digits are not followed by a space (<c>2022-05-12 foo</c>) is
/// LF framed — unlike Vector, which mis-frames it. A length of more than <see cref="MaxLengthDigits"/> digits is not
/// treated as a length either: such a line is LF framed, so a huge prefix like <c>99999999999999999999 </c> can never
/// make the framer wait for or skip an absurd number of bytes (the line is then kept as a parse failure).</para>
/// <para>Contract (Kestrel style, style.md rule 7): <see cref="TryReadFrame"/> returns false and consumes nothing
/// when the next frame is incomplete — except bytes of an oversized frame being discarded, which are consumed
/// (and counted) as they arrive so a connection never buffers more than about <c>max_frame_bytes</c>.</para>
/// <para>Returned frames are slices of the reader's sequence: valid until the caller advances its pipe.</para>
/// </remarks>
public sealed class SyslogFramer
{
    /// <summary>
    /// Default <c>max_frame_bytes</c>: 256 KiB. Above rsyslog's imtcp default (200,000 bytes) and Vector's 100 KiB,
    /// so whatever those accept is accepted here, while bounding what one connection can make the gateway hold.
    /// </summary>
    public const int DefaultMaxFrameBytes = 256 * 1024;

    /// <summary>
    /// At most 9 digits in an octet-count length (up to 999,999,999 bytes): rsyslog's hard ceiling for
    /// <c>MaxFrameSize</c> is 200,000,000, so a longer number is not a length but text.
    /// </summary>
    public const int MaxLengthDigits = 9;

    private const byte Lf = (byte)'\n';
    private const byte Cr = (byte)'\r';
    private const byte Sp = (byte)' ';

    private readonly int _maxFrameBytes;

    // Bytes of an oversized octet-counted frame still to skip (written and read only by TryRead).
    private long _discardRemaining;

    // True while an oversized LF frame is skipped up to its LF (written and read only by TryRead).
    private bool _discardToLf;

    /// <summary>Creates a framer for one connection.</summary>
    /// <param name="maxFrameBytes">Largest message accepted; longer frames are discarded and counted.</param>
    public SyslogFramer(int maxFrameBytes = DefaultMaxFrameBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 1);
        _maxFrameBytes = maxFrameBytes;
    }

    /// <summary>The configured <c>max_frame_bytes</c>.</summary>
    public int MaxFrameBytes => _maxFrameBytes;

    /// <summary>Frames discarded because they were longer than <see cref="MaxFrameBytes"/> (the stream survives).</summary>
    public long DiscardedFrames => DiscardedOversizedLines + DiscardedOversizedOctetFrames;

    /// <summary>LF-framed lines discarded for being longer than <see cref="MaxFrameBytes"/> (reason <see cref="SyslogFrameError.OversizedLine"/>).</summary>
    public long DiscardedOversizedLines { get; private set; }

    /// <summary>Octet-counted frames discarded for declaring more than <see cref="MaxFrameBytes"/> (reason <see cref="SyslogFrameError.OversizedOctetCountedFrame"/>).</summary>
    public long DiscardedOversizedOctetFrames { get; private set; }

    /// <summary>Why the most recent frame was discarded (<see cref="SyslogFrameError.None"/> when none was).</summary>
    public SyslogFrameError LastError { get; private set; }

    /// <summary>Bytes skipped by discarded frames (length prefixes and line ends not included).</summary>
    public long DiscardedBytes { get; private set; }

    /// <summary>True while the framer is skipping the rest of an oversized frame.</summary>
    public bool IsDiscarding => _discardRemaining > 0 || _discardToLf;

    /// <summary>
    /// Reads the next complete frame. Returns false when more bytes are needed; then nothing was consumed
    /// except bytes of an oversized frame being discarded.
    /// </summary>
    public bool TryReadFrame(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame) =>
        TryRead(ref reader, isCompleted: false, out frame);

    /// <summary>
    /// Reads the next frame once the stream has ended (EOF): like <see cref="TryReadFrame"/>, but the final
    /// unterminated line — or the truncated body of an incomplete octet-counted frame — is delivered too.
    /// Call it until it returns false; everything has then been consumed.
    /// </summary>
    public bool TryReadFinalFrame(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> frame)
    {
        if (TryRead(ref reader, isCompleted: true, out frame))
        {
            return true;
        }

        // Whatever is left cannot form a frame (blank bytes, or the tail of a discarded frame).
        reader.AdvanceToEnd();
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryRead(ref SequenceReader<byte> reader, bool isCompleted, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        long rewindTo = reader.Consumed;
        while (true)
        {
            long beforeSkip = reader.Consumed;
            bool skipped = SkipDiscarded(ref reader);
            if (reader.Consumed != beforeSkip)
            {
                // Skipped bytes of a discarded frame stay consumed.
                rewindTo = reader.Consumed;
            }

            if (!skipped)
            {
                return false;
            }

            if (!reader.TryPeek(out byte first))
            {
                reader.Rewind(reader.Consumed - rewindTo);
                return false;
            }

            FrameStep step = first is >= (byte)'1' and <= (byte)'9'
                ? ReadOctetCounted(ref reader, isCompleted, out frame)
                : FrameStep.NotOctetCounted;
            if (step == FrameStep.NotOctetCounted)
            {
                step = ReadLine(ref reader, isCompleted, out frame);
            }

            switch (step)
            {
                case FrameStep.Frame:
                    return true;
                case FrameStep.Incomplete:
                    reader.Rewind(reader.Consumed - rewindTo);
                    return false;
                case FrameStep.Discarded:
                    // Discarding cannot be undone: what was skipped stays consumed.
                    rewindTo = reader.Consumed;
                    break;
                default: // Blank: skipped, but still rewound if the next frame turns out incomplete.
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool SkipDiscarded(ref SequenceReader<byte> reader)
    {
        if (_discardRemaining > 0)
        {
            long n = Math.Min(_discardRemaining, reader.Remaining);
            reader.Advance(n);
            _discardRemaining -= n;
            DiscardedBytes += n;
            if (_discardRemaining > 0)
            {
                return false;
            }
        }

        if (_discardToLf)
        {
            long before = reader.Consumed;
            if (!reader.TryAdvanceTo(Lf, advancePastDelimiter: true))
            {
                DiscardedBytes += reader.Remaining;
                reader.AdvanceToEnd();
                return false;
            }

            DiscardedBytes += reader.Consumed - before - 1;
            _discardToLf = false;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private FrameStep ReadOctetCounted(ref SequenceReader<byte> reader, bool isCompleted, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        var probe = reader;
        long length = 0;
        int digits = 0;
        while (true)
        {
            if (!probe.TryRead(out byte b))
            {
                // Only digits so far: a length still arriving, unless the stream ended (then it is a text line).
                return isCompleted ? FrameStep.NotOctetCounted : FrameStep.Incomplete;
            }

            if (b == Sp && digits > 0)
            {
                break;
            }

            if (b is < (byte)'0' or > (byte)'9' || digits == MaxLengthDigits)
            {
                return FrameStep.NotOctetCounted;
            }

            length = (length * 10) + (b - '0');
            digits++;
        }

        if (length > _maxFrameBytes)
        {
            reader.Advance(digits + 1);
            _discardRemaining = length;
            DiscardedOversizedOctetFrames++;
            LastError = SyslogFrameError.OversizedOctetCountedFrame;
            return FrameStep.Discarded;
        }

        if (probe.Remaining >= length)
        {
            frame = probe.UnreadSequence.Slice(0, length);
            reader.Advance(digits + 1 + length);
            return FrameStep.Frame;
        }

        if (isCompleted && probe.Remaining > 0)
        {
            // The peer closed mid-frame: deliver the truncated message rather than lose it.
            frame = probe.UnreadSequence;
            reader.AdvanceToEnd();
            return FrameStep.Frame;
        }

        return FrameStep.Incomplete;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private FrameStep ReadLine(ref SequenceReader<byte> reader, bool isCompleted, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        ReadOnlySequence<byte> unread = reader.UnreadSequence;

        // Cap the search (Kestrel: cap the input before parsing): content, an optional CR, the LF.
        long window = Math.Min(unread.Length, (long)_maxFrameBytes + 2);
        SequencePosition? lf = unread.Slice(0, window).PositionOf(Lf);
        ReadOnlySequence<byte> line;
        if (lf is { } lfPosition)
        {
            line = unread.Slice(0, lfPosition);
            reader.Advance(line.Length + 1);
        }
        else if (window == (long)_maxFrameBytes + 2)
        {
            // No LF within max + 2 bytes: the line is oversized whatever follows; skip it up to its LF.
            DiscardedOversizedLines++;
            LastError = SyslogFrameError.OversizedLine;
            _discardToLf = true;
            return FrameStep.Discarded;
        }
        else if (isCompleted)
        {
            line = unread;
            reader.AdvanceToEnd();
        }
        else
        {
            return FrameStep.Incomplete;
        }

        if (line.Length > 0 && EndsWithCr(line))
        {
            line = line.Slice(0, line.Length - 1);
        }

        if (line.Length > _maxFrameBytes)
        {
            DiscardedOversizedLines++;
            LastError = SyslogFrameError.OversizedLine;
            DiscardedBytes += line.Length;
            return FrameStep.Discarded;
        }

        if (IsBlank(line))
        {
            return FrameStep.Blank;
        }

        frame = line;
        return FrameStep.Frame;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool EndsWithCr(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment)
        {
            return line.FirstSpan[^1] == Cr;
        }

        return line.Slice(line.Length - 1).FirstSpan[0] == Cr;
    }

    // Blank = only spaces, tabs and CRs (Flotta sends "msg\n\n"; an empty frame is no message).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsBlank(in ReadOnlySequence<byte> line)
    {
        foreach (ReadOnlyMemory<byte> segment in line)
        {
            if (segment.Span.ContainsAnyExcept((byte)' ', (byte)'\t', Cr))
            {
                return false;
            }
        }

        return true;
    }

    private enum FrameStep
    {
        Frame,
        Incomplete,
        Blank,
        Discarded,
        NotOctetCounted,
    }
}
