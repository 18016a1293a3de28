using System.Net;
using System.Text.Json;
using Flotel.Gateway.Query;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// <c>query.prometheus.labelNames</c>: with <c>utf8</c> (default) Flotta's <c>metric-source</c> is answered as stored;
/// with <c>sanitize</c> every answer spells it <c>metric_source</c> and every query may.
/// </summary>
public sealed class PrometheusLabelNamesTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000;
    private readonly PromApiHost _host = new();
    private string _utf8 = string.Empty;
    private string _sanitize = string.Empty;

    public async Task InitializeAsync()
    {
        _host.Store.Append(LabelSet.Of("__name__", "up", "edgedeviceid", "dev1", "metric-source", "system", "instance", "a"), [new Sample(T0, 1)]);
        _host.Store.Append(LabelSet.Of("__name__", "up", "edgedeviceid", "dev1", "metric-source", "flotel-agent", "instance", "b"), [new Sample(T0, 1)]);
        _host.Store.Append(
            LabelSet.Of("__name__", "up", "edgedeviceid", "dev2", "metric-source", "system", "1st.label", "x", "instance", "c"), [new Sample(T0, 0)]);
        _utf8 = await StartAsync(PrometheusLabelNames.Utf8);
        _sanitize = await StartAsync(PrometheusLabelNames.Sanitize);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("metric-source", "metric_source")]
    [InlineData("metric_source", "metric_source")]
    [InlineData("1st.label", "_1st_label")]
    [InlineData("a😀b", "a_b")]
    [InlineData("é", "_")]
    [InlineData("ok_name9", "ok_name9")]
    public void Sanitize_Name_IsUnderscoreEscaped(string name, string expected)
    {
        Assert.Equal(expected, LabelNameView.Sanitize(name));
        Assert.True(LabelNameView.IsClassic(LabelNameView.Sanitize(name)));
    }

    [Fact]
    public async Task Query_Utf8_AnswersNamesAsStored()
    {
        var result = await ResultAsync(_utf8, "/api/v1/query?time=1700000000&query=up");
        Assert.All(result, s => Assert.True(s.GetProperty("metric").TryGetProperty("metric-source", out _)));
    }

    [Fact]
    public async Task Query_Sanitize_AnswersSanitisedNamesOnly()
    {
        var result = await ResultAsync(_sanitize, "/api/v1/query?time=1700000000&query=up");
        Assert.Equal(3, result.Count);
        foreach (var s in result)
        {
            var names = s.GetProperty("metric").EnumerateObject().Select(p => p.Name).ToList();
            Assert.All(names, n => Assert.True(LabelNameView.IsClassic(n), n));
            Assert.Contains("metric_source", names);
        }

        Assert.Contains(result, s => s.GetProperty("metric").TryGetProperty("_1st_label", out var v) && v.GetString() == "x");
    }

    [Theory]
    [InlineData("up{metric_source=\"system\"}", 2)]
    [InlineData("up{metric_source=~\"flotel.*\"}", 1)]
    [InlineData("up{metric_source!=\"system\"}", 1)]
    [InlineData("count by (metric_source) (up)", 2)]
    [InlineData("sum without (metric_source, instance, _1st_label) (up)", 2)]
    [InlineData("up * on(instance, metric_source) up", 3)]
    [InlineData("label_replace(up, \"copy\", \"$1\", \"metric_source\", \"(.*)\")", 3)]
    [InlineData("count_values(\"metric_source\", up)", 2)]
    [InlineData("label_join(up, \"metric_source\", \",\", \"instance\")", 3)]
    public async Task Query_SanitizeWithSanitisedName_SelectsTheStoredName(string query, int expectedSeries)
    {
        var result = await ResultAsync(_sanitize, "/api/v1/query?time=1700000000&query=" + Uri.EscapeDataString(query));
        Assert.Equal(expectedSeries, result.Count);
        if (query.StartsWith("count by", StringComparison.Ordinal))
        {
            Assert.Equal(["flotel-agent", "system"], result.Select(s => s.GetProperty("metric").GetProperty("metric_source").GetString()).Order(StringComparer.Ordinal));
        }

        if (query.StartsWith("label_replace", StringComparison.Ordinal))
        {
            Assert.All(result, s => Assert.Equal(s.GetProperty("metric").GetProperty("metric_source").GetString(), s.GetProperty("metric").GetProperty("copy").GetString()));
        }
    }

    [Fact]
    public async Task Query_Utf8WithSanitisedName_SelectsNothing()
    {
        // Today's behaviour is kept by default: metric_source is another label, which no series has.
        var result = await ResultAsync(_utf8, "/api/v1/query?time=1700000000&query=" + Uri.EscapeDataString("up{metric_source=\"system\"}"));
        Assert.Empty(result);
    }

    [Fact]
    public async Task QueryRange_Sanitize_AnswersSanitisedNames()
    {
        var result = await ResultAsync(_sanitize, "/api/v1/query_range?start=1700000000&end=1700000030&step=15&query=" + Uri.EscapeDataString("up{metric_source=\"flotel-agent\"}"));
        var series = Assert.Single(result);
        Assert.Equal("flotel-agent", series.GetProperty("metric").GetProperty("metric_source").GetString());
    }

    [Fact]
    public async Task SeriesLabelsAndValues_Sanitize_AnswerAndAcceptSanitisedNames()
    {
        var series = await DataAsync(_sanitize, "/api/v1/series?match[]=" + Uri.EscapeDataString("{metric_source=\"system\"}"));
        Assert.Equal(2, series.GetArrayLength());
        Assert.All(series.EnumerateArray(), s => Assert.Equal("system", s.GetProperty("metric_source").GetString()));

        var labels = await DataAsync(_sanitize, "/api/v1/labels?match[]=up");
        Assert.Equal(["_1st_label", "__name__", "edgedeviceid", "instance", "metric_source"], labels.EnumerateArray().Select(e => e.GetString()!));

        var values = await DataAsync(_sanitize, "/api/v1/label/metric_source/values?match[]=up");
        Assert.Equal(["flotel-agent", "system"], values.EnumerateArray().Select(e => e.GetString()!));

        var utf8Labels = await DataAsync(_utf8, "/api/v1/labels");
        Assert.Contains("metric-source", utf8Labels.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Query_SanitizeCollision_TheNameThatNeededSanitisingWins()
    {
        _host.Store.Append(LabelSet.Of("__name__", "clash", "metric-source", "stored-with-hyphen", "metric_source", "stored-classic"), [new Sample(T0, 1)]);
        var result = await ResultAsync(_sanitize, "/api/v1/query?time=1700000000&query=clash");
        var metric = Assert.Single(result).GetProperty("metric");
        Assert.Equal("stored-with-hyphen", metric.GetProperty("metric_source").GetString());
        Assert.Equal(2, metric.EnumerateObject().Count()); // one metric_source key, never two
    }

    [Fact]
    public void ToStored_NameStoredAfterTheListing_IsMatchedOnceTheRefreshIntervalPassed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0));
        var view = new LabelNameView(_host.Store, time);
        Assert.Equal("metric-source", view.ToStored("metric_source"));
        Assert.Equal("late_name", view.ToStored("late_name"));

        _host.Store.Append(LabelSet.Of("__name__", "late", "late-name", "v"), [new Sample(T0, 1)]);
        Assert.Equal("late_name", view.ToStored("late_name"));
        time.Advance(LabelNameView.RefreshInterval);
        Assert.Equal("late-name", view.ToStored("late_name"));
    }

    private Task<string> StartAsync(PrometheusLabelNames mode)
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 20_000));
        return _host.StartAsync(app => app.MapPrometheusApi(_host.Store, time,
            new QueryLimiter(QueryLimiter.DefaultTimeout, QueryLimiter.DefaultMaxConcurrency, new MetricsRegistry(), time), null,
            new PrometheusApiOptions { LabelNames = mode }));
    }

    private async Task<JsonElement> DataAsync(string url, string path)
    {
        using var response = await _host.Http.GetAsync(new Uri(url + path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, path + ": " + text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("data").Clone();
    }

    private async Task<List<JsonElement>> ResultAsync(string url, string path) =>
        [.. (await DataAsync(url, path)).GetProperty("result").EnumerateArray()];
}
