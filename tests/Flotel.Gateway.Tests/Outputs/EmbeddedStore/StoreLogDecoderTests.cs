using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;
using Flotel.Wire.Syslog;

namespace Flotel.Gateway.Tests.Outputs.EmbeddedStore;

public sealed class StoreLogDecoderTests
{
    private const string Rfc5424 = "<165>1 2022-05-12T21:30:00.000-04:00 dev1 app 42 ID7 - hello";
    private static readonly DateTime Received = new(2022, 5, 13, 1, 30, 5, DateTimeKind.Utc);

    [Fact]
    public void Decode_SyslogFrames_OneParsedEventPerFrame()
    {
        var record = Syslog(Rfc5424, "<13>May 12 20:22:01 host app[1]: second");
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.True(new StoreLogDecoder(SyslogParser.Default).TryDecode(record, items));

        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.Null(i.Item.Document));
        Assert.Equal("hello", items[0].Item.Event!.Message);
        Assert.Equal("10.0.0.7", items[0].Item.Event!.Host); // the peer, as the store keeps it
        Assert.Equal("second", items[1].Item.Event!.Message);
        Assert.Equal(Encoding.UTF8.GetByteCount(Rfc5424), items[0].Bytes);
    }

    [Fact]
    public void Decode_BulkDocuments_SourcesPointIntoTheRecordsMemory()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.BulkDocuments, 0, string.Empty);
        GatewayRecord.WriteDocument(writer, "logs-a", "1", createOnly: true, "{\"a\":1}"u8);
        GatewayRecord.WriteDocument(writer, "logs-b", null, createOnly: false, "{\"b\":2}"u8);
        var payload = writer.WrittenSpan.ToArray();
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.True(new StoreLogDecoder(SyslogParser.Default).TryDecode(new QueueRecord(7, payload), items));

        var documents = items.Select(i => i.Item.Document!).ToList();
        Assert.Equal(["logs-a", "logs-b"], documents.Select(d => d.Index));
        Assert.Equal(["1", null], documents.Select(d => d.Id));
        Assert.Equal([true, false], documents.Select(d => d.CreateOnly));
        Assert.Equal(["{\"a\":1}", "{\"b\":2}"], documents.Select(d => Encoding.UTF8.GetString(d.Source.Span)));
        Assert.All(documents, d =>
        {
            Assert.True(MemoryMarshal.TryGetArray(d.Source, out var segment));
            Assert.Same(payload, segment.Array); // no copy of the source
        });
    }

    [Fact]
    public void Decode_SyslogRecordWithoutBody_IsRefusedNotThrown()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 0, "10.0.0.7");
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.False(new StoreLogDecoder(SyslogParser.Default).TryDecode(new QueueRecord(1, writer.WrittenSpan.ToArray()), items));
        Assert.Empty(items);
    }

    [Fact]
    public void Decode_DamagedTailAfterIntactFrames_KeepsTheFramesAndRefusesTheRecord()
    {
        var record = Syslog(Rfc5424);
        var damaged = record.Payload.ToArray().Concat(new byte[] { 0xff, 0xff, 0xff, 0x7f, 1 }).ToArray();
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.False(new StoreLogDecoder(SyslogParser.Default).TryDecode(new QueueRecord(1, damaged), items));
        Assert.Equal("hello", Assert.Single(items).Item.Event!.Message);
    }

    [Fact]
    public void Decode_EveryItem_CarriesItsRecordsSequence()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.BulkDocuments, 0, string.Empty);
        GatewayRecord.WriteDocument(writer, "logs-a", null, createOnly: false, "{\"a\":1}"u8);
        var items = new List<(StoreLogItem Item, int Bytes)>();
        var decoder = new StoreLogDecoder(SyslogParser.Default);

        Assert.True(decoder.TryDecode(Syslog(Rfc5424, "<13>May 12 20:22:01 host app[1]: second") with { Sequence = 41 }, items));
        Assert.True(decoder.TryDecode(new QueueRecord(42, writer.WrittenSpan.ToArray()), items));

        Assert.Equal([41L, 41L, 42L], items.Select(i => i.Item.Sequence));
    }

    [Fact]
    public void Decode_UnknownKindOrShortHeader_IsRefused()
    {
        var items = new List<(StoreLogItem Item, int Bytes)>();
        var decoder = new StoreLogDecoder(SyslogParser.Default);

        Assert.False(decoder.TryDecode(new QueueRecord(1, new byte[] { 0xEE, 0, 0, 0, 0, 0, 0, 0, 0, 0 }), items));
        Assert.False(decoder.TryDecode(new QueueRecord(2, new byte[] { 1, 2, 3 }), items));
        Assert.Empty(items);
    }

    private static QueueRecord Syslog(params string[] lines)
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, new DateTimeOffset(Received).ToUnixTimeMilliseconds(), "10.0.0.7");
        writer.Write<byte>([1]);
        foreach (var line in lines)
        {
            GatewayRecord.WriteFrame(writer, Encoding.UTF8.GetBytes(line));
        }

        return new QueueRecord(1, writer.WrittenSpan.ToArray());
    }
}
