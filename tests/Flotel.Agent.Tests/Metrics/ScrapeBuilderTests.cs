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

    private static List<Model.Metrics.TimeSeries> Scrape(ScrapeBuilder builder, string text, long now = 1_000_000, ScrapeTarget? target = null, string device = "dev1")
    {
        builder.Begin(device, target ?? System, now);
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
    public void Scrape_SameSeriesNextScrape_SameLabelSetAndNewSample()
    {
        var builder = new ScrapeBuilder();
        const string text = "node_disk_io_now{device=\"vda\"} 3\nnode_disk_io_now{device=\"vdb\"} 4\n";
        var first = Scrape(builder, text, now: 1_000_000);
        var second = Scrape(builder, text.Replace(" 3", " 5", StringComparison.Ordinal), now: 1_005_000);
        Assert.Same(first[0].Labels, second[0].Labels);
        Assert.Same(first[1].Labels, second[1].Labels);
        Assert.Equal((1_005_000L, 5.0), (second[0].Samples[0].TimestampMs, second[0].Samples[0].Value));
    }

    [Fact]
    public void Scrape_OtherDeviceOrSeriesGoneAndBack_LabelsAreBuiltForTheNewScrape()
    {
        var builder = new ScrapeBuilder();
        const string text = "node_disk_io_now{device=\"vda\"} 3\n";
        var first = Scrape(builder, text);
        var renamed = Scrape(builder, text, now: 1_005_000, device: "dev2");
        Assert.Equal("{__name__=\"node_disk_io_now\", device=\"vda\", edgedeviceid=\"dev2\", metric-source=\"system\"}", renamed[0].Labels.ToString());

        // A scrape without the series forgets it; when it comes back its labels are built again (and equal).
        Scrape(builder, "node_memory_Mapped_bytes 1\n", now: 1_010_000, device: "dev2");
        var back = Scrape(builder, text, now: 1_015_000, device: "dev2");
        Assert.NotSame(renamed[0].Labels, back[0].Labels);
        Assert.Equal(renamed[0].Labels, back[0].Labels);
        Assert.NotEqual(first[0].Labels, back[0].Labels);
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
