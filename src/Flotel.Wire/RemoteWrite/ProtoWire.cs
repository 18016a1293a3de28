using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Minimal protobuf wire-format primitives (protobuf encoding guide: varint, 64-bit, length-delimited,
/// 32-bit). Readers advance <c>pos</c> and throw <see cref="RemoteWriteException"/> on malformed or
/// truncated input; they never read past the span.
/// </summary>
internal static class ProtoWire
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireStartGroup = 3;
    public const int WireEndGroup = 4;
    public const int WireFixed32 = 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadVarint(ReadOnlySpan<byte> buffer, ref int pos)
    {
        // Fast path: one byte (tags, small lengths).
        if ((uint)pos < (uint)buffer.Length && buffer[pos] < 0x80)
        {
            return buffer[pos++];
        }

        return ReadVarintSlow(buffer, ref pos);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong ReadVarintSlow(ReadOnlySpan<byte> buffer, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if ((uint)pos >= (uint)buffer.Length)
            {
                throw Truncated();
            }

            var b = buffer[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        // More than 10 bytes: protobuf varints are at most 10 bytes long.
        throw new RemoteWriteException(RemoteWriteRejectReason.InvalidProtobuf, "invalid protobuf: varint longer than 10 bytes");
    }

    /// <summary>Reads a tag; returns field number and wire type. Field 0 is invalid (encoding guide, "Message Structure").</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadTag(ReadOnlySpan<byte> buffer, ref int pos, out int wireType)
    {
        var tag = ReadVarint(buffer, ref pos);
        wireType = (int)(tag & 7);
        var field = tag >> 3;
        if (field == 0 || field > 536_870_911)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.InvalidProtobuf, "invalid protobuf: bad field number");
        }

        return (int)field;
    }

    /// <summary>Reads a length prefix and returns the bounds of the payload, advancing past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> ReadLengthDelimited(ReadOnlySpan<byte> buffer, scoped ref int pos, out int start)
    {
        var length = ReadVarint(buffer, ref pos);
        if (length > (ulong)(buffer.Length - pos))
        {
            throw Truncated();
        }

        start = pos;
        pos += (int)length;
        return buffer.Slice(start, (int)length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadFixed64(ReadOnlySpan<byte> buffer, ref int pos)
    {
        if (buffer.Length - pos < 8)
        {
            throw Truncated();
        }

        var v = BinaryPrimitives.ReadUInt64LittleEndian(buffer[pos..]);
        pos += 8;
        return v;
    }

    /// <summary>
    /// Skips a field of an unknown number, or a known number with an unexpected wire type (Google.Protobuf
    /// treats both as unknown fields). Groups (wire types 3/4, deprecated since proto2) are rejected.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SkipField(ReadOnlySpan<byte> buffer, ref int pos, int wireType)
    {
        switch (wireType)
        {
            case WireVarint:
                _ = ReadVarint(buffer, ref pos);
                break;
            case WireFixed64:
                if (buffer.Length - pos < 8)
                {
                    throw Truncated();
                }

                pos += 8;
                break;
            case WireLengthDelimited:
                _ = ReadLengthDelimited(buffer, ref pos, out _);
                break;
            case WireFixed32:
                if (buffer.Length - pos < 4)
                {
                    throw Truncated();
                }

                pos += 4;
                break;
            default:
                throw new RemoteWriteException(RemoteWriteRejectReason.InvalidProtobuf, "invalid protobuf: unsupported wire type " + wireType.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(ulong value) => value < 0x80 ? 1 : (70 - System.Numerics.BitOperations.LeadingZeroCount(value)) / 7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(Span<byte> buffer, int pos, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[pos++] = (byte)value;
        return pos;
    }

    public static RemoteWriteException Truncated() => new(RemoteWriteRejectReason.InvalidProtobuf, "invalid protobuf: truncated message");
}
