using System.Net;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>The whole gateway on 127.0.0.1 (free ports): <c>query.*</c> options reach the query APIs and <c>/metrics</c>.</summary>
public sealed class GatewayHostQueryLimitsTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("flotel-gateway-qlimits-");
    private GatewayHost _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var options = new GatewayOptions
        {
            DataDirectory = _data.Path,
            HttpAddress = "127.0.0.1:0",
            SyslogAddress = "127.0.0.1:0",
            SyslogUdp = false,
            QueryTimeout = TimeSpan.FromSeconds(30),
            QueryMaxConcurrency = 3,
        };
        _host = await GatewayHost.StartAsync(options, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        _http = new HttpClient { BaseAddress = new Uri("http://" + _host.HttpEndPoint), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.StopAsync();
        _data.Dispose();
    }

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
