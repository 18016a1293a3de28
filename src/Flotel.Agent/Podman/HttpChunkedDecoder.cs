using System.Buffers;

namespace Flotel.Agent.Podman;

/// <summary>
/// Decodes an HTTP/1.1 chunked message body (RFC 9112 §7.1) incrementally: bytes go in as they arrive from the socket,
/// the chunk data comes out. podman's API server flushes one chunk per log line, so a read of a follow log stream holds
/// many small chunks; decoding them in the read buffer itself costs one short move per chunk.
/// </summary>
/// <remarks>
/// <code>
///   chunked-body = *chunk last-chunk trailer-section CRLF
///   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///   last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// </code>
/// Chunk extensions and trailer fields are skipped (§7.1.1: unrecognized extensions are ignored; nothing here needs a
/// trailer). A bare LF is accepted where CRLF ends a line (§2.2). Anything else — a non-hex size, a size of 2^60 or more, a
/// size or extension line longer than <see cref="MaxLineBytes"/>, trailers longer than <see cref="MaxTrailerBytes"/>,
/// data not followed by CRLF — is <see cref="OperationStatus.InvalidData"/> with <see cref="Error"/> saying what.
/// </remarks>
public sealed class HttpChunkedDecoder
{
    /// <summary>Longest chunk-size line (size and extensions) accepted.</summary>
    public const int MaxLineBytes = 4096;

    /// <summary>Most trailer-section bytes accepted.</summary>
    public const int MaxTrailerBytes = 16 * 1024;

    private State _state = State.Size;
    private long _remaining;
    private int _digits;
    private int _lineBytes;
    private int _trailerBytes;

    private enum State
    {
        Size,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerLineStart,
        TrailerLine,
        FinalLf,
        Done,
        Invalid,
    }

    /// <summary>True once the last chunk and the trailer section were read: the body is complete.</summary>
    public bool IsDone => _state == State.Done;

    /// <summary>True while the decoder is inside a chunk or its framing (an end of input here truncates the body).</summary>
    public bool IsMidBody => _state is not (State.Done or State.Invalid);

    /// <summary>Why the input was refused (null while it is valid).</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/>. Both may be the same memory when
    /// <paramref name="destination"/> starts at or before <paramref name="source"/> (decoding in place): output never
    /// overtakes input.
    /// </summary>
    /// <returns>
    /// <see cref="OperationStatus.Done"/> when the body ended (bytes after it are not consumed);
    /// <see cref="OperationStatus.NeedMoreData"/> when all of <paramref name="source"/> was consumed;
    /// <see cref="OperationStatus.DestinationTooSmall"/> when <paramref name="destination"/> is full;
    /// <see cref="OperationStatus.InvalidData"/> when the encoding is broken (see <see cref="Error"/>; stays so).
    /// </returns>
    public OperationStatus Decode(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        consumed = 0;
        written = 0;
        while (true)
        {
            if (_state == State.Done)
            {
                return OperationStatus.Done;
            }

            if (_state == State.Invalid)
            {
                return OperationStatus.InvalidData;
            }

            if (_state == State.Data)
            {
                if (consumed == source.Length)
                {
                    return OperationStatus.NeedMoreData;
                }

                if (written == destination.Length)
                {
                    return OperationStatus.DestinationTooSmall;
                }

                int n = (int)Math.Min(_remaining, Math.Min(source.Length - consumed, destination.Length - written));

                source.Slice(consumed, n).CopyTo(destination[written..]);
                consumed += n;
                written += n;
                _remaining -= n;
                if (_remaining == 0)
                {
                    _state = State.DataCr;
                }

                continue;
            }

            if (consumed == source.Length)
            {
                return OperationStatus.NeedMoreData;
            }

            byte b = source[consumed++];
            switch (_state)
            {
                case State.Size:
                    if (++_lineBytes > MaxLineBytes)
                    {
                        return Fail("chunk-size line too long");
                    }

                    int digit = HexValue(b);
                    if (digit >= 0)
                    {
                        // 15 significant hex digits (below 2^60) are more than any chunk; more is garbage or an overflow attempt.
                        if (_remaining >= (1L << 56))
                        {
                            return Fail("chunk size too large");
                        }

                        _remaining = (_remaining << 4) | (uint)digit;
                        _digits++;
                    }
                    else if (_digits == 0)
                    {
                        return Fail($"chunk size expected, got byte 0x{b:x2}");
                    }
                    else if (b is (byte)';' or (byte)' ' or (byte)'\t')
                    {
                        _state = State.Extension;
                    }
                    else if (b == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (b == '\n')
                    {
                        EndSizeLine();
                    }
                    else
                    {
                        return Fail($"invalid byte 0x{b:x2} in chunk size");
                    }

                    break;

                case State.Extension:
                    if (++_lineBytes > MaxLineBytes)
                    {
                        return Fail("chunk extension too long");
                    }

                    if (b == '\r')
                    {
                        _state = State.SizeLf;
                    }
                    else if (b == '\n')
                    {
                        EndSizeLine();
                    }

                    break;

                case State.SizeLf:
                    if (b != '\n')
                    {
                        return Fail("chunk-size line not ended by CRLF");
                    }

                    EndSizeLine();
                    break;

                case State.DataCr:
                    if (b == '\r')
                    {
                        _state = State.DataLf;
                    }
                    else if (b == '\n')
                    {
                        NextChunk();
                    }
                    else
                    {
                        return Fail("chunk data not followed by CRLF (chunk longer than its size)");
                    }

                    break;

                case State.DataLf:
                    if (b != '\n')
                    {
                        return Fail("chunk data not followed by CRLF (chunk longer than its size)");
                    }

                    NextChunk();
                    break;

                case State.TrailerLineStart:
                case State.TrailerLine:
                    if (++_trailerBytes > MaxTrailerBytes)
                    {
                        return Fail("trailer section too long");
                    }

                    if (_state == State.TrailerLineStart && b == '\r')
                    {
                        _state = State.FinalLf;
                    }
                    else if (b == '\n')
                    {
                        // An empty line ends the body; a field line is skipped.
                        _state = _state == State.TrailerLineStart ? State.Done : State.TrailerLineStart;
                    }
                    else
                    {
                        _state = State.TrailerLine;
                    }

                    break;

                case State.FinalLf:
                    if (b != '\n')
                    {
                        return Fail("chunked body not ended by CRLF");
                    }

                    _state = State.Done;
                    break;
            }
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private void EndSizeLine()
    {
        _state = _remaining == 0 ? State.TrailerLineStart : State.Data;
    }

    private void NextChunk()
    {
        _state = State.Size;
        _remaining = 0;
        _digits = 0;
        _lineBytes = 0;
    }

    private OperationStatus Fail(string error)
    {
        Error = error;
        _state = State.Invalid;
        return OperationStatus.InvalidData;
    }
}
