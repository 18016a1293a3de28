using System.Collections.Concurrent;
using System.Net;
using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Metrics;

public sealed class RemoteWriteSenderTests
{
    private static TimeSeries Series(string name, long ts, double value = 1) =>
        new(LabelSet.Of("__name__", name, "edgedeviceid", "dev1"), [new Sample(ts, value)]);

    private static LocalHttpServer NoContentReceiver() => new((_, _, response) =>
    {
        response.StatusCode = 204;
        return Task.CompletedTask;
    });

    private static WalScrape Scrape(params TimeSeries[] series) => WalScrape.FromSeries("system", series);

    private static RemoteWriteSender Sender(string url, int timeoutSeconds = 10) =>
        new(new MetricsReceiverPlan { Url = url, TimeoutSeconds = timeoutSeconds }, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public void Merge_SameLabelsFromSeveralScrapes_OneSeriesWithSamplesInTimeOrder()
    {
        var request = RemoteWriteSender.Merge([Series("a", 1000), Series("b", 1000), Series("a", 2000), Series("a", 1500)], out var first, out var last, out var samples);
        Assert.Equal(["a", "b"], request.Series.Select(s => s.Labels.MetricName));
        Assert.Equal([1000L, 1500, 2000], request.Series[0].Samples.Select(s => s.TimestampMs));
        Assert.Equal((1000L, 2000L, 4), (first, last, samples));
    }

    [Fact]
    public async Task SendAsync_OneScrape_PostsItsStoredBodyAsARemoteWrite10Request()
    {
        using var receiver = NoContentReceiver();
        using var sender = Sender(receiver.BaseUrl + "/api/v1/write");
        var scrape = Scrape(Series("a", 1000, 1), Series("b", 1000, 2));
        var outcome = await sender.SendAsync([scrape], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(outcome);
        var (path, body, headers) = Assert.Single(receiver.Requests);
        Assert.Equal("/api/v1/write", path);
        Assert.Equal("snappy", headers["Content-Encoding"]);
        Assert.Equal("application/x-protobuf", headers["Content-Type"]);
        Assert.Equal("0.1.0", headers["X-Prometheus-Remote-Write-Version"]);
        Assert.Equal(scrape.Body.ToArray(), body);
        Assert.Equal(["a", "b"], RemoteWriteCodec.Decode(body).Series.Select(s => s.Labels.MetricName));
    }

    [Fact]
    public async Task SendAsync_ScrapesInTimeOrder_OneRequestWithEverySeriesInWalOrder()
    {
        using var receiver = NoContentReceiver();
        using var sender = Sender(receiver.BaseUrl + "/api/v1/write");
        var other = WalScrape.FromSeries("workload", [Series("w", 500, 9)]);
        var outcome = await sender.SendAsync([Scrape(Series("a", 1000, 1), Series("b", 1000, 2)), other, Scrape(Series("a", 2000, 3))], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(outcome);
        var decoded = RemoteWriteCodec.Decode(Assert.Single(receiver.Requests).Body);
        Assert.Equal(["a", "b", "w", "a"], decoded.Series.Select(s => s.Labels.MetricName));
        Assert.Equal([1.0, 2, 9, 3], decoded.Series.Select(s => s.Samples.Single().Value));
    }

    [Fact]
    public async Task SendAsync_ScrapeOlderThanTheTargetsPrevious_SeriesMergedWithSamplesInTimeOrder()
    {
        using var receiver = NoContentReceiver();
        using var sender = Sender(receiver.BaseUrl + "/api/v1/write");

        // The wall clock stepped back between two scrapes of one target.
        var outcome = await sender.SendAsync([Scrape(Series("a", 2000, 2)), Scrape(Series("a", 1000, 1))], CancellationToken.None);
        Assert.IsType<DeliveryOutcome<WalScrape>.Delivered>(outcome);
        var series = Assert.Single(RemoteWriteCodec.Decode(Assert.Single(receiver.Requests).Body).Series);
        Assert.Equal([1000L, 2000], series.Samples.Select(s => s.TimestampMs));
    }

    [Theory]
    [InlineData(400, null, typeof(DeliveryOutcome<WalScrape>.Rejected))]
    [InlineData(404, null, typeof(DeliveryOutcome<WalScrape>.Rejected))]
    [InlineData(429, "7", typeof(DeliveryOutcome<WalScrape>.Retryable))]
    [InlineData(500, null, typeof(DeliveryOutcome<WalScrape>.Retryable))]
    [InlineData(503, "3", typeof(DeliveryOutcome<WalScrape>.Retryable))]
    [InlineData(413, null, typeof(DeliveryOutcome<WalScrape>.RequestTooLarge))]
    public async Task SendAsync_ReceiverStatus_ClassifiedWithItsMessage(int status, string? retryAfter, Type expected)
    {
        using var receiver = new LocalHttpServer(async (_, _, response) =>
        {
            response.StatusCode = status;
            if (retryAfter is not null)
            {
                response.Headers["Retry-After"] = retryAfter;
            }

            await response.OutputStream.WriteAsync("the receiver's words"u8.ToArray());
        });
        using var sender = Sender(receiver.BaseUrl + "/api/v1/write");
        var outcome = await sender.SendAsync([Scrape(Series("a", 1000))], CancellationToken.None);
        Assert.IsType(expected, outcome);
        switch (outcome)
        {
            case DeliveryOutcome<WalScrape>.Rejected r:
                Assert.Equal("http_" + status, r.Code);
                Assert.Equal($"HTTP {status}: the receiver's words", r.Reason);
                break;
            case DeliveryOutcome<WalScrape>.Retryable r:
                Assert.Contains("the receiver's words", r.Reason, StringComparison.Ordinal);
                Assert.Equal(retryAfter is null ? null : TimeSpan.FromSeconds(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture)), r.RetryAfter);
                break;
        }
    }

    [Fact]
    public async Task SendAsync_NothingListening_Retryable()
    {
        using var sender = Sender("http://127.0.0.1:" + Loopback.FreePort() + "/api/v1/write");
        Assert.IsType<DeliveryOutcome<WalScrape>.Retryable>(await sender.SendAsync([Scrape(Series("a", 1000))], CancellationToken.None));
    }

    [Fact]
    public async Task SendAsync_ReceiverSlowerThanTimeoutSeconds_RetryableNamingTheTimeout()
    {
        using var release = new SemaphoreSlim(0);
        using var receiver = new LocalHttpServer(async (_, _, response) =>
        {
            await release.WaitAsync(TimeSpan.FromSeconds(10));
            response.StatusCode = 204;
        });
        using var sender = Sender(receiver.BaseUrl + "/api/v1/write", timeoutSeconds: 1);
        var outcome = await sender.SendAsync([Scrape(Series("a", 1000))], CancellationToken.None);
        release.Release();
        var retry = Assert.IsType<DeliveryOutcome<WalScrape>.Retryable>(outcome);
        Assert.Contains("timeoutSeconds=1", retry.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delivery_RequestNumSamples_EveryRequestHoldsAtMostThatManySamples()
    {
        using var temp = new TempDirectory("flotel-agent-test-");
        var dir = temp.Path;
        await using var queue = DurableQueue.Open(new DurableQueueOptions { Directory = dir, Fsync = false });
        for (var scrape = 0; scrape < 10; scrape++)
        {
            // Ten scrapes of seven series each: 70 samples.
            await queue.AppendAsync(MetricsWal.Encode([.. Enumerable.Range(0, 7).Select(i => Series("m" + i, 1_700_000_000_000 + (scrape * 1000)))], "system"));
        }

        // One scrape of 30 series: more than one request may carry.
        await queue.AppendAsync(MetricsWal.Encode([.. Enumerable.Range(0, 30).Select(i => Series("big" + i, 1_700_000_100_000))], "system"));

        var sender = new CapturingSender();
        var registry = new MetricsRegistry();
        await using (var delivery = new QueueDelivery<WalScrape>(
            "remote-write", queue.OpenReader("remote-write"), new WalRecordDecoder(TimeSpan.FromDays(36500), 20, TimeProvider.System, registry), sender, null,
            MetricsComponent.DeliveryOptionsFor(20, new MetricsComponentOptions()), registry, TimeProvider.System, NullLogger.Instance))
        {
            delivery.Start();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (sender.Batches.Sum(b => b.Sum(s => s.Samples)) < 100 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        // Whole scrapes while they fit (7 + 7, the next would make 21); the 30-sample scrape cut into 20 + 10; WAL order.
        Assert.Equal([14, 14, 14, 14, 14, 20, 10], sender.Batches.Select(b => b.Sum(s => s.Samples)));
        var series = sender.Batches.SelectMany(b => b).SelectMany(s => s.DecodeSeries()).ToList();
        Assert.Equal(100, series.Count);
        var times = series.Select(s => s.Samples[0].TimestampMs).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => "big" + i), series.Skip(70).Select(s => s.Labels.MetricName));
    }

    private sealed class CapturingSender : IBatchSender<WalScrape>
    {
        public ConcurrentQueue<WalScrape[]> Batches { get; } = new();

        public ValueTask<DeliveryOutcome<WalScrape>> SendAsync(IReadOnlyList<WalScrape> batch, CancellationToken cancellationToken)
        {
            Batches.Enqueue([.. batch]);
            return ValueTask.FromResult(DeliveryOutcome<WalScrape>.Success);
        }
    }
}
