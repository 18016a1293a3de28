using System.Text;
using Flotel.Agent.Metrics;
using Flotel.Wire.Exposition;

namespace Flotel.Agent.Tests.Metrics;

public sealed class ScrapeBuilderTests
{
    private static readonly ScrapeTarget System = new()
    {
        Source = "system",
        Url = new Uri("http://127.0.0.1:9100/metrics"),
        Interval = TimeSpan.FromSeconds(5),
        AllowList = AllowList.Of(["node_memory_Mapped_bytes", "node_disk_io_now", "labelled"]),
    };

    private static List<Model.Metrics.TimeSeries> Scrape(ScrapeBuilder builder, string text, long now = 1_000_000, ScrapeTarget? target = null)
    {
        builder.Begin("dev1", target ?? System, now);
        new ExpositionParser().Parse(Encoding.UTF8.GetBytes(text), builder);
        return builder.Finish(up: true, TimeSpan.FromMilliseconds(12));
    }

    [Fact]
    public void Scrape_AllowListedSamples_GetDeviceAndSourceLabelsSorted()
    {
        var builder = new ScrapeBuilder();
        var series = Scrape(builder, "# TYPE node_disk_io_now gauge\nnode_disk_io_now{device=\"vda\"} 3\nnode_load1 0.5\nnode_memory_Mapped_bytes 4.1e8\n");
        var data = series.Where(s => s.Labels.MetricName!.StartsWith("node_", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, data.Count);
        Assert.Equal("{__name__=\"node_disk_io_now\", device=\"vda\", edgedeviceid=\"dev1\", metric-source=\"system\"}", data[0].Labels.ToString());
        Assert.Equal("{__name__=\"node_memory_Mapped_bytes\", edgedeviceid=\"dev1\", metric-source=\"system\"}", data[1].Labels.ToString());
        Assert.Equal(1, builder.NotAllowed);
        Assert.Equal(3, builder.Scraped);
        foreach (var s in series)
        {
            var names = s.Labels.Select(l => l.Name).ToArray();
            Assert.Equal(names.Order(StringComparer.Ordinal), names);
        }
    }

    [Fact]
    public void Scrape_SampleWithOwnDeviceLabel_AgentsValueWinsAndEmptyLabelsAreAbsent()
    {
        // The device label names the sender, so the agent's wins; an empty value is an absent label (data model).
        var series = Scrape(new ScrapeBuilder(), "labelled{edgedeviceid=\"spoof\",metric_source=\"mine\",empty=\"\"} 1\n");
        Assert.Equal("{__name__=\"labelled\", edgedeviceid=\"dev1\", metric-source=\"system\", metric_source=\"mine\"}", series[0].Labels.ToString());
    }

    [Fact]
    public void Scrape_TimestampExposed_IsKeptOtherwiseScrapeTime()
    {
        var series = Scrape(new ScrapeBuilder(), "node_disk_io_now 1 123456\nnode_memory_Mapped_bytes 2\n", now: 999_000);
        Assert.Equal(123456, series[0].Samples[0].TimestampMs);
        Assert.Equal(999_000, series[1].Samples[0].TimestampMs);
    }

    [Fact]
    public void Scrape_SameExposedTimestampTwice_SecondIsCountedNotStored()
    {
        var builder = new ScrapeBuilder();
        Scrape(builder, "node_disk_io_now 1 5000\n");
        var again = Scrape(builder, "node_disk_io_now 1 5000\n");
        Assert.Equal(1, builder.OutOfOrder);
        Assert.DoesNotContain(again, s => s.Labels.MetricName == "node_disk_io_now");
        var newer = Scrape(builder, "node_disk_io_now 2 6000\n");
        Assert.Contains(newer, s => s.Labels.MetricName == "node_disk_io_now" && s.Samples[0].TimestampMs == 6000);
    }

    [Fact]
    public void Finish_Always_AddsHealthSeriesWithInstance()
    {
        var builder = new ScrapeBuilder();
        builder.Begin("dev1", System, 42);
        var series = builder.Finish(up: false, TimeSpan.FromSeconds(1.5));
        Assert.Equal(["up", "scrape_duration_seconds", "scrape_samples_scraped"], series.Select(s => s.Labels.MetricName));
        Assert.Equal("{__name__=\"up\", edgedeviceid=\"dev1\", instance=\"127.0.0.1:9100\", metric-source=\"system\"}", series[0].Labels.ToString());
        Assert.Equal(0, series[0].Samples[0].Value);
        Assert.Equal(1.5, series[1].Samples[0].Value);
        Assert.All(series, s => Assert.Equal(42, s.Samples[0].TimestampMs));
    }

    [Fact]
    public void Scrape_MalformedLine_IsCountedAndTheRestKept()
    {
        var builder = new ScrapeBuilder();
        var series = Scrape(builder, "node_disk_io_now 1\nthis is { not valid\nnode_memory_Mapped_bytes 2\n");
        Assert.Equal(1, builder.Malformed);
        Assert.Equal(2, series.Count(s => s.Labels.MetricName!.StartsWith("node_", StringComparison.Ordinal)));
    }
}
