using System.Buffers;
using System.Collections.Concurrent;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Outputs.Hosting;

public sealed class OutputHostTests
{
    private static readonly WriteRequest OneSample = new([new TimeSeries(LabelSet.Of("__name__", "cpu"), [new Sample(1, 1)])]);

    [Fact]
    public async Task LogOutput_NeverDecodesARemoteWriteRecord_AndStillMovesPastIt()
    {
        await using var fixture = new HttpOutputFixture();
        await fixture.AppendRemoteWriteAsync(OneSample);
        await fixture.AppendSyslogAsync(DateTime.UtcNow, "10.0.0.1", "<13>1 2026-11-27T13:00:00Z h app - - - one", "<13>1 2026-11-27T13:00:01Z h app - - - two");
        await fixture.AppendRemoteWriteAsync(OneSample);
        await fixture.AppendBulkAsync(("idx", "1", false, "{\"a\":1}"));
        await fixture.AppendRemoteWriteAsync(OneSample);
        var decoder = new KindRecordingDecoder();

        await using (var output = new RecordingOutput(fixture.Context, decoder, RecordKinds.Logs))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 log records sent");
            await Eventually.TrueAsync(() => LagOf(fixture.Queue, "recording") == 0, "the cursor past the trailing remote-write record");
            await output.StopAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(0, output.Delivery.Undecodable);
        }

        Assert.Equal([GatewayRecordKind.SyslogFrames, GatewayRecordKind.BulkDocuments], decoder.Kinds);
    }

    [Fact]
    public async Task MetricOutput_NeverDecodesALogRecord()
    {
        await using var fixture = new HttpOutputFixture();
        await fixture.AppendSyslogAsync(DateTime.UtcNow, "10.0.0.1", "<13>1 2026-11-27T13:00:00Z h app - - - one");
        await fixture.AppendBulkAsync(("idx", "1", false, "{\"a\":1}"));
        await fixture.AppendRemoteWriteAsync(OneSample);
        var decoder = new KindRecordingDecoder();

        await using (var output = new RecordingOutput(fixture.Context, decoder, RecordKinds.Metrics))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 1 && LagOf(fixture.Queue, "recording") == 0, "1 metric record sent, the log records passed over");
            await output.StopAsync(TimeSpan.FromSeconds(5));
        }

        Assert.Equal([GatewayRecordKind.RemoteWrite], decoder.Kinds);
    }

    [Fact]
    public async Task RecordOfNoKnownKind_GoesToTheDecoder_AndIsCountedUndecodable()
    {
        await using var fixture = new HttpOutputFixture();
        await fixture.Queue.AppendAsync(new byte[] { 0xEE, 1, 2, 3 });
        var decoder = new KindRecordingDecoder();

        await using (var output = new RecordingOutput(fixture.Context, decoder, RecordKinds.Logs))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Undecodable == 1, "the damaged record counted");
            Assert.Equal(0, output.KindFilter.Skipped);
        }
    }

    [Fact]
    public async Task Host_StopAndDisposeWithoutStart_AreSafe_AndStopIsIdempotent()
    {
        await using var fixture = new HttpOutputFixture();
        var decoder = new KindRecordingDecoder();
        var output = new RecordingOutput(fixture.Context, decoder, RecordKinds.Logs);
        await output.StopAsync(TimeSpan.FromSeconds(1));
        await output.StopAsync(TimeSpan.FromSeconds(1));
        await output.DisposeAsync();
        Assert.True(decoder.Disposed);
    }

    [Fact]
    public async Task HttpOutputs_TakeOnlyTheirRecordKinds()
    {
        await using var fixture = new HttpOutputFixture();
        var es = new ElasticsearchOptions { Name = "es" };
        es.Http.Url = new Uri("http://127.0.0.1:9/");
        var rw = new RemoteWriteOptions { Name = "rw" };
        rw.Http.Url = new Uri("http://127.0.0.1:9/");
        var influx = new InfluxDbOptions { Name = "influx", Database = "db" };
        influx.Http.Url = new Uri("http://127.0.0.1:9/");

        await using var esOutput = new ElasticsearchOutput(es, fixture.Context);
        await using var rwOutput = new RemoteWriteOutput(rw, fixture.Context);
        await using var influxOutput = new InfluxDbOutput(influx, fixture.Context);

        Assert.Equal((true, true, false), Takes(esOutput.KindFilter));
        Assert.Equal((false, false, true), Takes(rwOutput.KindFilter));
        Assert.Equal((false, false, true), Takes(influxOutput.KindFilter));
    }

    [Fact]
    public void KindFilter_WantsItsKindsAndDamagedRecords_NotAnotherOutputsKind()
    {
        var filter = new RecordKindFilter<string>(new KindRecordingDecoder(), RecordKinds.Metrics);

        Assert.True(filter.Wants((byte)GatewayRecordKind.RemoteWrite));
        Assert.False(filter.Wants((byte)GatewayRecordKind.SyslogFrames));
        Assert.False(filter.Wants((byte)GatewayRecordKind.BulkDocuments));
        Assert.True(filter.Wants(0xEE)); // no known kind: the decoder refuses it and it is counted
    }

    [Fact]
    public void KindFilter_SkipsAnotherKindOnItsFirstByte_WithoutCallingTheDecoder()
    {
        var decoder = new KindRecordingDecoder();
        var filter = new RecordKindFilter<string>(decoder, RecordKinds.Logs);
        var record = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(record, GatewayRecordKind.RemoteWrite, 0, "peer");
        record.Write("not snappy at all"u8);
        var items = new List<(string Item, int Bytes)>();

        Assert.True(filter.TryDecode(new QueueRecord(1, record.WrittenMemory), items));

        Assert.Empty(items);
        Assert.Empty(decoder.Kinds);
        Assert.Equal(1, filter.Skipped);
    }

    private static (bool Syslog, bool Bulk, bool RemoteWrite) Takes<T>(RecordKindFilter<T> filter) =>
        (filter.Takes(GatewayRecordKind.SyslogFrames), filter.Takes(GatewayRecordKind.BulkDocuments), filter.Takes(GatewayRecordKind.RemoteWrite));

    private static long LagOf(DurableQueue queue, string reader)
    {
        foreach (var stats in queue.GetStats().Readers)
        {
            if (stats.Name == reader)
            {
                return stats.Lag;
            }
        }

        return -1;
    }

    /// <summary>Records the kind of every record it is asked to decode; one item per record.</summary>
    private sealed class KindRecordingDecoder : IRecordDecoder<string>, IDisposable
    {
        public ConcurrentQueue<GatewayRecordKind> Kinds { get; } = new();

        public bool Disposed { get; private set; }

        public bool TryDecode(QueueRecord record, List<(string Item, int Bytes)> into)
        {
            if (!GatewayRecord.TryReadHeader(record.Payload.Span, out var kind, out _, out _, out _) || !Enum.IsDefined(kind))
            {
                return false;
            }

            Kinds.Enqueue(kind);
            into.Add((kind.ToString(), 1));
            return true;
        }

        public void Dispose() => Disposed = true;
    }

    /// <summary>An output on the host that accepts every batch.</summary>
    private sealed class RecordingOutput(OutputContext context, KindRecordingDecoder decoder, IReadOnlyList<GatewayRecordKind> kinds)
        : OutputHost<string>(context, new OutputHostSettings<string>
        {
            Name = "recording",
            Kinds = kinds,
            Decoder = decoder,
            DeadLetterItem = static (writer, item) => writer.WriteStringValue(item),
            Delivery = new DeliveryOptions(),
        })
    {
        public override ValueTask<DeliveryOutcome<string>> SendAsync(IReadOnlyList<string> batch, CancellationToken cancellationToken) =>
            ValueTask.FromResult(DeliveryOutcome<string>.Success);
    }
}
