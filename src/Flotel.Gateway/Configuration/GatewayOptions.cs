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

    /// <summary>TLS for the HTTP listener; null = plain HTTP.</summary>
    public TlsOptions? HttpTls { get; set; }

    /// <summary>Syslog listener, TCP and UDP on the same port: <c>HOST:PORT</c>.</summary>
    public string SyslogAddress { get; set; } = "0.0.0.0:5140";

    /// <summary>Also listen for syslog over UDP on <see cref="SyslogAddress"/>.</summary>
    public bool SyslogUdp { get; set; } = true;

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
    /// Most series the embedded metric store holds (<c>store.metrics.maxSeries</c>); new series beyond it are refused
    /// and counted. Default <see cref="Store.Metrics.MetricStoreOptions.DefaultMaxSeries"/>; 0 = no limit.
    /// </summary>
    public int MetricMaxSeries { get; set; } = Store.Metrics.MetricStoreOptions.DefaultMaxSeries;

    /// <summary>Forwarding outputs besides the embedded store (<c>outputs:</c>), each with its own queue cursor.</summary>
    public List<OutputOptions> Outputs { get; } = [];
}
