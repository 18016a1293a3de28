using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Gateway.Query;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// <c>query.maxSamples</c> and <c>query.maxSeries</c> through the HTTP API (real Kestrel, 127.0.0.1): Prometheus's
/// refusal (422, errorType execution, its words) and <c>flotel_query_refused_total</c>. Seven series of eleven samples
/// (six of <c>up</c>, one of <c>other</c>), one a minute.
/// </summary>
public sealed class PromQueryLimitsApiTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000;
    private const int MaxSamples = 50;
    private const int MaxSeries = 6;
    private readonly PromApiHost _host = new();
    private readonly MetricsRegistry _metrics = new();
    private QueryLimiter _limits = null!;
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 6; i++)
        {
            var samples = new Sample[11];
            for (var k = 0; k < samples.Length; k++)
            {
                samples[k] = new Sample(T0 + (k * 60_000L), k);
            }

            _host.Store.Append(LabelSet.Of("__name__", "up", "i", i.ToString(CultureInfo.InvariantCulture), "job", i < 3 ? "a" : "b"), samples);
            if (i == 0)
            {
                _host.Store.Append(LabelSet.Of("__name__", "other", "job", "a"), samples);
            }
        }

        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 600_000));
        _limits = new QueryLimiter(QueryLimiter.DefaultTimeout, QueryLimiter.DefaultMaxConcurrency, _metrics, time);
        var options = new PrometheusApiOptions { MaxSamples = MaxSamples, MaxSeries = MaxSeries };
        _url = await _host.StartAsync(app => app.MapPrometheusApi(_host.Store, time, _limits, _metrics, options));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, string query)
    {
        using var response = await _host.Http.GetAsync(new Uri(_url + path + "?" + query));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Q(string promql) => "query=" + Uri.EscapeDataString(promql);

    [Fact]
    public async Task Query_OverMaxSamples_IsPrometheusTooManySamplesError422()
    {
        // up{job="a"}[10m]: 3 series × 11 samples = 33 held. The range query over the same ten minutes holds those 33
        // and the 41 steps × 3 points of its answer: over 50.
        var (status, body) = await GetAsync("/api/v1/query", Q("up{job=\"a\"}[10m]") + "&time=1700000600");
        var (overStatus, over) = await GetAsync("/api/v1/query_range", Q("up{job=\"a\"}") + "&start=1700000000&end=1700000600&step=15");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal((HttpStatusCode)422, overStatus);
        Assert.Equal("error", over.GetProperty("status").GetString());
        Assert.Equal("execution", over.GetProperty("errorType").GetString());
        Assert.Equal("query processing would load too many samples into memory in query execution", over.GetProperty("error").GetString());
        Assert.Equal(1, _limits.Refused("query_range", "samples"));
        Assert.Equal(0, _limits.Refused("query", "samples"));
        Assert.Equal(1, _metrics.Sum("flotel_query_refused_total", ("api", "query_range"), ("limit", "samples")));
    }

    [Fact]
    public async Task Query_AggregatedRollupOverEverySeries_AnswersUnderMaxSamples()
    {
        // 66 samples in the window (over 50), read series by series: only six results are held.
        var (status, body) = await GetAsync("/api/v1/query", Q("sum(count_over_time(up[15m]))") + "&time=1700000600");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("66", body.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
    }

    [Fact]
    public async Task Query_SelectorOverMaxSeries_IsExecutionError422()
    {
        var (status, body) = await GetAsync("/api/v1/query", Q("count({job=~\"a|b\"})") + "&time=1700000600");

        Assert.Equal((HttpStatusCode)422, status);
        Assert.Equal("execution", body.GetProperty("errorType").GetString());
        Assert.Equal("query processing would load too many series into memory in query execution", body.GetProperty("error").GetString());
        Assert.Equal(1, _limits.Refused("query", "series"));
    }

    [Fact]
    public async Task Series_MoreThanMaxSeriesInAll_IsExecutionError422()
    {
        // Each match[] alone is within the limit (6 and 1 series); together they are seven.
        var (okStatus, ok) = await GetAsync("/api/v1/series", "match[]=up");
        var (status, body) = await GetAsync("/api/v1/series", "match[]=up&match[]=other");

        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(6, ok.GetProperty("data").GetArrayLength());
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Equal("execution", body.GetProperty("errorType").GetString());
        Assert.Equal(1, _limits.Refused("series", "series"));
    }
}
