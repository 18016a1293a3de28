using System.Net;
using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Store.Metrics;
using Flotel.Gateway.Tests.Store.Metrics;
using Flotel.Model.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// Malformed and extreme queries and parameters over HTTP: each is answered with a success or a client error (400 or
/// 422) in Prometheus's JSON shape, never a 500.
/// </summary>
public sealed class PromBadInputTests : IAsyncLifetime
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();
    private readonly HttpClient _http = new();
    private MetricStore _store = null!;
    private WebApplication _app = null!;
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        _store = _fixture.Open();
        _store.Append(LabelSet.Of("__name__", "up", "job", "node", "instance", "a"), [new Sample(T0, 1), new Sample(T0 + 15_000, 1)]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPrometheusApi(_store, TimeProvider.System);
        await _app.StartAsync();
        _url = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
        _store.Dispose();
        _fixture.Dispose();
    }

    public static TheoryData<string> Queries => new()
    {
        "up[99999999999999999999s]", "up[9223372036854775807y]", "up offset 99999999999999999999s", "rate(up[1000000000y])",
        "\"\\U0010FFFF\"", "\"\\UFFFFFFFF\"", "\"\\uD800\"", "\"\\x\"", "\"\\u12\"", "\"\\", "`unterminated", "'\\z'",
        "0x", "0xFFFFFFFFFFFFFFFFFF", "1e999999", "1" + new string('0', 400), ".5e", "1..2", "Inf", "-Inf", "NaN",
        "count_values(((\"version\")), up)", "count_values(\"bad-label\", up)", "count_values(\"\", up)",
        "topk(1e300, up)", "topk(-1e300, up)", "topk(NaN, up)", "quantile(NaN, up)", "quantile(1e300, up)",
        "label_replace(up, \"\", \"\", \"\", \"\")", "label_replace(up, \"a\", \"$999999999999\", \"job\", \"(.*)\")",
        "label_replace(up, \"a\", \"${\", \"job\", \"(.*)\")", "label_replace(up, \"a\", \"x\", \"job\", \"(?P<n>.*)(?P<n>.*)\")",
        "label_join(up, \"a\", \",\", \"\")", "histogram_quantile(0.5, up)", "histogram_quantile(NaN, up)",
        "clamp(up, 1e308, -1e308)", "round(up, 0)", "round(up, 1e-320)", "predict_linear(up[5m], 1e308)",
        "quantile_over_time(2, up[5m])", "up{job=~\"(?P<x>a)(?P<x>b)\"}", "up{job=~\"a{1001}\"}", "up{job=~\"(a{1000}){1000}\"}",
        "up{job=~\"\\\\p{Foo}\"}", "up{job=~\"[z-a]\"}", "up{job=~\"\\\\\"}", "up{job=~\"(?i)\"}", "up{job=~\"\\\\Q\"}",
        "up{__name__=\"x\"}", "{__name__=~\".*\"}", "{job=\"\"}", "sum by (a,a,a) (up)", "up + on(a,a) group_left(a) up",
        "vector(1) ^ 1e308 ^ 1e308", "time() % 0", "-(-(-(time())))", "scalar(up) / 0", "absent(nonexistent{a=\"b\"})",
        "timestamp(up offset -1h)", "sort_desc(up) offset 1h", "1 and 1", "up and on() vector(1)", "up > bool up",
        "up[5m] offset 1h", "up @ 0", "up[5m:1m]", "holt_winters(up[5m], 0.5, 0.5)", "\u0000", "up{\u0000=\"a\"}", "😀",
        "up{job=\"" + new string('a', 100_000) + "\"}", new string(' ', 100_000) + "1", "#" + new string('x', 100_000),
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Query_MalformedOrExtreme_IsAnsweredWithJsonAndNo500(string query)
    {
        foreach (var path in new[] { "/api/v1/query?time=1700000020&query=", "/api/v1/query_range?start=1700000000&end=1700000060&step=15&query=" })
        {
            using var content = new StringContent("query=" + Uri.EscapeDataString(query), System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
            using var response = await _http.PostAsync(new Uri(_url + path.Replace("&query=", string.Empty, StringComparison.Ordinal).Replace("?query=", string.Empty, StringComparison.Ordinal)), content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is 200 or 400 or 422, $"{path}: {(int)response.StatusCode} {text}");
            using var json = JsonDocument.Parse(text);
            Assert.Equal((int)response.StatusCode == 200 ? "success" : "error", json.RootElement.GetProperty("status").GetString());
        }
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
            using var response = await _http.GetAsync(new Uri(url));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is 200 or 400 or 422, $"{path}?{parameters}: {(int)response.StatusCode} {text}");
            using var json = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }
    }
}
