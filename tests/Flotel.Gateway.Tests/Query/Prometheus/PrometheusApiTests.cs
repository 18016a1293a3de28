using System.Net;
using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Model.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>The HTTP endpoints on a real Kestrel listener (127.0.0.1, free port) over a small store.</summary>
public sealed class PrometheusApiTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000;
    private readonly PromApiHost _host = new();
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        _host.Store.Append(LabelSet.Of("__name__", "up", "job", "node", "instance", "a"), [new Sample(T0, 1), new Sample(T0 + 15_000, 1)]);
        _host.Store.Append(LabelSet.Of("__name__", "up", "job", "api", "instance", "b"), [new Sample(T0, 0)]);
        _url = await _host.StartAsync(app => app.MapPrometheusApi(_host.Store, new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 20_000))));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string pathAndQuery)
    {
        using var response = await _host.Http.GetAsync(new Uri(_url + pathAndQuery));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Query_VectorAtDefaultTime_HasPrometheusShape()
    {
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("up{job=\"node\"}"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal("vector", body.GetProperty("data").GetProperty("resultType").GetString());
        var r = Assert.Single(body.GetProperty("data").GetProperty("result").EnumerateArray());
        Assert.Equal("a", r.GetProperty("metric").GetProperty("instance").GetString());
        Assert.Equal(1_700_000_020.0, r.GetProperty("value")[0].GetDouble());
        Assert.Equal("1", r.GetProperty("value")[1].GetString());
    }

    [Fact]
    public async Task Query_Scalar_ReturnsTimeAndStringValue()
    {
        var (_, body) = await GetAsync("/api/v1/query?query=1%2F0&time=1700000000.5");
        Assert.Equal("scalar", body.GetProperty("data").GetProperty("resultType").GetString());
        Assert.Equal(1_700_000_000.5, body.GetProperty("data").GetProperty("result")[0].GetDouble());
        Assert.Equal("+Inf", body.GetProperty("data").GetProperty("result")[1].GetString());
    }

    [Fact]
    public async Task Query_Post_ReadsFormBody()
    {
        using var content = new FormUrlEncodedContent([new("query", "sum(up)"), new("time", "1700000001")]);
        using var response = await _host.Http.PostAsync(new Uri(_url + "/api/v1/query"), content);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("1", doc.RootElement.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
    }

    [Fact]
    public async Task Query_SyntaxError_IsBadDataWithPosition()
    {
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("sum(up"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
        Assert.StartsWith("invalid parameter \"query\": 1:7: parse error:", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ManyToOneWithDuplicateOneSide_IsExecutionError422()
    {
        // Both "up" series match the single vector(1) element's empty group, so the right ("one") side is fine, but
        // on the left side grouped by nothing, group_right makes "up" the one side: two series in one match group.
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("vector(1) + on () group_right up") + "&time=1700000001");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("vector(1) + on () group_left up") + "&time=1700000001");
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Equal("execution", body.GetProperty("errorType").GetString());
        Assert.StartsWith("found duplicate series for the match group {} on the right hand-side of the operation:", body.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.EndsWith(";many-to-many matching not allowed: matching labels must be unique on one side", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_FunctionWithWrongArgumentType_IsBadDataWithPosition()
    {
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("clamp_min(up, up)"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
        Assert.Equal("invalid parameter \"query\": 1:15: parse error: expected type scalar in call to function \"clamp_min\", got instant vector", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task QueryRange_TooManyPoints_IsRejected()
    {
        var (status, body) = await GetAsync("/api/v1/query_range?query=up&start=0&end=11001&step=1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("exceeded maximum resolution of 11,000 points", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryRange_DurationStep_ReturnsSortedMatrix()
    {
        var (status, body) = await GetAsync("/api/v1/query_range?query=up&start=1700000000&end=1700000030&step=15s");
        Assert.Equal(HttpStatusCode.OK, status);
        var result = body.GetProperty("data").GetProperty("result").EnumerateArray().ToList();
        // Sorted like Prometheus's labels.Compare: __name__ ties, then instance "a" < "b".
        Assert.Equal(["node", "api"], result.Select(r => r.GetProperty("metric").GetProperty("job").GetString()));
        Assert.Equal(3, result[0].GetProperty("values").GetArrayLength());
    }

    [Fact]
    public async Task Series_Labels_LabelValues_ListTheIndex()
    {
        var (_, series) = await GetAsync("/api/v1/series?match[]=" + Uri.EscapeDataString("up{job=~\"n.*\"}"));
        var s = Assert.Single(series.GetProperty("data").EnumerateArray());
        Assert.Equal("up", s.GetProperty("__name__").GetString());

        var (_, labels) = await GetAsync("/api/v1/labels");
        Assert.Equal(["__name__", "instance", "job"], labels.GetProperty("data").EnumerateArray().Select(e => e.GetString()));

        var (_, values) = await GetAsync("/api/v1/label/job/values");
        Assert.Equal(["api", "node"], values.GetProperty("data").EnumerateArray().Select(e => e.GetString()));

        var (status, missing) = await GetAsync("/api/v1/series");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("no match[] parameter provided", missing.GetProperty("error").GetString());
    }

    [Fact]
    public async Task QueryRange_AnswerOfSeveralMegabytes_SentInPiecesAndComplete()
    {
        // 300 series × 1,441 points (~13 MB of JSON): past the 256 KiB after which the answer is sent in pieces.
        for (var k = 0; k < 300; k++)
        {
            var samples = Enumerable.Range(0, 1441).Select(i => new Sample(T0 + (i * 60_000L), (k * 1000.25) + i)).ToArray();
            _host.Store.Append(LabelSet.Of("__name__", "big", "k", k.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)), samples);
        }

        var (status, body) = await GetAsync(
            $"/api/v1/query_range?query=big&start={T0 / 1000}&end={(T0 / 1000) + 86_400}&step=60");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("success", body.GetProperty("status").GetString());
        var result = body.GetProperty("data").GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(300, result.Count);
        for (var k = 0; k < 300; k++)
        {
            var values = result[k].GetProperty("values").EnumerateArray().ToList();
            Assert.Equal(k.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), result[k].GetProperty("metric").GetProperty("k").GetString());
            Assert.Equal(1441, values.Count);
            Assert.Equal(((k * 1000.25) + 1440).ToString("R", System.Globalization.CultureInfo.InvariantCulture), values[^1][1].GetString());
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostFormAsync(string path, params (string Key, string Value)[] form)
    {
        // FormUrlEncodedContent refuses values over 64 KiB; encode by hand.
        var encoded = string.Join("&", form.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        using var content = new StringContent(encoded, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await _host.Http.PostAsync(new Uri(_url + path), content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Query_TenThousandUnaryMinusInFormBody_IsBadDataNotACrash()
    {
        var (status, body) = await PostFormAsync("/api/v1/query", ("query", new string('-', 10_000) + "1"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
        Assert.Contains("nested too deeply", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ThousandsOfParenthesesInUrl_IsBadDataNotACrash()
    {
        // Within Kestrel's 8 KiB request line (a longer one is its own 414).
        var (status, body) = await GetAsync("/api/v1/query?query=" + new string('(', 3_900) + "1" + new string(')', 3_900));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task QueryRange_DeepAdditionChain_IsBadDataNotACrash()
    {
        var (status, body) = await PostFormAsync(
            "/api/v1/query_range", ("query", "1" + string.Concat(Enumerable.Repeat("+1", 100_000))), ("start", "1700000000"), ("end", "1700000060"), ("step", "15"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task Series_DeepMatchSelector_IsBadData()
    {
        var (status, body) = await PostFormAsync("/api/v1/series", ("match[]", new string('(', 10_000) + "up" + new string(')', 10_000)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task Query_FormValueOverAspNetFormLimit_IsBadDataNotAnEmpty500()
    {
        // ASP.NET refuses a form value over 4 MiB with InvalidDataException.
        var (status, body) = await PostFormAsync("/api/v1/query", ("query", "up{job=\"" + new string('a', 5 * 1024 * 1024) + "\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task Query_CountValuesWithParenthesisedLabel_Answers()
    {
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("count_values(((\"version\")), up)") + "&time=1700000001");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("data").GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task Query_LookaheadRegex_IsBadDataSayingWhy()
    {
        var (status, body) = await GetAsync("/api/v1/query?query=" + Uri.EscapeDataString("up{job=~\"(?!node).*\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("bad_data", body.GetProperty("errorType").GetString());
        Assert.Contains("not supported", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_StoreFailsUnexpectedly_Is500InPrometheusShape()
    {
        _host.Store.Dispose(); // every read now throws ObjectDisposedException: a server fault, not the request's
        var (status, body) = await GetAsync("/api/v1/query?query=up");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("error", body.GetProperty("status").GetString());
        Assert.Equal("internal", body.GetProperty("errorType").GetString());
    }
}
