using System.Globalization;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Store.Tests.Metrics;

/// <summary><see cref="MetricMetadataStore"/>: Prometheus's selection by metric and limits, and the documented bounds.</summary>
public sealed class MetricMetadataStoreTests
{
    [Fact]
    public void Record_SameEntryTwice_KeepsOne()
    {
        var store = new MetricMetadataStore();
        store.Record(MetricMetadataType.Counter, "a_total", "A.", string.Empty);
        store.Record(MetricMetadataType.Counter, "a_total", "A.", string.Empty);

        var (name, entries) = Assert.Single(store.Select(null, -1, -1));
        Assert.Equal("a_total", name);
        Assert.Equal(new MetricMetadataEntry("counter", "A.", string.Empty), Assert.Single(entries));
    }

    [Fact]
    public void Record_MoreDistinctEntriesThanKept_KeepsTheNewest()
    {
        var store = new MetricMetadataStore();
        for (var i = 0; i < MetricMetadataStore.MaxEntriesPerMetric + 2; i++)
        {
            store.Record(MetricMetadataType.Gauge, "g", "help " + i.ToString(CultureInfo.InvariantCulture), string.Empty);
        }

        var entries = Assert.Single(store.Select("g", -1, -1)).Value;
        Assert.Equal(MetricMetadataStore.MaxEntriesPerMetric, entries.Length);
        Assert.Equal("help 2", entries[0].Help);
        Assert.Equal("help " + (MetricMetadataStore.MaxEntriesPerMetric + 1).ToString(CultureInfo.InvariantCulture), entries[^1].Help);
        Assert.Equal(0, store.DroppedTotal);
    }

    [Fact]
    public void Record_PastMaxMetrics_DropsNewFamiliesAndCountsThem()
    {
        var store = new MetricMetadataStore();
        for (var i = 0; i < MetricMetadataStore.MaxMetrics + 5; i++)
        {
            store.Record(MetricMetadataType.Counter, "m" + i.ToString(CultureInfo.InvariantCulture), "h", string.Empty);
        }

        Assert.Equal(MetricMetadataStore.MaxMetrics, store.MetricCount);
        Assert.Equal(5, store.DroppedMetricsLimitTotal);

        // A family already held still takes new entries.
        store.Record(MetricMetadataType.Gauge, "m0", "changed", string.Empty);
        Assert.Equal(2, Assert.Single(store.Select("m0", -1, -1)).Value.Length);
    }

    [Fact]
    public void Record_PastMaxTextChars_DropsAndCounts()
    {
        var store = new MetricMetadataStore();
        var help = new string('h', 1024 * 1024);
        for (var i = 0; i < 5; i++)
        {
            store.Record(MetricMetadataType.Counter, "big" + i.ToString(CultureInfo.InvariantCulture), help, string.Empty);
        }

        Assert.Equal(3, store.MetricCount); // 3 × (1 Mi + 4) fit in 4 Mi, a 4th does not
        Assert.Equal(2, store.DroppedSizeLimitTotal);
    }

    [Fact]
    public void Select_Limits_AreApplied()
    {
        var store = new MetricMetadataStore();
        foreach (var name in new[] { "c", "a", "b" })
        {
            store.Record(MetricMetadataType.Summary, name, "one", string.Empty);
            store.Record(MetricMetadataType.Summary, name, "two", "seconds");
        }

        Assert.Equal(["a", "b", "c"], store.Select(null, -1, -1).Select(p => p.Key));
        Assert.Equal(["a", "b"], store.Select(null, 2, -1).Select(p => p.Key));
        Assert.Empty(store.Select(null, 0, -1));
        Assert.Empty(store.Select("a", 0, -1));
        Assert.Empty(store.Select("zzz", -1, -1));
        Assert.All(store.Select(null, -1, 1), p => Assert.Single(p.Value));
        Assert.All(store.Select(null, -1, 0), p => Assert.Equal(2, p.Value.Length));
        Assert.Equal("summary", store.Select("b", -1, -1)[0].Value[0].Type);
    }

    [Theory]
    [InlineData(MetricMetadataType.Unknown, "unknown")]
    [InlineData(MetricMetadataType.Counter, "counter")]
    [InlineData(MetricMetadataType.Gauge, "gauge")]
    [InlineData(MetricMetadataType.Histogram, "histogram")]
    [InlineData(MetricMetadataType.GaugeHistogram, "gaugehistogram")]
    [InlineData(MetricMetadataType.Summary, "summary")]
    [InlineData(MetricMetadataType.Info, "info")]
    [InlineData(MetricMetadataType.StateSet, "stateset")]
    [InlineData((MetricMetadataType)99, "unknown")]
    public void TypeName_EveryWireType_IsPrometheusSpelling(MetricMetadataType type, string expected) =>
        Assert.Equal(expected, MetricMetadataStore.TypeName(type));
}
