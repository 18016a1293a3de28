using System.Globalization;
using System.Net;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// <c>store.metrics.maxSeries</c> end to end: the store keeps the first series up to the limit and counts the rest;
/// once it is full, remote write answers 400 naming the limit for requests that bring new series, and still 204 for
/// requests whose series all exist.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewaySeriesLimitTests
{
    [Fact]
    public async Task RemoteWrite_150SeriesWithALimitOf100_100StoredRestCountedThen400ForNewSeriesAnd204ForExisting()
    {
        await using var gateway = await InProcessGateway.StartAsync(o => o.MetricMaxSeries = 100);
        var metric = "flotel_limited_" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Below the limit nothing is checked at ingest: the store keeps 100 and refuses (counts) 50.
        Assert.Equal(HttpStatusCode.NoContent, (await WriteAsync(gateway, metric, 0, 150, now - 2000)).Status);
        var metrics = string.Empty;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            return GatewayTestKit.ExpositionValue(metrics, "flotel_store_series_refused_total") == 50;
        }, TimeSpan.FromSeconds(60)), "the store did not count 50 refused series:\n" + metrics);
        Assert.Equal(100, GatewayTestKit.ExpositionValue(metrics, "flotel_store_metric_series"));
        Assert.Equal(50, GatewayTestKit.ExpositionValue(metrics, "flotel_store_samples_refused_total"));

        // Full: a request with new series gets a 4xx that names the limit.
        var (status, body) = await WriteAsync(gateway, metric, 140, 160, now - 1000);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("store.metrics.maxSeries", body, StringComparison.Ordinal);
        Assert.Contains("100", body, StringComparison.Ordinal);

        // Existing series keep flowing.
        Assert.Equal(HttpStatusCode.NoContent, (await WriteAsync(gateway, metric, 0, 100, now - 1000)).Status);
        Assert.True(await Eventually.PollAsync(async () =>
            (await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count(count_over_time({metric}[1h]) == 2)"))?.FirstOrDefault()?["value"]?[1]?.ToString() == "100",
            TimeSpan.FromSeconds(60)), "the existing series did not receive their second sample");
        var stored = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count({metric})");
        Assert.Equal("100", stored![0]!["value"]![1]!.ToString());
        metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(1, GatewayTestKit.ExpositionValue(metrics, "flotel_remote_write_rejected_total{reason=\"series_limit\"}"));
    }

    private static async Task<(HttpStatusCode Status, string Body)> WriteAsync(InProcessGateway gateway, string metric, int from, int to, long timestampMs)
    {
        var series = new List<TimeSeries>();
        for (var i = from; i < to; i++)
        {
            series.Add(new TimeSeries(
                new LabelSet([new Label("__name__", metric), new Label("i", i.ToString(CultureInfo.InvariantCulture))]),
                [new Sample(timestampMs, i)]));
        }

        using var message = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest(series)));
        using var response = await gateway.Http.SendAsync(message);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
