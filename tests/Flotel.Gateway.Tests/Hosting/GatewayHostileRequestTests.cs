using System.Net;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Tests.TestKit;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>
/// The real gateway (in-process, HTTP on 127.0.0.1 port 0) given the requests that once ended or stalled it: each is
/// answered with a JSON error or a result, and <c>/healthz</c> still answers afterwards.
/// </summary>
public sealed class GatewayHostileRequestTests : IAsyncLifetime
{
    private LoopbackGateway _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await LoopbackGateway.StartAsync("flotel-hostile-", o =>
        {
            o.LogRetentionDays = 0;
            o.MetricRetentionDays = 0;
        });
        _http = _gateway.Http;
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    [Fact]
    public async Task HostileQueries_AnsweredWithJson_AndTheGatewayStaysUp()
    {
        var requests = new List<(string What, Func<HttpRequestMessage> Make, HttpStatusCode Expected)>
        {
            ("PromQL 10,000 unary minus (form)", () => new(HttpMethod.Post, "/api/v1/query") { Content = Form(("query", Repeat("-", 10_000) + "1")) }, HttpStatusCode.BadRequest),
            ("PromQL 10,000 parentheses (form)", () => new(HttpMethod.Post, "/api/v1/query") { Content = Form(("query", Repeat("(", 10_000) + "1" + Repeat(")", 10_000))) }, HttpStatusCode.BadRequest),
            ("PromQL 7,000 unary minus (URL)", () => new(HttpMethod.Get, "/api/v1/query?query=" + Repeat("-", 7_000) + "1"), HttpStatusCode.BadRequest),
            ("PromQL 100,000-term sum", () => new(HttpMethod.Post, "/api/v1/query") { Content = Form(("query", "1" + Repeat("+1", 100_000))) }, HttpStatusCode.BadRequest),
            ("PromQL count_values with parenthesised label", () => new(HttpMethod.Get, "/api/v1/query?query=" + Uri.EscapeDataString("count_values(((\"version\")), vector(1))")), HttpStatusCode.OK),
            ("PromQL backreference", () => new(HttpMethod.Get, "/api/v1/query?query=" + Uri.EscapeDataString("up{job=~\"(a)\\\\1\"}")), HttpStatusCode.BadRequest),
            (
                "PromQL label_replace (a|aa)+b over 3,000 steps",
                () => new(HttpMethod.Post, "/api/v1/query_range")
                {
                    Content = Form(
                        ("query", "label_replace(label_replace(vector(1),\"a\",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"\",\"\"),\"b\",\"x\",\"a\",\"(a|aa)+b\")"),
                        ("start", "1700000000"), ("end", "1700002999"), ("step", "1")),
                },
                HttpStatusCode.OK),
            ("PromQL calls at the depth limit", () => new(HttpMethod.Post, "/api/v1/query") { Content = Form(("query", Repeat("abs(", 253) + "-vector(1)" + Repeat(")", 253))) }, HttpStatusCode.OK),
            ("PromQL operator chain at the depth limit", () => new(HttpMethod.Post, "/api/v1/query_range") { Content = Form(("query", "vector(1)" + Repeat(" + up", 254)), ("start", "1700000000"), ("end", "1700000600"), ("step", "1")) }, HttpStatusCode.OK),
            ("ES query_string at the depth limit", () => new(HttpMethod.Post, "/_search") { Content = Json("{\"query\":{\"query_string\":{\"query\":\"" + Repeat("NOT (", 32) + "a" + Repeat(")", 32) + "\"}}}") }, HttpStatusCode.OK),
            ("ES query_string 10,000 NOT", () => new(HttpMethod.Post, "/_search") { Content = Json("{\"query\":{\"query_string\":{\"query\":\"" + Repeat("NOT ", 10_000) + "a\"}}}") }, HttpStatusCode.BadRequest),
            ("ES query_string field group 100,000 deep", () => new(HttpMethod.Post, "/_search") { Content = Json("{\"query\":{\"query_string\":{\"query\":\"f:" + Repeat("(", 100_000) + "a\"}}}") }, HttpStatusCode.BadRequest),
            ("ES nested bool 5,000 deep", () => new(HttpMethod.Post, "/_search") { Content = Json(Repeat("{\"query\":{\"bool\":{\"must\":", 5_000) + "{}" + Repeat("}}}", 5_000)) }, HttpStatusCode.BadRequest),
            ("ES term on a field with NUL", () => new(HttpMethod.Post, "/_search") { Content = Json("{\"query\":{\"term\":{\"a\\u0000b\":\"x\"}}}") }, HttpStatusCode.OK),
            ("ES sort on a field ending in a backslash", () => new(HttpMethod.Post, "/_search") { Content = Json("{\"sort\":[\"a\\\\\"]}") }, HttpStatusCode.OK),
        };

        foreach (var (what, make, expected) in requests)
        {
            using var request = make();
            using var response = await _http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == expected, $"{what}: {(int)response.StatusCode} {text}");
            using var json = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }

        using var health = await _http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        var metrics = await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("flotel_query_errors_total{api=\"prometheus\",status=\"400\"} 5", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_query_errors_total{api=\"elasticsearch\",status=\"400\"} 3", metrics, StringComparison.Ordinal);
    }
}
