using System.IO.Compression;
using System.Text;
using Flotel.Agent.Metrics;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Metrics;

public sealed class ScrapeLoopTests
{
    private static ScrapeTarget Target(string url, IEnumerable<string>? allow = null) => new()
    {
        Source = "wrk1",
        Url = new Uri(url),
        Interval = TimeSpan.FromSeconds(5),
        AllowList = AllowList.OfOrAll(allow),
    };

    private static (ScrapeLoop Loop, List<IReadOnlyList<TimeSeries>> Records, MetricsRegistry Registry) Loop(ScrapeTarget target)
    {
        var records = new List<IReadOnlyList<TimeSeries>>();
        var registry = new MetricsRegistry();
        var loop = new ScrapeLoop(
            target,
            "dev1",
            (record, _) =>
            {
                Assert.True(MetricsWal.TryDecode(record.Span, out var series));
                records.Add(series);
                return ValueTask.FromResult(true);
            },
            registry,
            TimeSpan.FromSeconds(15),
            TimeProvider.System,
            NullLogger.Instance);
        return (loop, records, registry);
    }

    [Fact]
    public async Task ScrapeOnce_OpenMetricsGzipBody_SecondTimestampsKeptAsMilliseconds()
    {
        using var exporter = new LocalHttpServer(async (request, _, response) =>
        {
            Assert.Contains("gzip", request.Headers["Accept-Encoding"], StringComparison.OrdinalIgnoreCase);
            response.ContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            response.AddHeader("Content-Encoding", "gzip");
            using var compressed = new MemoryStream();
            await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                await gzip.WriteAsync("# TYPE jobs counter\njobs_total{q=\"a\"} 3 1700000000.5\n# EOF\n"u8.ToArray());
            }

            await response.OutputStream.WriteAsync(compressed.ToArray());
        });
        var (loop, records, registry) = Loop(Target(exporter.BaseUrl + "/metrics"));
        await using (loop)
        {
            Assert.True(await loop.ScrapeOnceAsync(CancellationToken.None));
        }

        var series = Assert.Single(records);
        var jobs = Assert.Single(series, s => s.Labels.MetricName == "jobs_total");
        Assert.Equal(1_700_000_000_500, jobs.Samples[0].TimestampMs);
        Assert.Equal(1.0, series.Single(s => s.Labels.MetricName == "up").Samples[0].Value);
        Assert.Equal(1, registry.Sum(MetricsComponent.ScrapesMetric, ("target", "wrk1"), ("result", "ok")));
    }

    [Fact]
    public async Task ScrapeOnce_TargetAnswers500_UpZeroStoredAndScrapeCountedFailed()
    {
        using var exporter = new LocalHttpServer((_, _, response) =>
        {
            response.StatusCode = 500;
            return Task.CompletedTask;
        });
        var (loop, records, registry) = Loop(Target(exporter.BaseUrl + "/metrics"));
        await using (loop)
        {
            Assert.True(await loop.ScrapeOnceAsync(CancellationToken.None));
        }

        var series = Assert.Single(records);
        Assert.Equal(["up", "scrape_duration_seconds", "scrape_samples_scraped"], series.Select(s => s.Labels.MetricName));
        Assert.Equal(0.0, series[0].Samples[0].Value);
        Assert.Equal(1, registry.Sum(MetricsComponent.ScrapesMetric, ("target", "wrk1"), ("result", "failed")));
    }

    [Fact]
    public async Task ScrapeOnce_AllowList_FilteredSamplesCountedNotStored()
    {
        using var exporter = new LocalHttpServer(async (_, _, response) =>
            await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes("keep_me 1\ndrop_me 2\ndrop_me_too 3\n")));
        var (loop, records, registry) = Loop(Target(exporter.BaseUrl + "/", ["keep_me"]));
        await using (loop)
        {
            Assert.True(await loop.ScrapeOnceAsync(CancellationToken.None));
        }

        Assert.Equal(["keep_me", "up", "scrape_duration_seconds", "scrape_samples_scraped"], Assert.Single(records).Select(s => s.Labels.MetricName));
        Assert.Equal(2, registry.Sum(MetricsComponent.SamplesMetric, ("target", "wrk1"), ("result", "not_allowed")));
        Assert.Equal(1, registry.Sum(MetricsComponent.SamplesMetric, ("target", "wrk1"), ("result", "stored")));
    }
}
