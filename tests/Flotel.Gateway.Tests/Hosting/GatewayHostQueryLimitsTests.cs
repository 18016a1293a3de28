using System.Net;
using Flotel.Gateway.Tests.TestKit;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>The whole gateway on 127.0.0.1 (free ports): <c>query.*</c> options reach the query APIs and <c>/metrics</c>.</summary>
public sealed class GatewayHostQueryLimitsTests : IAsyncLifetime
{
    private LoopbackGateway _gateway = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = await LoopbackGateway.StartAsync("flotel-gateway-qlimits-", o =>
        {
            o.SyslogUdp = false;
            o.QueryTimeout = TimeSpan.FromSeconds(30);
            o.QueryMaxConcurrency = 3;
        }, TimeSpan.FromSeconds(60));
        _http = _gateway.Http;
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task QueryLimits_FromOptions_ApplyToBothApisAndShowInMetrics()
    {
        // A timeout of zero has passed before the query reaches the queue: a timeout answer without timing.
        using var prometheus = await _http.GetAsync(new Uri("/api/v1/query?query=up&timeout=0s", UriKind.Relative));
        using var search = await _http.GetAsync(new Uri("/_search?timeout=0ms", UriKind.Relative));
        using var answered = await _http.GetAsync(new Uri("/api/v1/query?query=up", UriKind.Relative));
        var metrics = await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, prometheus.StatusCode);
        Assert.Contains("\"errorType\":\"timeout\"", await prometheus.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.GatewayTimeout, search.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Contains("flotel_query_max_concurrency 3\n", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_query_requests_total{api=\"query\",result=\"timeout\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_query_requests_total{api=\"query\",result=\"ok\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_query_requests_total{api=\"search\",result=\"timeout\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_query_running 0\n", metrics, StringComparison.Ordinal);
    }
}
