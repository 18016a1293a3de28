// Throughput of the gateway's HTTP outputs against their peers: the durable queue is filled first, then one output
// drains it; reported: items/s and this process's CPU per item (the peer runs in its own process). One short,
// bounded run per output; numbers from a shared 2-core machine are noisy: run it on a quiet one.
// Usage: OutputThroughput <remote_write|influxdb|elasticsearch> <url> <items> [database]
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Gateway.Queueing;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging.Abstractions;

var type = args[0];
var url = new Uri(args[1]);
var items = int.Parse(args[2], CultureInfo.InvariantCulture);
var dir = Directory.CreateTempSubdirectory("flotel-output-bench-").FullName;
try
{
    await using var queue = DurableQueue.Open(new DurableQueueOptions { Directory = Path.Combine(dir, "queue"), MaxTotalBytes = 4L << 30 });
    var metrics = new MetricsRegistry();
    var context = new OutputContext(queue, dir, SyslogParser.Default, LogstashIndexPattern.Default, metrics, TimeProvider.System, NullLoggerFactory.Instance);
    var now = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeMilliseconds();
    var records = new List<ReadOnlyMemory<byte>>();
    if (type == "elasticsearch")
    {
        // 100 syslog lines of ~200 bytes per record, as one TCP read of the syslog input.
        for (var r = 0; r < items / 100; r++)
        {
            var record = new ArrayBufferWriter<byte>();
            GatewayRecord.WriteHeader(record, GatewayRecordKind.SyslogFrames, now, "10.0.0.7");
            record.Write<byte>([1]);
            for (var i = 0; i < 100; i++)
            {
                var line = $"<134>May 12 2022 16:22:01 dev-{r % 50} random-workload[{i}]: request {r * 100 + i} served in 12 ms status=200 path=/api/v1/items/{i} user=flotta-device-agent padding=xxxxxxxxxxxxxxxxxxxxxxxxxx";
                GatewayRecord.WriteFrame(record, Encoding.UTF8.GetBytes(line));
            }

            records.Add(record.WrittenMemory);
        }
    }
    else
    {
        // 2000 samples per record: 100 series (node_exporter-like labels) × 20 samples.
        for (var r = 0; r < items / 2000; r++)
        {
            var series = new List<TimeSeries>();
            for (var s = 0; s < 100; s++)
            {
                var labels = LabelSet.Of("__name__", "node_cpu_seconds_total", "cpu", (s % 4).ToString(CultureInfo.InvariantCulture), "mode", "m" + s, "device", "dev-1", "job", "node");
                series.Add(new TimeSeries(labels, Enumerable.Range(0, 20).Select(i => new Sample(now + ((r * 20) + i) * 10L, r + i + 0.5)).ToList()));
            }

            var record = new ArrayBufferWriter<byte>();
            GatewayRecord.WriteHeader(record, GatewayRecordKind.RemoteWrite, now, "10.0.0.7");
            RemoteWriteCodec.Encode(new WriteRequest(series), record);
            records.Add(record.WrittenMemory);
        }
    }

    for (var i = 0; i < records.Count; i += 64)
    {
        await queue.AppendBatchAsync(records.Skip(i).Take(64).ToList());
    }

    IGatewayOutput output;
    Func<long> sent;
    switch (type)
    {
        case "remote_write":
            var rw = new RemoteWriteOptions { Name = "bench" };
            rw.Http.Url = url;
            var rwOutput = new RemoteWriteOutput(rw, context);
            (output, sent) = (rwOutput, () => rwOutput.Delivery.Sent);
            break;
        case "influxdb":
            var influx = new InfluxDbOptions { Name = "bench", Database = args[3] };
            influx.Http.Url = url;
            var influxOutput = new InfluxDbOutput(influx, context);
            (output, sent) = (influxOutput, () => influxOutput.Delivery.Sent);
            break;
        default:
            var es = new ElasticsearchOptions { Name = "bench", Gzip = args.Length > 3 && args[3] == "gzip" };
            es.Http.Url = url;
            var esOutput = new ElasticsearchOutput(es, context);
            (output, sent) = (esOutput, () => esOutput.Delivery.Sent);
            break;
    }

    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    output.Start();
    while (sent() < items && clock.Elapsed < TimeSpan.FromMinutes(3))
    {
        await Task.Delay(20);
    }

    clock.Stop();
    var usedCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    await output.StopAsync(TimeSpan.FromSeconds(5));
    await output.DisposeAsync();
    var done = sent();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{type} {url.GetLeftPart(UriPartial.Authority)}: {done} of {items} items in {clock.Elapsed.TotalSeconds:F2} s = {done / clock.Elapsed.TotalSeconds:F0} items/s, gateway CPU {usedCpu.TotalMilliseconds * 1000 / Math.Max(done, 1):F2} µs/item, requests {metrics.Sum("flotel_output_requests_total", ("output", "bench"))}, retries {metrics.Sum("flotel_output_requests_total", ("output", "bench"), ("result", "retry"))}"));
}
finally
{
    Directory.Delete(dir, recursive: true);
}
