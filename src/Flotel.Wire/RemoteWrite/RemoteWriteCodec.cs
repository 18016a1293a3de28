using System.Buffers;
using System.Globalization;
using Snappier;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Remote-write 1.0 HTTP bodies: snappy block format (never framed, spec 1.0) around the protobuf handled by
/// <see cref="WriteRequestDecoder"/> / <see cref="WriteRequestEncoder"/>.
/// <code>
/// body = varint(uncompressed length, ≤ 2^32-1, ≤ 5 bytes) · snappy elements
///        element = literal (tag + ≤ 2^32 bytes) | copy-1 (2 bytes → 4..11) | copy-2 (3 → 1..64) | copy-4 (5 → 1..64)
/// </code>
/// Order of checks, all before any allocation: compressed size ≤ limit (413); the preamble parses (400);
/// declared length ≤ limit (413); declared length ≤ what the body could possibly expand to (400). Only then
/// is a buffer rented from the shared pool and the block decompressed.
/// </summary>
public static class RemoteWriteCodec
{
    /// <summary>
    /// Most output bytes one input byte of snappy elements can produce: a copy with 2-byte offset is 3 bytes
    /// for at most 64 bytes (snappy format_description.txt §2.2). A longer declared length is a lie (a "bomb").
    /// </summary>
    private const int MaxExpansionNumerator = 64;
    private const int MaxExpansionDenominator = 3;

    /// <summary>
    /// Reads and checks the snappy preamble of <paramref name="body"/> against <paramref name="limits"/> and
    /// returns the declared uncompressed length.
    /// </summary>
    /// <exception cref="RemoteWriteException">Too large (413) or impossible/invalid (400).</exception>
    public static int GetDecompressedLength(ReadOnlySpan<byte> body, RemoteWriteLimits? limits = null)
    {
        limits ??= RemoteWriteLimits.Default;
        if (body.Length > limits.MaxCompressedBytes)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.CompressedTooLarge, "body of " + body.Length.ToString(CultureInfo.InvariantCulture) + " bytes exceeds limit of " + limits.MaxCompressedBytes.ToString(CultureInfo.InvariantCulture));
        }

        ulong declared = 0;
        var pos = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (pos == body.Length || shift > 28)
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.InvalidSnappy, "invalid snappy: bad length preamble");
            }

            var b = body[pos++];
            declared |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        if (declared > uint.MaxValue)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.InvalidSnappy, "invalid snappy: bad length preamble");
        }

        if (declared > (ulong)limits.MaxDecompressedBytes)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.DecompressedTooLarge, "decompressed size " + declared.ToString(CultureInfo.InvariantCulture) + " exceeds limit of " + limits.MaxDecompressedBytes.ToString(CultureInfo.InvariantCulture));
        }

        if (declared > (ulong)(body.Length - pos) * MaxExpansionNumerator / MaxExpansionDenominator)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.InvalidSnappy, "invalid snappy: declared length " + declared.ToString(CultureInfo.InvariantCulture) + " impossible for a " + body.Length.ToString(CultureInfo.InvariantCulture) + "-byte body");
        }

        return (int)declared;
    }

    /// <summary>Decompresses and decodes a request body into <paramref name="visitor"/> (no per-sample allocation; one pooled buffer).</summary>
    /// <exception cref="RemoteWriteException">The body cannot be accepted; <see cref="RemoteWriteException.HttpStatusCode"/> says how to answer.</exception>
    public static WriteRequestStats Decode<TVisitor>(ReadOnlySpan<byte> body, TVisitor visitor, RemoteWriteLimits? limits = null)
        where TVisitor : IWriteRequestVisitor
    {
        limits ??= RemoteWriteLimits.Default;
        var length = GetDecompressedLength(body, limits);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Decompress(body, buffer.AsSpan(0, length));
            return WriteRequestDecoder.Decode(buffer.AsSpan(0, length), visitor, limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decompresses and decodes a request body into model objects.</summary>
    /// <exception cref="RemoteWriteException">The body cannot be accepted.</exception>
    public static WriteRequest Decode(ReadOnlySpan<byte> body, RemoteWriteLimits? limits = null)
    {
        limits ??= RemoteWriteLimits.Default;
        var length = GetDecompressedLength(body, limits);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Decompress(body, buffer.AsSpan(0, length));
            return WriteRequestDecoder.Decode(buffer.AsSpan(0, length), limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decompresses a body whose preamble was checked by <see cref="GetDecompressedLength"/> into exactly <paramref name="destination"/>.</summary>
    /// <exception cref="RemoteWriteException">Corrupt snappy data (400).</exception>
    public static void Decompress(ReadOnlySpan<byte> body, Span<byte> destination)
    {
        bool ok;
        int written;
        try
        {
            ok = Snappy.TryDecompress(body, destination, out written);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.InvalidSnappy, "invalid snappy: " + ex.Message.ReplaceLineEndings(" "), ex);
        }

        if (!ok || written != destination.Length)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.InvalidSnappy, "invalid snappy: data does not match declared length");
        }
    }

    /// <summary>Encodes and snappy-compresses <paramref name="request"/> into a new array (a complete HTTP body).</summary>
    /// <exception cref="RemoteWriteException">A series has invalid labels.</exception>
    public static byte[] Encode(WriteRequest request)
    {
        var writer = new ArrayBufferWriter<byte>();
        Encode(request, writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes and snappy-compresses <paramref name="request"/> into <paramref name="output"/>; returns bytes written.</summary>
    /// <exception cref="RemoteWriteException">A series has invalid labels.</exception>
    public static int Encode(WriteRequest request, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var size = WriteRequestEncoder.GetEncodedSize(request);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            var written = WriteRequestEncoder.Encode(request, buffer);
            var destination = output.GetSpan(Snappy.GetMaxCompressedLength(written));
            var compressed = Snappy.Compress(buffer.AsSpan(0, written), destination);
            output.Advance(compressed);
            return compressed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
