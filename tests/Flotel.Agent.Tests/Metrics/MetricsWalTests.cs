using Flotel.Agent.Metrics;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;

namespace Flotel.Agent.Tests.Metrics;

public sealed class MetricsWalTests
{
    private static TimeSeries Series(string name, params (long Ts, double Value)[] samples) =>
        new(LabelSet.Of("__name__", name, "edgedeviceid", "dev1", "metric-source", "system"), [.. samples.Select(s => new Sample(s.Ts, s.Value))]);

    [Fact]
    public void Encode_Scrape_RoundTripsThroughTheRecordFormat()
    {
        TimeSeries[] scrape = [Series("a", (1000, 1.5)), Series("b", (1000, double.NaN)), Series("c", (1000, 3))];
        var record = MetricsWal.Encode(scrape);
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
        var record = MetricsWal.Encode(scrape);
        var raw = scrape.Sum(s => s.Labels.Sum(l => l.Name.Length + l.Value.Length) + 16);
        Assert.True(record.Length < raw / 2, $"{record.Length} bytes for {raw} bytes of labels and samples");
    }

    [Fact]
    public void TryDecode_UnknownVersionOrGarbage_IsRefused()
    {
        Assert.False(MetricsWal.TryDecode([2, 0, 0], out _));
        Assert.False(MetricsWal.TryDecode([MetricsWal.Version, 0xff, 0xff, 0xff], out _));
        Assert.False(MetricsWal.TryDecode([], out _));
    }

    [Fact]
    public void Decoder_Record_ItemsWeighTheirSampleCountAndExpiredSamplesAreCounted()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(10 * 3_600_000);
        var time = new FixedTime(now);
        var registry = new MetricsRegistry();
        var decoder = new WalRecordDecoder(TimeSpan.FromHours(1), time, registry);
        var fresh = now.ToUnixTimeMilliseconds() - 1000;
        var old = now.ToUnixTimeMilliseconds() - (2 * 3_600_000);
        var record = MetricsWal.Encode([Series("a", (old, 1), (fresh, 2)), Series("b", (old, 3)), Series("c", (fresh, 4))]);
        var items = new List<(TimeSeries Item, int Bytes)>();
        Assert.True(decoder.TryDecode(new QueueRecord(1, record), items));
        Assert.Equal(["a", "c"], items.Select(i => i.Item.Labels.MetricName));
        Assert.Equal([1, 1], items.Select(i => i.Bytes));
        Assert.Equal(fresh, items[0].Item.Samples.Single().TimestampMs);
        Assert.Equal(2, registry.Sum("flotel_agent_metrics_expired_samples_total"));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
