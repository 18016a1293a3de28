using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.TestKit;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// The status, metadata, exemplar and format endpoints on the whole gateway (127.0.0.1, free ports): shapes, parameter
/// checks in Prometheus 2.42's words, the query auth group, and the metadata of remote-write requests.
/// </summary>
public sealed class PrometheusStatusApiTests : IAsyncLifetime
{
    private LoopbackGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await LoopbackGateway.StartAsync("flotel-prom-status");

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task BuildInfo_Get_AnswersPrometheusFieldsWithACompatibleVersionAndFlotelsOwn()
    {
        var data = await DataAsync("/api/v1/status/buildinfo");
        Assert.Equal(["version", "revision", "branch", "buildUser", "buildDate", "goVersion"], Keys(data));
        Assert.Equal(PrometheusApi.CompatiblePrometheusVersion, data.GetProperty("version").GetString());
        Assert.Equal("flotel-" + PrometheusApi.FlotelVersion, data.GetProperty("revision").GetString());
        Assert.Equal("flotel", data.GetProperty("branch").GetString());
        Assert.False(data.TryGetProperty("features", out _)); // Grafana reads "features" as Mimir
    }

    [Fact]
    public async Task RuntimeInfo_Get_AnswersPrometheusFields()
    {
        var data = await DataAsync("/api/v1/status/runtimeinfo");
        Assert.Equal(["startTime", "CWD", "reloadConfigSuccess", "lastConfigTime", "corruptionCount", "goroutineCount", "GOMAXPROCS", "GOGC", "GODEBUG", "storageRetention"], Keys(data));
        Assert.True(DateTimeOffset.TryParse(data.GetProperty("startTime").GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _));
        Assert.Equal("15d", data.GetProperty("storageRetention").GetString());
        Assert.Equal(Environment.ProcessorCount, data.GetProperty("GOMAXPROCS").GetInt32());
    }

    [Theory]
    [InlineData("/api/v1/targets")]
    [InlineData("/api/v1/targets?state=active")]
    [InlineData("/api/v1/targets?state=dropped")]
    [InlineData("/api/v1/targets?state=nonsense")]
    public async Task Targets_AnyState_AnswersEmptyLists(string path)
    {
        var data = await DataAsync(path);
        Assert.Equal(["activeTargets", "droppedTargets"], Keys(data));
        Assert.Equal(0, data.GetProperty("activeTargets").GetArrayLength());
        Assert.Equal(0, data.GetProperty("droppedTargets").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/v1/status/buildinfo")]
    [InlineData("/api/v1/status/runtimeinfo")]
    [InlineData("/api/v1/targets")]
    [InlineData("/api/v1/metadata")]
    public async Task GetOnlyEndpoints_Post_Answer405AsPrometheus(string path)
    {
        using var content = new StringContent(string.Empty);
        using var response = await _gateway.Http.PostAsync(new Uri(path, UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Theory]
    [InlineData("query=up", HttpStatusCode.OK, null)]
    [InlineData("query=up&start=1&end=2", HttpStatusCode.OK, null)]
    [InlineData("query=rate(up%5B5m%5D)", HttpStatusCode.OK, null)]
    [InlineData("", HttpStatusCode.BadRequest, "1:1: parse error: no expression found in input")]
    [InlineData("query=up&start=1&end=0", HttpStatusCode.BadRequest, "end timestamp must not be before start timestamp")]
    [InlineData("query=up&start=abc", HttpStatusCode.BadRequest, "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"abc\" to a valid timestamp")]
    [InlineData("query=up&end=abc", HttpStatusCode.BadRequest, "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"abc\" to a valid timestamp")]
    [InlineData("start=abc", HttpStatusCode.BadRequest, "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"abc\" to a valid timestamp")]
    public async Task QueryExemplars_GetOrPost_ValidatesLikePrometheusAndAnswersNoExemplars(string parameters, HttpStatusCode status, string? error)
    {
        foreach (var post in new[] { false, true })
        {
            var (code, root) = await SendAsync("/api/v1/query_exemplars", parameters, post);
            Assert.Equal(status, code);
            if (error is null)
            {
                Assert.Equal(0, root.GetProperty("data").GetArrayLength());
            }
            else
            {
                Assert.Equal("bad_data", root.GetProperty("errorType").GetString());
                Assert.Equal(error, root.GetProperty("error").GetString());
            }
        }
    }

    [Fact]
    public async Task QueryExemplars_ParseError_IsThePlainParseError()
    {
        var (code, root) = await SendAsync("/api/v1/query_exemplars", "query=" + Uri.EscapeDataString("up("), post: false);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.StartsWith("1:", root.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("parse error", root.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sum(rate(up[5m]))by(job)", "sum by (job) (rate(up[5m]))")]
    [InlineData("foo{a=\"b\",c!~\"d\"}   offset 5m", "foo{a=\"b\",c!~\"d\"} offset 5m")]
    public async Task FormatQuery_GetOrPost_AnswersThePrintedExpression(string query, string expected)
    {
        foreach (var post in new[] { false, true })
        {
            var (code, root) = await SendAsync("/api/v1/format_query", "query=" + Uri.EscapeDataString(query), post);
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal(expected, root.GetProperty("data").GetString());
        }
    }

    [Theory]
    [InlineData("", "invalid parameter \"query\": 1:1: parse error: no expression found in input")]
    [InlineData("query=up%7B", "invalid parameter \"query\": ")]
    public async Task FormatQuery_BadQuery_IsBadDataNamingTheParameter(string parameters, string errorStart)
    {
        var (code, root) = await SendAsync("/api/v1/format_query", parameters, post: false);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("bad_data", root.GetProperty("errorType").GetString());
        Assert.StartsWith(errorStart, root.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metadata_SentByRemoteWrite_IsAnsweredByMetricWithLimits()
    {
        Assert.Empty((await DataAsync("/api/v1/metadata")).EnumerateObject());
        var metadata = new List<MetricMetadata>
        {
            new(MetricMetadataType.Counter, "http_requests_total", "Requests served.", string.Empty),
            new(MetricMetadataType.Gauge, "node_memory_bytes", "Memory.", "bytes"),
            new(MetricMetadataType.GaugeHistogram, "queue_wait", "Wait.", "seconds"),
            new(MetricMetadataType.Counter, "http_requests_total", "Requests served, all of them.", string.Empty),
        };
        await RemoteWriteAsync(new WriteRequest([], metadata));

        var all = await DataAsync("/api/v1/metadata");
        Assert.Equal(["http_requests_total", "node_memory_bytes", "queue_wait"], all.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var requests = all.GetProperty("http_requests_total");
        Assert.Equal(2, requests.GetArrayLength());
        Assert.Equal("counter", requests[0].GetProperty("type").GetString());
        Assert.Equal("Requests served.", requests[0].GetProperty("help").GetString());
        Assert.Equal(["type", "help", "unit"], Keys(requests[0]));
        Assert.Equal("gaugehistogram", all.GetProperty("queue_wait")[0].GetProperty("type").GetString());
        Assert.Equal("bytes", all.GetProperty("node_memory_bytes")[0].GetProperty("unit").GetString());

        var one = await DataAsync("/api/v1/metadata?metric=node_memory_bytes");
        Assert.Equal(["node_memory_bytes"], one.EnumerateObject().Select(p => p.Name));
        Assert.Empty((await DataAsync("/api/v1/metadata?metric=absent_metric")).EnumerateObject());
        Assert.Equal(2, (await DataAsync("/api/v1/metadata?limit=2")).EnumerateObject().Count());
        Assert.Empty((await DataAsync("/api/v1/metadata?limit=0")).EnumerateObject());
        Assert.Equal(3, (await DataAsync("/api/v1/metadata?limit=-1")).EnumerateObject().Count());
        Assert.Equal(1, (await DataAsync("/api/v1/metadata?metric=http_requests_total&limit_per_metric=1")).GetProperty("http_requests_total").GetArrayLength());
        Assert.Equal(2, (await DataAsync("/api/v1/metadata?metric=http_requests_total&limit_per_metric=0")).GetProperty("http_requests_total").GetArrayLength());
    }

    [Theory]
    [InlineData("limit=abc", "limit must be a number")]
    [InlineData("limit=1.5", "limit must be a number")]
    [InlineData("limit_per_metric=x", "limit_per_metric must be a number")]
    public async Task Metadata_LimitNotANumber_IsBadData(string parameters, string error)
    {
        var (code, root) = await SendAsync("/api/v1/metadata", parameters, post: false);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("bad_data", root.GetProperty("errorType").GetString());
        Assert.Equal(error, root.GetProperty("error").GetString());
    }

    [Fact]
    public async Task NewEndpoints_QueryAuthSet_NeedTheQueryCredentials()
    {
        await using var gateway = await LoopbackGateway.StartAsync("flotel-prom-status-auth", o => o.QueryAuth = new AuthOptions { BearerToken = new SecretValue("q-token") });
        foreach (var path in new[] { "/api/v1/status/buildinfo", "/api/v1/status/runtimeinfo", "/api/v1/targets", "/api/v1/metadata", "/api/v1/query_exemplars?query=up", "/api/v1/format_query?query=up" })
        {
            using (var refused = await gateway.Http.GetAsync(new Uri(path, UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "q-token");
            using var answered = await gateway.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
    }

    private async Task RemoteWriteAsync(WriteRequest request)
    {
        using var content = new ByteArrayContent(RemoteWriteCodec.Encode(request));
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        using var response = await _gateway.Http.PostAsync(new Uri("/api/v1/write", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private async Task<JsonElement> DataAsync(string path)
    {
        using var response = await _gateway.Http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, path + ": " + text);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
        return doc.RootElement.GetProperty("data").Clone();
    }

    private async Task<(HttpStatusCode Status, JsonElement Root)> SendAsync(string path, string parameters, bool post)
    {
        using var response = post
            ? await _gateway.Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(parameters, Encoding.ASCII, "application/x-www-form-urlencoded"))
            : await _gateway.Http.GetAsync(new Uri(path + "?" + parameters, UriKind.Relative));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private static string[] Keys(JsonElement o) => [.. o.EnumerateObject().Select(p => p.Name)];
}
