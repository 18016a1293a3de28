using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Flotel.Wire.Queueing;

namespace Flotel.Wire.Tests.Queueing;

public sealed class GatewayRecordTests
{
    [Fact]
    public void Header_WithDevice_ReadsBackPeerDeviceAndBody()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 1_700_000_000_123, "10.0.0.7", "edge-device-1");
        writer.Write("BODY"u8);
        var record = writer.WrittenSpan;

        Assert.Equal(0x81, record[0]);
        Assert.True(GatewayRecord.TryReadHeader(record, out var kind, out var received, out var peer, out var device, out var offset));
        Assert.Equal((GatewayRecordKind.SyslogFrames, 1_700_000_000_123L, "10.0.0.7", "edge-device-1"), (kind, received, peer, device));
        Assert.Equal("BODY", Encoding.UTF8.GetString(record[offset..]));

        // The reader that does not ask for the device still finds the body behind it.
        Assert.True(GatewayRecord.TryReadHeader(record, out kind, out _, out _, out var sameOffset));
        Assert.Equal((GatewayRecordKind.SyslogFrames, offset), (kind, sameOffset));
        Assert.True(GatewayRecord.TryPeekKind(record, out var peeked));
        Assert.Equal(GatewayRecordKind.SyslogFrames, peeked);
    }

    [Fact]
    public void Header_WrittenBeforeDevicesExisted_ReadsWithoutDevice()
    {
        // The layout queues on disk hold from earlier releases, written byte by byte: kind 2, time, peer "p", body.
        var old = new byte[1 + 8 + 1 + 1 + 3];
        old[0] = 2;
        BinaryPrimitives.WriteInt64LittleEndian(old.AsSpan(1), 42);
        old[9] = 1;
        old[10] = (byte)'p';
        "xyz"u8.CopyTo(old.AsSpan(11));

        Assert.True(GatewayRecord.TryReadHeader(old, out var kind, out var received, out var peer, out var device, out var offset));
        Assert.Equal((GatewayRecordKind.RemoteWrite, 42L, "p", (string?)null, 11), (kind, received, peer, device, offset));

        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.RemoteWrite, 42, "p");
        writer.Write("xyz"u8);
        Assert.Equal(old, writer.WrittenSpan.ToArray()); // without a device the layout is unchanged
    }

    [Fact]
    public void Header_DeviceFlagWithCutOrEmptyDevice_IsNotRead()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 0, "p", "dev");
        var whole = writer.WrittenSpan.ToArray();
        for (var n = 0; n < whole.Length; n++)
        {
            Assert.False(GatewayRecord.TryReadHeader(whole.AsSpan(0, n), out _, out _, out _, out _, out _));
        }

        var empty = (byte[])whole.Clone();
        empty[11] = 0;
        Assert.False(GatewayRecord.TryReadHeader(empty, out _, out _, out _, out _, out _));
    }

    [Fact]
    public void WriteHeader_DeviceNameThatDoesNotFit_IsRefusedNotCut()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 0, "p", new string('a', 256)));
        Assert.Throws<ArgumentException>(() => GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 0, "p", string.Empty));
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 0, new string('p', 300), new string('d', 255));
        Assert.Equal(GatewayRecord.MaxHeaderSize, writer.WrittenCount);
    }

    [Fact]
    public void KindOf_IgnoresTheDeviceFlag()
    {
        Assert.Equal(GatewayRecordKind.RemoteWrite, GatewayRecord.KindOf(0x82));
        Assert.Equal(GatewayRecordKind.BulkDocuments, GatewayRecord.KindOf(3));
    }
}
