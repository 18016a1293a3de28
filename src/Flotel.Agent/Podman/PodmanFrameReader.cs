using System.Buffers;
using System.Buffers.Binary;

namespace Flotel.Agent.Podman;

/// <summary>
/// Reads the multiplexed frames of libpod's <c>/containers/{id}/logs</c> stream (the Docker attach protocol, used for
/// containers without a TTY).
/// </summary>
/// <remarks>
/// <code>
///   +--------+-----------+---------------------------+----------------------------------------------+
///   | stream | 0  0  0   | u32 big-endian length     | payload: [RFC3339 timestamp SP] text [LF]    |
///   +--------+-----------+---------------------------+----------------------------------------------+
///     1 byte   3 bytes     4 bytes                     length bytes; no LF = a partial line that the
///                                                      next frame of the same stream continues
/// </code>
/// Contract (style.md rule 7): <see cref="TryRead"/> returns false and consumes nothing when the frame is incomplete;
/// a malformed header also returns false, consumes nothing and sets the reason (the caller drops the stream).
/// </remarks>
public static class PodmanFrameReader
{
    /// <summary>Header size: stream byte, three zero bytes, big-endian payload length.</summary>
    public const int HeaderSize = 8;

    /// <summary>
    /// Largest payload accepted: 1 MiB. conmon splits container output into log entries of at most 8 KiB (longer
    /// lines become partial entries), so a legitimate frame is far smaller; a larger length means the stream is
    /// out of step and would make the reader buffer garbage.
    /// </summary>
    public const int MaxFrameBytes = 1 << 20;

    /// <summary>Reads one frame. The payload is a slice of the reader's sequence, valid until the caller advances its buffer.</summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out PodmanStream stream, out ReadOnlySequence<byte> payload, out PodmanFrameError error)
    {
        stream = default;
        payload = default;
        error = PodmanFrameError.None;
        Span<byte> header = stackalloc byte[HeaderSize];
        if (!reader.TryCopyTo(header))
        {
            return false;
        }

        if (header[0] > (byte)PodmanStream.Stderr)
        {
            error = PodmanFrameError.UnknownStream;
            return false;
        }

        if (header[1] != 0 || header[2] != 0 || header[3] != 0)
        {
            error = PodmanFrameError.NonZeroPadding;
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (length > MaxFrameBytes)
        {
            error = PodmanFrameError.Oversized;
            return false;
        }

        if (reader.Remaining < HeaderSize + length)
        {
            return false;
        }

        reader.Advance(HeaderSize);
        payload = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length);
        stream = (PodmanStream)header[0];
        return true;
    }
}
