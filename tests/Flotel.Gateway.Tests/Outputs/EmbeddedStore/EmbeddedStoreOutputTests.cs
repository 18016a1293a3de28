using System.Buffers;
using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Queueing;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Store.Logs;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Outputs.EmbeddedStore;

/// <summary>The embedded store on the output host, against real stores in a temporary directory.</summary>
public sealed class EmbeddedStoreOutputTests
{
    private static readonly DateTime Received = new(2022, 5, 13, 1, 30, 5, DateTimeKind.Utc);

    [Fact]
    public async Task StoreOutput_RecordsOfEveryKind_WrittenCommittedAndCountedInTheStoresSeriesOnly()
    {
        await using var fixture = new HttpOutputFixture();
        using var logs = LogStore.Open(new LogStoreOptions { DataDirectory = Path.Combine(fixture.Directory, "logs"), MaxAge = null });
        using var metrics = MetricStore.Open(new MetricStoreOptions { DataDirectory = Path.Combine(fixture.Directory, "metrics"), RetentionAge = TimeSpan.FromDays(36500) });
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await fixture.AppendSyslogAsync(Received, "10.0.0.7", "<13>May 12 20:22:01 host app[1]: one", "<13>May 12 20:22:02 host app[1]: two");
        await fixture.AppendBulkAsync(("logs-a", "1", false, "{\"message\":\"three\"}"));
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(LabelSet.Of("__name__", "cpu", "device", "dev1"), [new(now - 1000, 1), new(now, 2)])]));
        var damaged = new ArrayBufferWriter<byte>();
        GatewayRecord.WriteHeader(damaged, GatewayRecordKind.SyslogFrames, 0, "10.0.0.7");
        await fixture.Queue.AppendAsync(damaged.WrittenMemory); // a header and no body: counted, skipped

        await using (var output = new EmbeddedStoreOutput(fixture.Context, logs, metrics))
        {
            output.Start();
            await Eventually(() =>
                fixture.Metrics.Sum("flotel_store_log_events_total") == 2
                && fixture.Metrics.Sum("flotel_store_bulk_documents_total") == 1
                && fixture.Metrics.Sum("flotel_store_samples_total") == 2);
            await output.StopAsync(TimeSpan.FromSeconds(10));
        }

        Assert.All(fixture.Queue.GetStats().Readers, r => Assert.Equal(0, r.Lag));
        Assert.Equal(["store-logs", "store-metrics"], fixture.Queue.GetStats().Readers.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.Equal(1, metrics.SeriesCount);
        Assert.Equal(0, fixture.Metrics.Sum("flotel_store_write_errors_total"));
        var exposition = fixture.Metrics.ToText();
        Assert.Equal(1, fixture.Metrics.Sum("flotel_store_dropped_records_total", ("reason", "undecodable")));
        Assert.DoesNotContain("flotel_output_", exposition, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(fixture.Directory, "dead-letter")));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(20);
        }
    }
}
