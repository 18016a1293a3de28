using System.Buffers;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Outputs.Timestream;
using Flotel.Gateway.Queueing;
using Flotel.IntegrationTests.Outputs.TimestreamFake;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Aws;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>A durable queue in a temp directory and a timestream output reading it, pointed at a <see cref="FakeTimestreamServer"/>.</summary>
internal sealed class TimestreamOutputHarness : IAsyncDisposable
{
    private TimestreamOutputHarness(string data, DurableQueue queue, TimestreamOutput output, MetricsRegistry metrics)
    {
        Data = data;
        Queue = queue;
        Output = output;
        Metrics = metrics;
    }

    public string Data { get; }

    public DurableQueue Queue { get; }

    public TimestreamOutput Output { get; }

    public MetricsRegistry Metrics { get; }

    public string DeadLetterPath => Path.Combine(Data, "dead-letter", "ts.ndjson");

    public static TimestreamOutputHarness Create(FakeTimestreamServer fake, Action<TimestreamOptions>? configure = null)
    {
        var data = PeerProcess.CreateTempDirectory("timestream");
        var queue = DurableQueue.Open(new DurableQueueOptions { Directory = Path.Combine(data, "queue"), Fsync = false });
        var metrics = new MetricsRegistry();
        var context = new OutputContext(queue, data, new SyslogParser(new SyslogParserOptions()), "logstash-%{+YYYY.MM.dd}", metrics, TimeProvider.System, NullLoggerFactory.Instance);
        var options = new TimestreamOptions
        {
            Name = "ts",
            Region = FakeTimestreamServer.Region,
            Database = FakeTimestreamServer.Database,
            Table = FakeTimestreamServer.Table,
            DiscoveryEndpoint = fake.DiscoveryEndpoint,
            TimeoutSeconds = 5,
        };
        configure?.Invoke(options);
        var credentials = AwsCredentialChain.Static(new AwsCredentials(FakeTimestreamServer.AccessKeyId, FakeTimestreamServer.SecretAccessKey));
        var delivery = new DeliveryOptions { RetryInitial = TimeSpan.FromMilliseconds(20), RetryMax = TimeSpan.FromMilliseconds(200) };
        var output = new TimestreamOutput(options, context, credentials, delivery: delivery);
        return new TimestreamOutputHarness(data, queue, output, metrics);
    }

    /// <summary>Queues one remote-write request as the gateway's input does.</summary>
    public async Task AppendAsync(params TimeSeries[] series)
    {
        var record = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(record, GatewayRecordKind.RemoteWrite, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "test");
        record.Write(RemoteWriteCodec.Encode(new WriteRequest(series)));
        await Queue.AppendAsync(record.WrittenMemory.ToArray());
    }

    public long Items(string result, string reason) =>
        Metrics.Sum("flotel_output_items_total", ("output", "ts"), ("result", result), ("reason", reason));

    public async ValueTask DisposeAsync()
    {
        await Output.StopAsync(TimeSpan.FromSeconds(5));
        await Output.DisposeAsync();
        await Queue.DisposeAsync();
        Directory.Delete(Data, recursive: true);
    }

    /// <summary>A series of <paramref name="count"/> samples one second apart ending a minute ago.</summary>
    public static TimeSeries Series(string name, string device, int count, Func<int, double>? value = null)
    {
        var end = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();
        var samples = new Sample[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = new Sample(end - ((count - 1 - i) * 1000L), value?.Invoke(i) ?? i);
        }

        return new TimeSeries(LabelSet.Of("__name__", name, "edgedeviceid", device, "job", "node"), samples);
    }

    public static Task Until(Func<bool> condition, string what, int seconds = 30) => Eventually.TrueAsync(condition, what, seconds);
}
