using Flotel.Agent.Metrics;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Agent.Tests.Metrics;

public sealed class MetricsWalTests
{
    private static TimeSeries Series(string name, params (long Ts, double Value)[] samples) =>
        new(LabelSet.Of("__name__", name, "edgedeviceid", "dev1", "metric-source", "system"), [.. samples.Select(s => new Sample(s.Ts, s.Value))]);

    [Fact]
    public void Encode_Scrape_RoundTripsThroughTheRecordFormat()
    {
        TimeSeries[] scrape = [Series("a", (1000, 1.5)), Series("b", (1000, double.NaN)), Series("c", (1000, 3))];
        var record = MetricsWal.Encode(scrape, "system");
        Assert.Equal(MetricsWal.Version, record[0]);
        Assert.True(MetricsWal.TryDecode(record, out var decoded));
        Assert.Equal(scrape.Select(s => s.Labels), decoded.Select(s => s.Labels));
        Assert.Equal(scrape.Select(s => s.Samples[0].TimestampMs), decoded.Select(s => s.Samples[0].TimestampMs));
        Assert.True(double.IsNaN(decoded[1].Samples[0].Value));
    }

    [Fact]
    public void Encode_ManySeries_IsCompressed()
    {
        var scrape = Enumerable.Range(0, 500).Select(i => Series("node_metric_" + (i % 50), (1_700_000_000_000, i))).ToArray();
        var record = MetricsWal.Encode(scrape, "system");
        var raw = scrape.Sum(s => s.Labels.Sum(l => l.Name.Length + l.Value.Length) + 16);
        Assert.True(record.Length < raw / 2, $"{record.Length} bytes for {raw} bytes of labels and samples");
    }

    [Fact]
    public void TryDecode_UnknownVersionOrGarbage_IsRefused()
    {
        Assert.False(MetricsWal.TryDecode([2, 0, 0], out _));
        Assert.False(MetricsWal.TryDecode([MetricsWal.Version, 0xff, 0xff, 0xff], out _));
        Assert.False(MetricsWal.TryDecode([], out _));
        Assert.False(MetricsWal.TryRead(new byte[] { MetricsWal.Version, 40, 1, 2 }, out _));
        Assert.False(MetricsWal.TryRead(new byte[] { MetricsWal.Version1, 0xff, 0xff, 0xff }, out _));
        Assert.False(MetricsWal.TryRead(new byte[] { 3 }, out _));
    }

    [Fact]
    public void TryRead_Version2Record_HeaderDescribesTheScrapeAndBodyIsARemoteWriteRequest()
    {
        TimeSeries[] scrape = [Series("a", (1000, 1), (3000, 2)), Series("b", (2000, 3))];
        var record = MetricsWal.Encode(scrape, "system");
        Assert.True(MetricsWal.TryRead(record, out var read));
        Assert.Equal(("system", 2, 3, 1000L, 3000L), (read.Source, read.Series, read.Samples, read.FirstMs, read.LastMs));
        Assert.Equal(scrape.Select(s => s.Labels), Flotel.Wire.RemoteWrite.RemoteWriteCodec.Decode(read.Body.Span).Series.Select(s => s.Labels));
    }

    [Fact]
    public void TryRead_Version1RecordFromAnOlderWal_ReadWithItsSourceFromTheLabels()
    {
        TimeSeries[] scrape = [Series("a", (1000, 1)), Series("b", (2000, 3))];
        byte[] record = [MetricsWal.Version1, .. Flotel.Wire.RemoteWrite.RemoteWriteCodec.Encode(new Flotel.Wire.RemoteWrite.WriteRequest(scrape))];
        Assert.True(MetricsWal.TryRead(record, out var read));
        Assert.Equal(("system", 2, 2, 1000L, 2000L), (read.Source, read.Series, read.Samples, read.FirstMs, read.LastMs));
        Assert.Equal(["a", "b"], read.DecodeSeries().Select(s => s.Labels.MetricName));
    }

    [Fact]
    public void Decoder_Record_ItemsWeighTheirSampleCountAndExpiredSamplesAreCounted()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(10 * 3_600_000);
        var time = new FakeTimeProvider(now);
        var registry = new MetricsRegistry();
        var decoder = new WalRecordDecoder(TimeSpan.FromHours(1), 1000, time, registry);
        var fresh = now.ToUnixTimeMilliseconds() - 1000;
        var old = now.ToUnixTimeMilliseconds() - (2 * 3_600_000);
        var record = MetricsWal.Encode([Series("a", (old, 1), (fresh, 2)), Series("b", (old, 3)), Series("c", (fresh, 4))], "system");
        var items = new List<(WalScrape Item, int Bytes)>();
        Assert.True(decoder.TryDecode(new QueueRecord(1, record), items));
        var (item, bytes) = Assert.Single(items);
        var series = item.DecodeSeries();
        Assert.Equal(["a", "c"], series.Select(s => s.Labels.MetricName));
        Assert.Equal(2, bytes);
        Assert.Equal((2, fresh, fresh), (item.Samples, item.FirstMs, item.LastMs));
        Assert.Equal(fresh, series[0].Samples.Single().TimestampMs);
        Assert.Equal(2, registry.Sum("flotel_agent_metrics_expired_samples_total"));

        // A record wholly past the retention is counted and not passed on; a fresh one is passed on as stored.
        items.Clear();
        Assert.True(decoder.TryDecode(new QueueRecord(2, MetricsWal.Encode([Series("d", (old, 5))], "system")), items));
        Assert.Empty(items);
        Assert.Equal(3, registry.Sum("flotel_agent_metrics_expired_samples_total"));
        var freshRecord = MetricsWal.Encode([Series("e", (fresh, 6))], "system");
        Assert.True(decoder.TryDecode(new QueueRecord(3, freshRecord), items));
        Assert.True(MetricsWal.TryRead(freshRecord, out var stored));
        Assert.Equal(stored.Body.ToArray(), Assert.Single(items).Item.Body.ToArray());
    }
}
