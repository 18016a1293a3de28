using System.Net;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Query;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Tests.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Query;

/// <summary>
/// The query limits end to end on Kestrel (127.0.0.1, a free port): timeouts, client disconnects and the concurrency
/// gate, for the Prometheus API and <c>_search</c>. No timing assertion: waits poll with generous bounds.
/// </summary>
public sealed class QueryLimiterTests(SlowQueryStore slow) : IClassFixture<SlowQueryStore>, IAsyncLifetime
{
    // Tens of seconds over 10,800 steps (about 50 s here): far longer than any wait below, so a query still running
    // after a disconnect is seen as running, not as finished.
    private const string EndlessQuery = "count_values(\"v\", x)";

    private readonly List<WebApplication> _apps = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(3) };
    private readonly MetricsRegistry _metrics = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        _http.Dispose();
    }

    [Fact]
    public async Task QueryRange_SlowQueryWithAShortTimeoutParameter_Is503TimeoutAndCounted()
    {
        var (url, limits) = await StartPrometheusAsync(QueryLimiter.DefaultTimeout, 20);

        var (status, body) = await GetAsync(url + SlowQueryStore.RangeQuery("sum by (i) (rate(x[5m]))", "&timeout=100ms"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("timeout", body.GetProperty("errorType").GetString());
        Assert.Equal("query timed out in expression evaluation", body.GetProperty("error").GetString());
        Assert.Equal(1, limits.Count("query_range", QueryOutcome.Timeout));
        Assert.Contains("flotel_query_requests_total{api=\"query_range\",result=\"timeout\"} 1\n", _metrics.ToText(), StringComparison.Ordinal);
        Assert.Equal(0, limits.Running);
    }

    [Fact]
    public async Task QueryRange_ConfiguredTimeoutShorterThanTheParameter_Wins()
    {
        var (url, limits) = await StartPrometheusAsync(TimeSpan.FromMilliseconds(100), 20);

        var (status, body) = await GetAsync(url + SlowQueryStore.RangeQuery("sum by (i) (rate(x[5m]))", "&timeout=1h"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("timeout", body.GetProperty("errorType").GetString());
        Assert.Equal(1, limits.Count("query_range", QueryOutcome.Timeout));
    }

    [Fact]
    public async Task QueryRange_ClientDisconnects_EvaluationStopsAndIsCountedCanceled()
    {
        var (url, limits) = await StartPrometheusAsync(QueryLimiter.DefaultTimeout, 20);
        using var client = new CancellationTokenSource();
        var request = _http.GetAsync(new Uri(url + SlowQueryStore.RangeQuery(EndlessQuery)), HttpCompletionOption.ResponseHeadersRead, client.Token);
        await Eventually.TrueAsync(() => limits.Running == 1, "the query to be evaluating");

        await client.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await Eventually.TrueAsync(() => limits.Running == 0, "the evaluation to stop after its client left");
        Assert.Equal(1, limits.Count("query_range", QueryOutcome.Canceled));
        Assert.Contains("flotel_query_running 0\n", _metrics.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxConcurrencyOne_SecondQuery_WaitsForTheSlotThenRuns()
    {
        var (url, limits) = await StartPrometheusAsync(QueryLimiter.DefaultTimeout, 1);
        using var first = new CancellationTokenSource();
        var slow = _http.GetAsync(new Uri(url + SlowQueryStore.RangeQuery(EndlessQuery)), HttpCompletionOption.ResponseHeadersRead, first.Token);
        await Eventually.TrueAsync(() => limits.Running == 1, "the first query to hold the only slot");

        var second = GetAsync(url + "/api/v1/query?query=x%7Bi%3D%227%22%7D&time=" + ((SlowQueryStore.T0 / 1000) + 60));
        await Eventually.TrueAsync(() => limits.Waiting == 1, "the second query to wait for a slot");
        Assert.False(second.IsCompleted);
        Assert.Contains("flotel_query_waiting 1\n", _metrics.ToText(), StringComparison.Ordinal);
        await first.CancelAsync();

        var (status, body) = await second;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(body.GetProperty("data").GetProperty("result").EnumerateArray());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow);
        await Eventually.TrueAsync(() => limits.Running == 0 && limits.Waiting == 0, "both queries to end");
        Assert.Equal(1, limits.Count("query", QueryOutcome.Ok));
    }

    [Fact]
    public async Task MaxConcurrencyOne_SecondQueryWithAShorterTimeout_TimesOutInTheQueue()
    {
        var (url, limits) = await StartPrometheusAsync(QueryLimiter.DefaultTimeout, 1);
        using var first = new CancellationTokenSource();
        var slow = _http.GetAsync(new Uri(url + SlowQueryStore.RangeQuery(EndlessQuery)), HttpCompletionOption.ResponseHeadersRead, first.Token);
        await Eventually.TrueAsync(() => limits.Running == 1, "the first query to hold the only slot");

        var (status, body) = await GetAsync(url + "/api/v1/query?query=x&timeout=200ms");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("timeout", body.GetProperty("errorType").GetString());
        Assert.Equal("query timed out in query queue", body.GetProperty("error").GetString());
        Assert.Equal(1, limits.Count("query", QueryOutcome.Timeout));
        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow);
        await Eventually.TrueAsync(() => limits.Running == 0, "the first query to stop");
    }

    [Fact]
    public async Task Series_WhileTheOnlySlotIsTaken_TimesOutAtTheConfiguredTimeout()
    {
        var (url, limits) = await StartPrometheusAsync(TimeSpan.FromMilliseconds(200), 1);
        using var holder = limits.Begin("query", CancellationToken.None);
        await holder.StartAsync(null, "a test holding the slot");

        var (status, body) = await GetAsync(url + "/api/v1/series?match%5B%5D=x");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("query timed out in query queue", body.GetProperty("error").GetString());
        Assert.Equal(1, limits.Count("series", QueryOutcome.Timeout));
    }

    [Fact]
    public async Task Query_BadTimeoutParameter_IsBadDataCountedAsError()
    {
        var (url, limits) = await StartPrometheusAsync(QueryLimiter.DefaultTimeout, 20);

        var (status, body) = await GetAsync(url + "/api/v1/query?query=x&timeout=soon");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
        Assert.Equal(1, limits.Count("query", QueryOutcome.Error));
        Assert.Equal(0, limits.Running);
    }

    [Fact]
    public async Task Search_WaitingPastItsTimeoutParameter_Is504SearchTimeoutException()
    {
        var (url, limits, logs) = await StartElasticsearchAsync(QueryLimiter.DefaultTimeout, 1);
        using (logs)
        {
            using var holder = limits.Begin("query", CancellationToken.None);
            await holder.StartAsync(null, "a test holding the slot");

            var (status, body) = await PostAsync(url + "/_search", "{\"timeout\":\"100ms\",\"query\":{\"match_all\":{}}}");

            Assert.Equal((HttpStatusCode)504, status);
            Assert.Equal("search_timeout_exception", body.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal(504, body.GetProperty("status").GetInt32());
            Assert.Equal(1, limits.Count("search", QueryOutcome.Timeout));
        }
    }

    [Fact]
    public async Task Search_ClientLeavesWhileWaitingForASlot_StopsWaitingAndIsCountedCanceled()
    {
        var (url, limits, logs) = await StartElasticsearchAsync(QueryLimiter.DefaultTimeout, 1);
        using (logs)
        {
            using var holder = limits.Begin("query", CancellationToken.None);
            await holder.StartAsync(null, "a test holding the slot");
            using var client = new CancellationTokenSource();
            using var content = new StringContent("{\"query\":{\"match_all\":{}}}", Encoding.UTF8, "application/json");
            var request = _http.PostAsync(new Uri(url + "/_search"), content, client.Token);
            await Eventually.TrueAsync(() => limits.Waiting == 1, "the search to wait for the slot");

            await client.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
            await Eventually.TrueAsync(() => limits.Waiting == 0 && limits.Count("search", QueryOutcome.Canceled) == 1, "the search to give up its place");
            Assert.Equal(1, limits.Running);
        }
    }

    [Fact]
    public async Task Search_WithASlotFree_AnswersAndCountsOk()
    {
        var (url, limits, logs) = await StartElasticsearchAsync(QueryLimiter.DefaultTimeout, 1);
        using (logs)
        {
            var (status, body) = await PostAsync(url + "/_search?timeout=30s", "{\"query\":{\"match_all\":{}}}");

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.False(body.GetProperty("timed_out").GetBoolean());
            Assert.Equal(1, limits.Count("search", QueryOutcome.Ok));
            Assert.Equal(0, limits.Running);
        }
    }

    [Fact]
    public async Task Search_TimeoutWithoutAUnit_IsParseException()
    {
        var (url, limits, logs) = await StartElasticsearchAsync(QueryLimiter.DefaultTimeout, 1);
        using (logs)
        {
            var (status, body) = await PostAsync(url + "/_search", "{\"timeout\":\"10\"}");

            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("parse_exception", body.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal(1, limits.Count("search", QueryOutcome.Error));
        }
    }

    [Fact]
    public async Task MultiSearch_OneSearchOutOfTime_OnlyItsItemIs504AndEachSearchIsCounted()
    {
        var (url, limits, logs) = await StartElasticsearchAsync(QueryLimiter.DefaultTimeout, 1);
        using (logs)
        {
            using var content = new StringContent("{}\n{}\n{}\n{\"timeout\":\"0ms\"}\n{}\n{\"size\":1}\n", Encoding.UTF8, "application/x-ndjson");
            using var response = await _http.PostAsync(new Uri(url + "/_msearch"), content);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var statuses = body.GetProperty("responses").EnumerateArray().Select(r => r.GetProperty("status").GetInt32()).ToList();
            Assert.Equal([200, 504, 200], statuses);
            Assert.Equal("search_timeout_exception", body.GetProperty("responses")[1].GetProperty("error").GetProperty("type").GetString());
            Assert.Equal(2, limits.Count("search", QueryOutcome.Ok));
            Assert.Equal(1, limits.Count("search", QueryOutcome.Timeout));
            Assert.Equal(0, limits.Running);
        }
    }

    private async Task<(string Url, QueryLimiter Limits)> StartPrometheusAsync(TimeSpan timeout, int maxConcurrency)
    {
        var limits = new QueryLimiter(timeout, maxConcurrency, _metrics, TimeProvider.System);
        var url = await StartAsync(app => app.MapPrometheusApi(slow.Store, TimeProvider.System, limits));
        return (url, limits);
    }

    private async Task<(string Url, QueryLimiter Limits, TestLogStore Logs)> StartElasticsearchAsync(TimeSpan timeout, int maxConcurrency)
    {
        var limits = new QueryLimiter(timeout, maxConcurrency, _metrics, TimeProvider.System);
        var logs = new TestLogStore();
        var url = await StartAsync(app => app.MapElasticsearchApi(logs.Store, limits));
        return (url, limits, logs);
    }

    private async Task<string> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        _apps.Add(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string url)
    {
        using var response = await _http.GetAsync(new Uri(url));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string url, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri(url), content);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
