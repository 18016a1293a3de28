using Flotel.Store.Metrics;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// Everything <c>flotel gateway</c> runs with. Defaults are the contract's (architecture §3): the adapter's HTTP port
/// 9201 and the blog's Logstash syslog port 5140. Built by <see cref="GatewayConfigLoader"/> from YAML and the command
/// line; validated there, so the host never starts on a bad value.
/// </summary>
public sealed class GatewayOptions
{
    /// <summary>HTTP listener (remote write, <c>_bulk</c>, <c>_search</c>, Prometheus API, UI): <c>HOST:PORT</c>.</summary>
    public string HttpAddress { get; set; } = "0.0.0.0:9201";

    /// <summary>
    /// Most HTTP connections open at once; one more is closed as soon as it is accepted and counted
    /// (<c>flotel_http_connections_refused_total</c>). The default serves 10,000 devices that each keep one remote-write
    /// connection alive, plus the query clients.
    /// </summary>
    public int HttpMaxConnections { get; set; } = 20_000;

    /// <summary>
    /// An idle keep-alive HTTP connection is closed after this many seconds. Kestrel's 130 s, kept on purpose: longer
    /// than a device's 60 s push interval, so a device's connection is reused between pushes.
    /// </summary>
    public int HttpKeepAliveTimeoutSeconds { get; set; } = 130;

    /// <summary>A client has this many seconds to send a request's headers (slow-header clients are cut off).</summary>
    public int HttpRequestHeadersTimeoutSeconds { get; set; } = 30;

    /// <summary>TLS for the HTTP listener; null = plain HTTP.</summary>
    public TlsOptions? HttpTls { get; set; }

    /// <summary>Syslog listener, TCP and UDP on the same port: <c>HOST:PORT</c>.</summary>
    public string SyslogAddress { get; set; } = "0.0.0.0:5140";

    /// <summary>Listen for syslog over plain TCP on <see cref="SyslogAddress"/> (off: only TLS and/or UDP, e.g. so mutual TLS cannot be sidestepped).</summary>
    public bool SyslogTcp { get; set; } = true;

    /// <summary>Also listen for syslog over UDP on <see cref="SyslogAddress"/>.</summary>
    public bool SyslogUdp { get; set; } = true;

    /// <summary>
    /// Most open connections per syslog TCP or TLS listener; a connection over the limit is closed at once and counted
    /// (<c>flotel_syslog_connections_refused_total</c>). The default serves a fleet of 10,000 devices (one connection
    /// each) with room for reconnects.
    /// </summary>
    public int SyslogMaxConnections { get; set; } = 20_000;

    /// <summary>
    /// A syslog TCP or TLS connection that sends nothing for this many seconds is closed (0 = never). The agent checks
    /// for a closed connection before it writes and reconnects, so closing a quiet device's connection loses nothing.
    /// </summary>
    public int SyslogIdleTimeoutSeconds { get; set; } = 900;

    /// <summary>Optional syslog over TLS listener (RFC 5425 port 6514 by convention): <c>HOST:PORT</c>.</summary>
    public string? SyslogTlsAddress { get; set; }

    /// <summary>Certificate for <see cref="SyslogTlsAddress"/>; required when that is set.</summary>
    public TlsOptions? SyslogTls { get; set; }

    /// <summary>Zone for RFC 3164 timestamps without an offset (architecture §5): <c>UTC</c>, an IANA id or <c>+02:00</c>.</summary>
    public string SyslogTimezone { get; set; } = "UTC";

    /// <summary>Largest syslog frame kept; longer frames are discarded and counted (architecture §5).</summary>
    public int SyslogMaxFrameBytes { get; set; } = 256 * 1024;

    /// <summary>Where the durable queue and the embedded store live.</summary>
    public string DataDirectory { get; set; } = Path.Combine(".flotel", "gateway");

    /// <summary>Bound of the durable queue on disk, MiB; when full, remote write gets 429 and TCP syslog is paused.</summary>
    public long QueueMaxMiB { get; set; } = 1024;

    /// <summary>Largest remote-write or <c>_bulk</c> body accepted, bytes (compressed size for remote write).</summary>
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Credentials required on ingest endpoints (remote write, <c>_bulk</c>); null = open.</summary>
    public AuthOptions? IngestAuth { get; set; }

    /// <summary>Credentials required on query endpoints (<c>_search</c>, Prometheus API, UI); null = open.</summary>
    public AuthOptions? QueryAuth { get; set; }

    /// <summary>Credentials required on the fleet admin API (<c>/api/fleet/…</c>, <c>auth.admin</c>); null = open.</summary>
    public AuthOptions? AdminAuth { get; set; }

    /// <summary>The fleet control plane (<c>fleet:</c>); null or not enabled = off.</summary>
    public FleetOptions? Fleet { get; set; }

    /// <summary>
    /// Run the embedded-store output (<c>store.enabled</c>). False = a forwarding-only gateway: the queue is read by the
    /// configured <see cref="Outputs"/> alone (with none, records stay queued until the bound is reached and intake is
    /// held back), the store readers' cursors are removed, and the query APIs answer from what the store already holds.
    /// </summary>
    public bool StoreEnabled { get; set; } = true;

    /// <summary>Index name pattern for logs, Logstash syntax (architecture §5).</summary>
    public string IndexPattern { get; set; } = "logstash-%{+YYYY.MM.dd}";

    /// <summary>Logs older than this many days are deleted (whole daily indices); 0 = keep forever.</summary>
    public int LogRetentionDays { get; set; } = 7;

    /// <summary>Metric samples older than this many days are deleted; 0 = keep forever.</summary>
    public int MetricRetentionDays { get; set; } = 15;

    /// <summary>
    /// Longest a query may take (<c>query.timeout</c>, Prometheus's <c>--query.timeout</c>), waiting for a slot included;
    /// a request's own <c>timeout</c> can only shorten it. Applies to the Prometheus API and to <c>_search</c>/<c>_count</c>.
    /// </summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Queries that run at once (<c>query.maxConcurrency</c>, Prometheus's <c>--query.max-concurrency</c>); more wait for a slot.</summary>
    public int QueryMaxConcurrency { get; set; } = 20;

    /// <summary>
    /// Most series the embedded metric store holds (<c>store.metrics.maxSeries</c>); new series beyond it are refused
    /// and counted. Default <see cref="MetricStoreOptions.DefaultMaxSeries"/>; 0 = no limit.
    /// </summary>
    public int MetricMaxSeries { get; set; } = MetricStoreOptions.DefaultMaxSeries;

    /// <summary>Forwarding outputs besides the embedded store (<c>outputs:</c>), each with its own queue cursor.</summary>
    public List<OutputOptions> Outputs { get; } = [];
}
