using System.Text;
using System.Text.Json;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

public sealed class LogRecordDecoderTests
{
    private const string Rfc5424 = "<165>1 2022-05-12T21:30:00.000-04:00 dev1 app 42 ID7 - hello";
    private static readonly DateTime Received = new(2022, 5, 13, 1, 30, 5, DateTimeKind.Utc);

    private static async Task<List<(LogDocument Item, int Bytes)>> DecodeAllAsync(Func<HttpOutputFixture, Task> append, bool deterministicIds = false)
    {
        await using var fixture = new HttpOutputFixture();
        await append(fixture);
        using var reader = fixture.Queue.OpenReader("t");
        var records = new List<QueueRecord>();
        Assert.True(reader.TryReadBatch(100, 1 << 20, records));
        using var decoder = new LogRecordDecoder(SyslogParser.Default, LogstashIndexPattern.Parse(LogstashIndexPattern.Default), deterministicIds);
        var items = new List<(LogDocument, int)>();
        foreach (var record in records)
        {
            Assert.True(decoder.TryDecode(record, items));
        }

        return items;
    }

    [Fact]
    public async Task Decode_SyslogFrame_RendersTheStoresSourceIntoTheUtcDayIndex()
    {
        var items = await DecodeAllAsync(f => f.AppendSyslogAsync(Received, "10.0.0.7", Rfc5424));

        var (document, bytes) = Assert.Single(items);
        Assert.Equal("logstash-2022.05.13", document.Index); // 21:30-04:00 is 01:30 UTC the next day (docs/reference/syslog-and-elasticsearch.md §3.2, §9.3 O2)
        Assert.Null(document.Id);
        var expected = LogEventJson.ToUtf8(SyslogParser.Default.ParseEvent(Encoding.UTF8.GetBytes(Rfc5424), Received, "10.0.0.7"));
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(document.Source.Span));
        using var json = JsonDocument.Parse(document.Source);
        Assert.Equal("2022-05-13T01:30:00.000Z", json.RootElement.GetProperty("@timestamp").GetString());
        Assert.Equal("10.0.0.7", json.RootElement.GetProperty("host").GetString());
        Assert.Equal(document.Source.Length + document.Index.Length + LogRecordDecoder.ActionOverheadBytes, bytes);
    }

    [Fact]
    public async Task Decode_DeterministicIds_AreStablePerEventAndDistinctForIdenticalLines()
    {
        var first = await DecodeAllAsync(f => f.AppendSyslogAsync(Received, "10.0.0.7", Rfc5424, Rfc5424), deterministicIds: true);
        var again = await DecodeAllAsync(f => f.AppendSyslogAsync(Received, "10.0.0.7", Rfc5424, Rfc5424), deterministicIds: true);

        Assert.Equal(first.Select(i => i.Item.Id), again.Select(i => i.Item.Id));
        Assert.NotEqual(first[0].Item.Id, first[1].Item.Id);
        Assert.All(first, i => Assert.Matches("^[A-Za-z0-9_-]{20}$", i.Item.Id!));
    }

    [Fact]
    public async Task Decode_BulkDocuments_KeepTheirIndexIdAndAction()
    {
        var items = await DecodeAllAsync(f => f.AppendBulkAsync(("web-1", "id1", false, """{"a":1}"""), ("web-2", "id2", true, """{"b":2}""")));

        Assert.Equal(
            [("web-1", "id1", false, """{"a":1}"""), ("web-2", "id2", true, """{"b":2}""")],
            items.Select(i => (i.Item.Index, i.Item.Id!, i.Item.CreateOnly, Encoding.UTF8.GetString(i.Item.Source.Span))));
    }

    [Fact]
    public async Task Decode_RemoteWriteRecord_IsNotALogOutputsAndGivesNothing()
    {
        var items = await DecodeAllAsync(f => f.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(LabelSet.Of("__name__", "up"), [new Sample(1, 1)])])));

        Assert.Empty(items);
    }
}
