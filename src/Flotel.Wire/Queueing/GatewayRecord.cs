using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace Flotel.Wire.Queueing;

/// <summary>
/// The payload layout of the gateway's durable-queue records. Inputs write the bytes they received (parsing happens
/// on the way out, so the ingest path stays a copy + fsync); outputs decode them.
/// <code>
/// record  = kind:u8 | receivedAtUnixMs:i64 LE | peerLength:u8 | peer:utf8 | [deviceLength:u8 | device:utf8] | body
///           kind bit 7 (<see cref="DeviceFlag"/>) set = the device part is there: the data arrived with a device
///           certificate of the fleet CA and device is its CN (docs/fleet.md §6); records written before the flag
///           existed never have it, so they read as before
/// SyslogFrames  body = transport:u8 (1 tcp, 2 udp, 3 tls) | { frameLength:u32 LE | frame }*
/// RemoteWrite   body = snappy block as received (already validated)
/// BulkDocuments body = { indexLength:u16 LE | index | idLength:u16 LE | id (0 = generated) | flags:u8 (1 = create only) | sourceLength:u32 LE | source JSON }*
/// </code>
/// </summary>
public static class GatewayRecord
{
    /// <summary>The bit of the kind byte that says a device name follows the peer.</summary>
    public const byte DeviceFlag = 0x80;

    /// <summary>Longest device name a record carries (a device name is at most 253 ASCII characters, docs/fleet.md).</summary>
    public const int MaxDeviceBytes = 255;

    /// <summary>Most bytes a header can take (kind, time, the longest peer and device).</summary>
    public const int MaxHeaderSize = 1 + 8 + 1 + 255 + 1 + MaxDeviceBytes;

    /// <summary>Bytes before the body for a peer of <paramref name="peerLength"/> UTF-8 bytes (no device).</summary>
    public static int HeaderSize(int peerLength) => 1 + 8 + 1 + peerLength;

    /// <summary>The record kind a first byte stands for, without the <see cref="DeviceFlag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static GatewayRecordKind KindOf(byte firstByte) => (GatewayRecordKind)(firstByte & ~DeviceFlag);

    /// <summary>Writes the common header.</summary>
    public static void WriteHeader(IBufferWriter<byte> output, GatewayRecordKind kind, long receivedAtUnixMs, string peer) =>
        WriteHeader(output, kind, receivedAtUnixMs, peer, device: null);

    /// <summary>
    /// Writes the common header; <paramref name="device"/> is the CN of the device certificate the data arrived with,
    /// null when it came without one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="device"/> is empty or longer than <see cref="MaxDeviceBytes"/> UTF-8 bytes.</exception>
    public static void WriteHeader(IBufferWriter<byte> output, GatewayRecordKind kind, long receivedAtUnixMs, string peer, string? device)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(peer);
        var deviceLength = device is null ? 0 : Encoding.UTF8.GetByteCount(device);
        if (device is not null && deviceLength is 0 or > MaxDeviceBytes)
        {
            // Cutting a device name would name another device: refuse instead (names are checked long before this).
            throw new ArgumentException("a record's device name must be 1 to 255 UTF-8 bytes", nameof(device));
        }

        var span = output.GetSpan(HeaderSize(255) + (device is null ? 0 : 1 + deviceLength));
        span[0] = device is null ? (byte)kind : (byte)((byte)kind | DeviceFlag);
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], receivedAtUnixMs);

        // A peer is an address, far below 255 bytes; a longer one is cut at a character boundary.
        _ = Utf8.FromUtf16(peer, span.Slice(10, 255), out _, out var peerLength);
        span[9] = (byte)peerLength;
        var size = HeaderSize(peerLength) + (device is null ? 0 : 1 + deviceLength);
        if (device is not null)
        {
            span[10 + peerLength] = (byte)deviceLength;
            Encoding.UTF8.GetBytes(device.AsSpan(), span.Slice(11 + peerLength, deviceLength));
        }

        output.Advance(size);
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
        kind = record.IsEmpty ? default : KindOf(record[0]);
        return !record.IsEmpty;
    }

    /// <summary>Reads the header, skipping the device name if there is one; false when the record is too short to be one of ours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryReadHeader(ReadOnlySpan<byte> record, out GatewayRecordKind kind, out long receivedAtUnixMs, out string peer, out int bodyOffset) =>
        TryReadHeader(record, out kind, out receivedAtUnixMs, out peer, out _, out bodyOffset);

    /// <summary>
    /// Reads the header; <paramref name="device"/> is the device certificate's CN the data arrived with, null when it
    /// came without one (and for every record written before devices were recorded). False when the record is too short
    /// to be one of ours.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryReadHeader(ReadOnlySpan<byte> record, out GatewayRecordKind kind, out long receivedAtUnixMs, out string peer, out string? device, out int bodyOffset)
    {
        kind = default;
        receivedAtUnixMs = 0;
        peer = string.Empty;
        device = null;
        bodyOffset = 0;
        if (record.Length < 10 || record.Length < 10 + record[9])
        {
            return false;
        }

        var at = 10 + record[9];
        var hasDevice = (record[0] & DeviceFlag) != 0;
        if (hasDevice && (record.Length < at + 1 || record[at] == 0 || record.Length < at + 1 + record[at]))
        {
            return false;
        }

        kind = KindOf(record[0]);
        receivedAtUnixMs = BinaryPrimitives.ReadInt64LittleEndian(record[1..]);
        peer = Encoding.UTF8.GetString(record.Slice(10, record[9]));
        if (hasDevice)
        {
            device = Encoding.UTF8.GetString(record.Slice(at + 1, record[at]));
            at += 1 + record[at];
        }

        bodyOffset = at;
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
