using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// Malformed and extreme queries and parameters over HTTP: a query Prometheus refuses is refused with its status (400
/// or 422) in Prometheus's JSON shape, an extreme but valid one is answered, and nothing is a 500.
/// </summary>
public sealed class PromBadInputTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000;
    private readonly PromApiHost _host = new();
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        _host.Store.Append(LabelSet.Of("__name__", "up", "job", "node", "instance", "a"), [new Sample(T0, 1), new Sample(T0 + 15_000, 1)]);
        _url = await _host.StartAsync(app => app.MapPrometheusApi(_host.Store, TimeProvider.System));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    // Queries Prometheus 2.42 refuses, with its status: 400 (bad_data, found by the parser) or 422 (execution, found
    // while evaluating), on both /query and /query_range (each checked against a running prometheus 2.42.0).
    public static TheoryData<string, int> RefusedQueries => new()
    {
        { "up[99999999999999999999s]", 400 }, { "up[9223372036854775807y]", 400 }, { "up offset 99999999999999999999s", 400 },
        { "rate(up[1000000000y])", 400 }, { "\"\\UFFFFFFFF\"", 400 }, { "\"\\uD800\"", 400 }, { "\"\\x\"", 400 }, { "\"\\u12\"", 400 },
        { "\"\\", 400 }, { "`unterminated", 400 }, { "'\\z'", 400 }, { "0x", 400 }, { "0xFFFFFFFFFFFFFFFFFF", 400 }, { "1e999999", 400 },
        { "1" + new string('0', 400), 400 }, { ".5e", 400 }, { "1..2", 400 },
        { "count_values(\"bad-label\", up)", 422 }, { "count_values(\"\", up)", 422 },
        { "topk(1e300, up)", 422 }, { "topk(-1e300, up)", 422 }, { "topk(NaN, up)", 422 },
        { "label_replace(up, \"\", \"\", \"\", \"\")", 422 }, { "label_join(up, \"a\", \",\", \"\")", 422 },
        { "up{job=~\"a{1001}\"}", 400 }, { "up{job=~\"(a{1000}){1000}\"}", 400 }, { "up{job=~\"\\\\p{Foo}\"}", 400 },
        { "up{job=~\"[z-a]\"}", 400 }, { "up{job=~\"\\\\\"}", 400 }, { "up{job=~\"\\\\Q\"}", 400 },
        { "up{__name__=\"x\"}", 400 }, { "{__name__=~\".*\"}", 400 }, { "{job=\"\"}", 400 }, { "up + on(a,a) group_left(a) up", 400 },
        { "sort_desc(up) offset 1h", 400 }, { "1 and 1", 400 }, { "\u0000", 400 }, { "up{\u0000=\"a\"}", 400 }, { "😀", 400 },
        { "#" + new string('x', 100_000), 400 },
    };

    [Theory]
    [MemberData(nameof(RefusedQueries))]
    public async Task Query_RefusedByPrometheus_IsAnErrorWithItsStatus(string query, int status)
    {
        foreach (string path in new[] { "/api/v1/query?time=1700000020", "/api/v1/query_range?start=1700000000&end=1700000060&step=15" })
        {
            (int answered, JsonElement json) = await PostAsync(path, query);
            Assert.True(answered == status, $"{path}: {answered} {json}");
            Assert.Equal("error", json.GetProperty("status").GetString());
        }
    }

    // Extreme but valid queries: Prometheus 2.42 answers them, with this result type for an instant query. A range
    // query answers a matrix, except for a range vector or a string, which a range query refuses (400).
    public static TheoryData<string, string> ExtremeValidQueries => new()
    {
        { "\"\\U0010FFFF\"", "string" }, { "Inf", "scalar" }, { "-Inf", "scalar" }, { "NaN", "scalar" },
        { "count_values(((\"version\")), up)", "vector" }, { "quantile(NaN, up)", "vector" }, { "quantile(1e300, up)", "vector" },
        { "label_replace(up, \"a\", \"$999999999999\", \"job\", \"(.*)\")", "vector" },
        { "label_replace(up, \"a\", \"${\", \"job\", \"(.*)\")", "vector" },
        { "label_replace(up, \"a\", \"x\", \"job\", \"(?P<n>.*)(?P<n>.*)\")", "vector" },
        { "histogram_quantile(0.5, up)", "vector" }, { "histogram_quantile(NaN, up)", "vector" }, { "clamp(up, 1e308, -1e308)", "vector" },
        { "round(up, 0)", "vector" }, { "round(up, 1e-320)", "vector" }, { "predict_linear(up[5m], 1e308)", "vector" },
        { "quantile_over_time(2, up[5m])", "vector" }, { "up{job=~\"(?P<x>a)(?P<x>b)\"}", "vector" }, { "up{job=~\"(?i)\"}", "vector" },
        { "sum by (a,a,a) (up)", "vector" }, { "vector(1) ^ 1e308 ^ 1e308", "vector" }, { "time() % 0", "scalar" },
        { "-(-(-(time())))", "scalar" }, { "scalar(up) / 0", "scalar" }, { "absent(nonexistent{a=\"b\"})", "vector" },
        { "timestamp(up offset -1h)", "vector" }, { "up and on() vector(1)", "vector" }, { "up > bool up", "vector" },
        { "up[5m] offset 1h", "matrix" }, { "up @ 0", "vector" }, { "up[5m:1m]", "matrix" }, { "holt_winters(up[5m], 0.5, 0.5)", "vector" },
        { "up{job=\"" + new string('a', 100_000) + "\"}", "vector" }, { new string(' ', 100_000) + "1", "scalar" },
    };

    [Theory]
    [MemberData(nameof(ExtremeValidQueries))]
    public async Task Query_ExtremeButValid_IsAnsweredWithItsResultType(string query, string resultType)
    {
        (int status, JsonElement json) = await PostAsync("/api/v1/query?time=1700000020", query);
        Assert.True(status == 200, $"{status} {json}");
        Assert.Equal(resultType, json.GetProperty("data").GetProperty("resultType").GetString());

        (int rangeStatus, JsonElement range) = await PostAsync("/api/v1/query_range?start=1700000000&end=1700000060&step=15", query);
        bool refused = resultType is "matrix" or "string";
        Assert.True(rangeStatus == (refused ? 400 : 200), $"range: {rangeStatus} {range}");
        if (!refused)
        {
            Assert.Equal("matrix", range.GetProperty("data").GetProperty("resultType").GetString());
        }
    }

    [Fact]
    public async Task Query_AtModifierSubqueryAndHoltWinters_AnswerTheirValues()
    {
        // up has samples of 1 at T0 and T0 + 15 s (1700000000 and 1700000015).
        (int status, JsonElement at) = await PostAsync("/api/v1/query?time=1700000100", "up @ 1700000015");
        Assert.True(status == 200, $"{status} {at}");
        JsonElement sample = Assert.Single(at.GetProperty("data").GetProperty("result").EnumerateArray().ToList());
        Assert.Equal("up", sample.GetProperty("metric").GetProperty("__name__").GetString());
        Assert.Equal(1700000100, sample.GetProperty("value")[0].GetDouble());
        Assert.Equal("1", sample.GetProperty("value")[1].GetString());

        // Steps of one minute aligned to the epoch in (1699999800, 1700000100]: only 1700000040 and 1700000100 see a sample.
        (status, JsonElement sub) = await PostAsync("/api/v1/query?time=1700000100", "up[5m:1m]");
        Assert.True(status == 200, $"{status} {sub}");
        Assert.Equal("matrix", sub.GetProperty("data").GetProperty("resultType").GetString());
        JsonElement series = Assert.Single(sub.GetProperty("data").GetProperty("result").EnumerateArray().ToList());
        Assert.Equal([1700000040.0, 1700000100.0], series.GetProperty("values").EnumerateArray().Select(v => v[0].GetDouble()));
        Assert.All(series.GetProperty("values").EnumerateArray(), v => Assert.Equal("1", v[1].GetString()));

        (status, JsonElement smoothed) = await PostAsync("/api/v1/query?time=1700000100", "holt_winters(up[5m], 0.5, 0.5)");
        Assert.True(status == 200, $"{status} {smoothed}");
        JsonElement value = Assert.Single(smoothed.GetProperty("data").GetProperty("result").EnumerateArray().ToList());
        Assert.False(value.GetProperty("metric").TryGetProperty("__name__", out _));
        Assert.Equal("1", value.GetProperty("value")[1].GetString());

        (status, JsonElement rangeOfSubquery) = await PostAsync("/api/v1/query_range?start=1700000000&end=1700000060&step=15", "up[5m:1m]");
        Assert.Equal(400, status);
        Assert.Equal("bad_data", rangeOfSubquery.GetProperty("errorType").GetString());
    }

    private async Task<(int Status, JsonElement Json)> PostAsync(string pathAndQuery, string query)
    {
        using var content = new StringContent("query=" + Uri.EscapeDataString(query), System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await _host.Http.PostAsync(new Uri(_url + pathAndQuery), content);
        string text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return ((int)response.StatusCode, json.RootElement.Clone());
    }

    public static TheoryData<string> Parameters => new()
    {
        "time=99999999999999999999", "time=-99999999999999999999", "time=1e300", "time=NaN", "time=Inf", "time=9223372036854775807",
        "start=-9223372036854775&end=9223372036854775&step=1e300", "start=-9223372036854775&end=9223372036854775&step=1",
        "start=0&end=1e300&step=15", "start=0&end=60&step=1e-300", "start=0&end=60&step=0.0001", "start=0&end=60&step=-1",
        "start=0&end=60&step=NaN", "start=0&end=60&step=99999999999999999999d", "start=2017-01-01T00:00:00Z&end=2099-01-01T00:00:00Z&step=1y",
        "start=0&end=60&step=15&timeout=99999999999999999999s", "start=-1e20&end=1e20&step=1e19",
    };

    [Theory]
    [MemberData(nameof(Parameters))]
    public async Task QueryAndRange_ExtremeTimeParameters_AreAnsweredWithJsonAndNo500(string parameters)
    {
        foreach (var path in new[] { "/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values" })
        {
            var url = _url + path + "?query=vector(1)&match[]=up&" + parameters;
            using var response = await _host.Http.GetAsync(new Uri(url));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is 200 or 400 or 422, $"{path}?{parameters}: {(int)response.StatusCode} {text}");
            using var json = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }
    }
}
