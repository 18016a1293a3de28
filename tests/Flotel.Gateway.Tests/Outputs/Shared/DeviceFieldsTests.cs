using System.Buffers;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;
using Flotel.Wire.Syslog;

namespace Flotel.Gateway.Tests.Outputs.Shared;

/// <summary>docs/fleet.md §6: a record that names a device gives its events that device's identity fields, in every log output.</summary>
public sealed class DeviceFieldsTests
{
    /// <summary>Spoofed lines: RFC 5424 with Flotel's structured data, and Flotta's layout (hostname = device).</summary>
    private static readonly string[] Spoofed =
    [
        "<14>1 2026-12-06T10:00:00.000Z someone-else app 1 - [flotel@32473 device=\"someone-else\" workload=\"w\"] first",
        "<14>2026-12-06T10:00:01.000Z someone-else w[7]: " + new string('a', 64) + ": second",
    ];

    [Fact]
    public void StoreDecoder_RecordNamingADevice_OverwritesDeviceIdHostAndLogsource()
    {
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.True(new StoreLogDecoder(SyslogParser.Default).TryDecode(Record("edge-a", Spoofed), items));

        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.Equal(("edge-a", "edge-a", "edge-a"), (i.Item.Event!.DeviceId, i.Item.Event.Host, i.Item.Event.LogSource)));
        Assert.Equal("first", items[0].Item.Event!.Message);
        Assert.EndsWith("second", items[1].Item.Event!.Message, StringComparison.Ordinal);
        Assert.Equal("w", items[1].Item.Event!.Workload); // only the identity fields change
    }

    [Fact]
    public void StoreDecoder_RecordWithoutDevice_KeepsWhatTheSenderWrote()
    {
        var items = new List<(StoreLogItem Item, int Bytes)>();

        Assert.True(new StoreLogDecoder(SyslogParser.Default).TryDecode(Record(null, Spoofed), items));

        Assert.All(items, i => Assert.Equal(("someone-else", "10.0.0.7", "someone-else"), (i.Item.Event!.DeviceId, i.Item.Event.Host, i.Item.Event.LogSource)));
    }

    [Fact]
    public void LogRecordDecoder_RecordNamingADevice_SourceCarriesTheDevice()
    {
        using var decoder = new LogRecordDecoder(SyslogParser.Default, LogstashIndexPattern.Parse(LogstashIndexPattern.Default), deterministicIds: false);
        var items = new List<(LogDocument Item, int Bytes)>();

        Assert.True(decoder.TryDecode(Record("edge-a", Spoofed), items));

        Assert.Equal(2, items.Count);
        foreach (var (document, _) in items)
        {
            using var json = JsonDocument.Parse(document.Source);
            var root = json.RootElement;
            Assert.Equal(("edge-a", "edge-a", "edge-a"), (root.GetProperty("device_id").GetString(), root.GetProperty("host").GetString(), root.GetProperty("logsource").GetString()));
        }
    }

    [Fact]
    public void KindFilter_RecordsNamingADevice_GoToTheOutputsOfTheirKind()
    {
        var logs = new RecordKindFilter<StoreLogItem>(new StoreLogDecoder(SyslogParser.Default), RecordKinds.Logs);
        var metrics = new RecordKindFilter<ReadOnlyMemory<byte>>(new RemoteWriteBodyDecoder(), RecordKinds.Metrics);
        var syslogWithDevice = (byte)((byte)GatewayRecordKind.SyslogFrames | GatewayRecord.DeviceFlag);
        var remoteWriteWithDevice = (byte)((byte)GatewayRecordKind.RemoteWrite | GatewayRecord.DeviceFlag);

        Assert.Equal((true, false), (logs.Wants(syslogWithDevice), logs.Wants(remoteWriteWithDevice)));
        Assert.Equal((false, true), (metrics.Wants(syslogWithDevice), metrics.Wants(remoteWriteWithDevice)));
    }

    [Fact]
    public void RemoteWriteBodyDecoder_RecordNamingADevice_GivesTheBodyAfterTheDevice()
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.RemoteWrite, 0, "10.0.0.7", "edge-a");
        writer.Write("snappy"u8);
        var items = new List<(ReadOnlyMemory<byte> Item, int Bytes)>();

        Assert.True(new RemoteWriteBodyDecoder().TryDecode(new QueueRecord(1, writer.WrittenSpan.ToArray()), items));

        Assert.Equal("snappy", Encoding.UTF8.GetString(Assert.Single(items).Item.Span));
    }

    private static QueueRecord Record(string? device, params string[] lines)
    {
        var writer = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(writer, GatewayRecordKind.SyslogFrames, 1_765_000_000_000, "10.0.0.7", device);
        writer.Write<byte>([3]);
        foreach (var line in lines)
        {
            GatewayRecord.WriteFrame(writer, Encoding.UTF8.GetBytes(line));
        }

        return new QueueRecord(1, writer.WrittenSpan.ToArray());
    }
}
