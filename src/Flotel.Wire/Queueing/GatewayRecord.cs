using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Flotel.Wire.Queueing;

/// <summary>
/// The payload layout of the gateway's durable-queue records. Inputs write the bytes they received (parsing happens
/// on the way out, so the ingest path stays a copy + fsync); outputs decode them.
/// <code>
/// record  = kind:u8 | receivedAtUnixMs:i64 LE | peerLength:u8 | peer:utf8 | body
/// SyslogFrames  body = transport:u8 (1 tcp, 2 udp, 3 tls) | { frameLength:u32 LE | frame }*
/// RemoteWrite   body = snappy block as received (already validated)
/// BulkDocuments body = { indexLength:u16 LE | index | idLength:u16 LE | id (0 = generated) | flags:u8 (1 = create only) | sourceLength:u32 LE | source JSON }*
/// </code>
/// </summary>
public static class GatewayRecord
{
    /// <summary>Bytes before the body for a peer of <paramref name="peerLength"/> UTF-8 bytes.</summary>
    public static int HeaderSize(int peerLength) => 1 + 8 + 1 + peerLength;

    /// <summary>Writes the common header.</summary>
    public static void WriteHeader(IBufferWriter<byte> output, GatewayRecordKind kind, long receivedAtUnixMs, string peer)
    {
        var peerLength = Math.Min(Encoding.UTF8.GetByteCount(peer), 255);
        var span = output.GetSpan(HeaderSize(peerLength));
        span[0] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], receivedAtUnixMs);
        span[9] = (byte)peerLength;
        Encoding.UTF8.GetBytes(peer.AsSpan(), span.Slice(10, peerLength));
        output.Advance(HeaderSize(peerLength));
    }

    /// <summary>Appends one length-prefixed syslog frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WriteFrame(IBufferWriter<byte> output, ReadOnlySequence<byte> frame)
    {
        var length = checked((int)frame.Length);
        var span = output.GetSpan(4 + length);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)length);
        frame.CopyTo(span[4..]);
        output.Advance(4 + length);
    }

    /// <summary>Appends one length-prefixed syslog frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WriteFrame(IBufferWriter<byte> output, ReadOnlySpan<byte> frame)
    {
        var span = output.GetSpan(4 + frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)frame.Length);
        frame.CopyTo(span[4..]);
        output.Advance(4 + frame.Length);
    }

    /// <summary>Appends one bulk document.</summary>
    public static void WriteDocument(IBufferWriter<byte> output, string index, string? id, bool createOnly, ReadOnlySpan<byte> source)
    {
        var indexBytes = Encoding.UTF8.GetBytes(index);
        var idBytes = id is null ? [] : Encoding.UTF8.GetBytes(id);
        var size = 2 + indexBytes.Length + 2 + idBytes.Length + 1 + 4 + source.Length;
        var span = output.GetSpan(size);
        BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)indexBytes.Length));
        indexBytes.CopyTo(span[2..]);
        var at = 2 + indexBytes.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], checked((ushort)idBytes.Length));
        idBytes.CopyTo(span[(at + 2)..]);
        at += 2 + idBytes.Length;
        span[at++] = createOnly ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)source.Length);
        source.CopyTo(span[(at + 4)..]);
        output.Advance(size);
    }

    /// <summary>The record's kind (its first byte) without reading the rest of the header; false for an empty record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryPeekKind(ReadOnlySpan<byte> record, out GatewayRecordKind kind)
    {
        kind = record.IsEmpty ? default : (GatewayRecordKind)record[0];
        return !record.IsEmpty;
    }

    /// <summary>Reads the header; false when the record is too short to be one of ours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryReadHeader(ReadOnlySpan<byte> record, out GatewayRecordKind kind, out long receivedAtUnixMs, out string peer, out int bodyOffset)
    {
        kind = default;
        receivedAtUnixMs = 0;
        peer = string.Empty;
        bodyOffset = 0;
        if (record.Length < 10 || record.Length < 10 + record[9])
        {
            return false;
        }

        kind = (GatewayRecordKind)record[0];
        receivedAtUnixMs = BinaryPrimitives.ReadInt64LittleEndian(record[1..]);
        peer = Encoding.UTF8.GetString(record.Slice(10, record[9]));
        bodyOffset = 10 + record[9];
        return true;
    }

    /// <summary>Reads the next length-prefixed frame from <paramref name="body"/>, advancing it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryReadFrame(ref ReadOnlySpan<byte> body, out ReadOnlySpan<byte> frame)
    {
        frame = default;
        if (body.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(body);
        if (length > (uint)(body.Length - 4))
        {
            return false;
        }

        frame = body.Slice(4, (int)length);
        body = body[(4 + (int)length)..];
        return true;
    }

    /// <summary>Reads the next bulk document from <paramref name="body"/>, advancing it.</summary>
    public static bool TryReadDocument(ref ReadOnlySpan<byte> body, out string index, out string? id, out bool createOnly, out ReadOnlySpan<byte> source)
    {
        index = string.Empty;
        id = null;
        createOnly = false;
        source = default;
        if (body.Length < 2)
        {
            return false;
        }

        int indexLength = BinaryPrimitives.ReadUInt16LittleEndian(body);
        if (body.Length < 2 + indexLength + 2)
        {
            return false;
        }

        index = Encoding.UTF8.GetString(body.Slice(2, indexLength));
        var at = 2 + indexLength;
        int idLength = BinaryPrimitives.ReadUInt16LittleEndian(body[at..]);
        if (body.Length < at + 2 + idLength + 1 + 4)
        {
            return false;
        }

        id = idLength == 0 ? null : Encoding.UTF8.GetString(body.Slice(at + 2, idLength));
        at += 2 + idLength;
        createOnly = body[at++] == 1;
        var sourceLength = BinaryPrimitives.ReadUInt32LittleEndian(body[at..]);
        if (sourceLength > (uint)(body.Length - at - 4))
        {
            return false;
        }

        source = body.Slice(at + 4, (int)sourceLength);
        body = body[(at + 4 + (int)sourceLength)..];
        return true;
    }
}
