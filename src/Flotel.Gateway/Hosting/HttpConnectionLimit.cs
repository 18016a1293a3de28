using Flotel.Pipeline.Diagnostics;
using Microsoft.AspNetCore.Connections;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The HTTP listener's connection bound and its fixed per-request limits. The bound is a connection middleware rather
/// than Kestrel's <c>MaxConcurrentConnections</c> so that open and refused connections are counted in the gateway's
/// own <c>/metrics</c> (<c>flotel_http_connections_open</c>, <c>flotel_http_connections_refused_total</c>).
/// </summary>
public sealed class HttpConnectionLimit
{
    /// <summary>Longest request line (method, path, query string): Kestrel's 8 KiB; longer PromQL goes in a POST body, as Grafana sends it.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>All request headers together: Kestrel's 32 KiB.</summary>
    public const int MaxRequestHeadersBytes = 32 * 1024;

    /// <summary>Most request headers: Kestrel's 100.</summary>
    public const int MaxRequestHeaderCount = 100;

    /// <summary>Slowest request body or response a client may hold a connection with after the grace period: Kestrel's 240 B/s.</summary>
    public const double MinBodyBytesPerSecond = 240;

    /// <summary>Grace period before <see cref="MinBodyBytesPerSecond"/> applies: Kestrel's 5 s.</summary>
    public static readonly TimeSpan MinRateGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Concurrent HTTP/2 streams per connection: Kestrel's 100.</summary>
    public const int MaxHttp2Streams = 100;

    /// <summary>
    /// Bytes a client may send on one HTTP/2 connection before the gateway reads them: Kestrel's 1 MiB. Buffers grow only
    /// as data arrives, so an idle device's connection (a held long poll) costs nothing of it.
    /// </summary>
    public const int Http2ConnectionWindowBytes = 1024 * 1024;

    /// <summary>The same per stream (one request body): Kestrel's 768 KiB.</summary>
    public const int Http2StreamWindowBytes = 768 * 1024;

    private readonly int _max;
    private readonly Counter _refused;
    private int _open;

    public HttpConnectionLimit(int maxConnections, MetricsRegistry metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _max = maxConnections;
        _refused = metrics.Counter("flotel_http_connections_refused_total", "HTTP connections closed at accept because http.maxConnections were open.");
        metrics.Gauge("flotel_http_connections_open", "HTTP connections open.", () => Volatile.Read(ref _open));
    }

    /// <summary>The connection middleware: over the bound, the connection is closed before a byte is read.</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > _max)
        {
            Interlocked.Decrement(ref _open);
            _refused.Increment();
            connection.Abort(new ConnectionAbortedException("http.maxConnections reached"));
            return;
        }

        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };
}
