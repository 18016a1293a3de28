using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// Everything <c>flotel gateway</c> runs with. Defaults are the contract's (architecture §3): the adapter's HTTP port
/// 9201 and the blog's Logstash syslog port 5140. Built by <see cref="GatewayConfigLoader"/> from YAML and the command
/// line; validated there, so the host never starts on a bad value.
/// </summary>
/// <remarks>
/// This class is the declaration of the configuration file: each property with a <see cref="ConfigKeyAttribute"/> is one
/// key — its YAML path, its range or values, its one-line documentation; its type is the key's type and its initial
/// value the key's default; a <see cref="ConfigSectionAttribute"/> property holds a mapping of keys its own class
/// declares (<see cref="FleetOptions"/>). The loader reads the file through these declarations (<see cref="GatewayConfigKeys"/>) and
/// the key table of docs/configuration.md is generated from them (<see cref="GatewayConfigDocs"/>), so a key is added
/// by adding a property here (docs/architecture.md §9.4).
/// </remarks>
public sealed class GatewayOptions
{
    [ConfigKey(
        "http.address",
        "HTTP listener: remote write, `_bulk`, `_search`, Prometheus API, probes, `/metrics`. Port 0 picks a free port",
        Format = ConfigFormat.Address)]
    public string HttpAddress { get; set; } = "0.0.0.0:9201";

    [ConfigKey(
        "http.maxBodyBytes",
        "largest remote-write or `_bulk` body (compressed size for remote write; the decompressed limit is 32 MiB)",
        Unit = "bytes",
        Min = 1024,
        Max = 1L << 30)]
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The default serves 10,000 devices that each keep one remote-write connection alive, plus the query clients.</summary>
    [ConfigKey("http.maxConnections", "most HTTP connections open at once (10,000 devices keeping one remote-write connection each, plus query clients); one more is closed before a byte is read and counted in `flotel_http_connections_refused_total`", Min = 1, Max = 1_000_000)]
    public int HttpMaxConnections { get; set; } = 20_000;

    /// <summary>Kestrel's 130 s, kept on purpose: longer than a device's 60 s push interval, so a device's connection is reused between pushes.</summary>
    [ConfigKey("http.keepAliveTimeoutSeconds", "an idle keep-alive connection is closed after this (longer than a device's 60 s push interval, so its connection is reused)", Unit = "seconds", Min = 1, Max = 3600)]
    public int HttpKeepAliveTimeoutSeconds { get; set; } = 130;

    [ConfigKey("http.requestHeadersTimeoutSeconds", "a client must send a request's headers within this (slow-header clients are cut off)", Unit = "seconds", Min = 1, Max = 600)]
    public int HttpRequestHeadersTimeoutSeconds { get; set; } = 30;

    [ConfigKey("http.tls", "HTTPS: `certificate` and `key` are required; with `clientCa`, clients must present a certificate that chains to it (mutual TLS)", DefaultText = "plain HTTP")]
    public TlsOptions? HttpTls { get; set; }

    [ConfigKey("syslog.address", "syslog over TCP, and over UDP on the same port", Format = ConfigFormat.Address)]
    public string SyslogAddress { get; set; } = "0.0.0.0:5140";

    [ConfigKey("syslog.tcp", "listen on plain TCP; false with `syslog.tls` (and `udp: false`) leaves TLS as the only way in, so mutual TLS cannot be sidestepped. With both off the `listening` line says `syslog=off`")]
    public bool SyslogTcp { get; set; } = true;

    [ConfigKey("syslog.udp", "also listen on UDP")]
    public bool SyslogUdp { get; set; } = true;

    /// <summary>The default serves a fleet of 10,000 devices (one connection each) with room for reconnects.</summary>
    [ConfigKey("syslog.maxConnections", "most connections per TCP or TLS listener; one more is closed as soon as it is accepted and counted (`flotel_syslog_connections_refused_total`)", Min = 1, Max = 1_000_000)]
    public int SyslogMaxConnections { get; set; } = 20_000;

    /// <summary>The agent checks for a closed connection before it writes and reconnects, so closing a quiet device's connection loses nothing.</summary>
    [ConfigKey("syslog.idleTimeoutSeconds", "a TCP or TLS connection that sends nothing this long is closed, at most 1/16 of it later (`flotel_syslog_connections_idle_closed_total`); 0 = never. The agent notices the closed connection before its next line and reconnects", Unit = "seconds", Min = 0, Max = 7 * 24 * 3600, RangeHint = "(0 = never)")]
    public int SyslogIdleTimeoutSeconds { get; set; } = 900;

    [ConfigKey("syslog.timezone", "zone of RFC 3164 timestamps without an offset (architecture §5)", Format = ConfigFormat.Timezone)]
    public string SyslogTimezone { get; set; } = "UTC";

    [ConfigKey("syslog.maxFrameBytes", "longer frames are discarded and counted (`flotel_syslog_dropped_total{reason=\"oversized\"}`); RFC 5424 §6.1 requires 480", Unit = "bytes", Min = 480, Max = 64 * 1024 * 1024, RangeHint = "(RFC 5424 §6.1: receivers must accept 480 octets)")]
    public int SyslogMaxFrameBytes { get; set; } = 256 * 1024;

    [ConfigKey(
        "syslog.tls",
        "syslog over TLS (RFC 5425); `certificate` and `key` are required, with `clientCa` clients must present a certificate that chains " +
        "to it (mutual TLS). With `fleet.enabled`, device certificates of the fleet CA are accepted too, and their lines are stored " +
        "under the device's name (docs/fleet.md §6)",
        DefaultText = "off")]
    public TlsOptions? SyslogTls { get; set; }

    [ConfigKey("syslog.tls.address", "listener of syslog over TLS (port 6514 by convention)", Format = ConfigFormat.Address, DefaultInSection = "0.0.0.0:6514")]
    public string? SyslogTlsAddress { get; set; }

    [ConfigKey("data", "directory of the durable queue (`queue/`), log store (`logs/logs.db`) and metric store (`metrics/metrics.db`)", Unit = "directory")]
    public string DataDirectory { get; set; } = Path.Combine(".flotel", "gateway");

    [ConfigKey("queue.maxMiB", "bound of the durable queue; when full, remote write answers 429 with `Retry-After: 5`, `_bulk` items get 429, TCP syslog stops reading (the sender is held by TCP flow control), UDP datagrams are dropped and counted. When the data disk fills before the bound, the same back-pressure applies, except that remote write answers 503 with `Retry-After: 5` and `/readyz` answers 503 until writes succeed again (docs/operations.md, \"full disks\")", Unit = "MiB", Min = 1, Max = 1L << 30)]
    public long QueueMaxMiB { get; set; } = 1024;

    [ConfigKey("auth.ingest", "credentials required on the ingest endpoints: remote write (`/api/v1/write`, `/write`) and `_bulk` (`/_bulk`, `/{index}/_bulk`), whatever the spelling that reached them (letter case, trailing slash)", DefaultText = "open")]
    public AuthOptions? IngestAuth { get; set; }

    [ConfigKey("auth.query", "credentials required on every other endpoint, and on any path no endpoint matches, except `/healthz` and `/readyz`. The web UI's files (`/ui/`) hold no data: under basic query auth they need it too (the browser's prompt signs in); under a bearer token they load without it and the page asks for the token, which it keeps in the tab's `sessionStorage` and sends with each request", DefaultText = "open")]
    public AuthOptions? QueryAuth { get; set; }

    [ConfigKey("auth.admin", "credentials required on the fleet admin API (`/api/fleet/…`: apply, delete, devices, workloads, enrolment tokens — docs/fleet.md §7). Open when unset, like the other groups: set it whenever `fleet.enabled` is true, since the admin API mints enrolment tokens", DefaultText = "open")]
    public AuthOptions? AdminAuth { get; set; }

    /// <summary>
    /// False = a forwarding-only gateway: the queue is read by the configured <see cref="Outputs"/> alone, the store
    /// readers' cursors are removed, and the query APIs answer from what the store already holds.
    /// </summary>
    [ConfigKey("store.enabled", "false = no embedded-store output: a forwarding-only gateway whose queue is read by the `outputs` alone (with none, records stay queued until `queue.maxMiB` and intake is then held back, as when full). The store readers' cursors are removed at start (like a removed output); `_search` and the Prometheus API answer from what the store already holds. `bench/peers` uses it for the \"→ durable queue\" rows")]
    public bool StoreEnabled { get; set; } = true;

    [ConfigKey("store.indexPattern", "daily index names of logs, on `@timestamp` in UTC (architecture §5)", Format = ConfigFormat.IndexPattern)]
    public string IndexPattern { get; set; } = "logstash-%{+YYYY.MM.dd}";

    [ConfigKey("store.logs.retentionDays", "whole daily indices older than this are deleted; 0 keeps them", Unit = "days", Min = 0, Max = 36500)]
    public int LogRetentionDays { get; set; } = 7;

    /// <summary>Default 1 GiB, the bound the log store applied before the key existed.</summary>
    [ConfigKey("store.logs.maxBytes", "most bytes of `logs.db` pages in use; over it, after a write, the oldest data is deleted: whole daily indices first (never the newest), then the oldest events of the oldest index, in the order they were stored, down to 95 % of the bound — exact to one block of `_source` texts (one write batch, or up to 1 MiB of them). Freed pages are reused by the next writes, so the file stops growing a little above the bound (free pages included); the WAL beside it (about 8 MiB while writing, tens of MiB on a busy disk, none after a clean stop) comes on top. Deletions are counted in `flotel_store_log_retention_deleted_events_total{reason=\"max_bytes\"}`; 0 = no bound: logs are kept for `store.logs.retentionDays`, and a full disk holds intake back instead (docs/operations.md, \"Log store on disk\")", Unit = "bytes", Min = 0, Max = 1L << 50)]
    public long LogMaxBytes { get; set; }

    [ConfigKey("store.metrics.retentionDays", "metric chunks older than this are deleted; 0 keeps them", Unit = "days", Min = 0, Max = 36500)]
    public int MetricRetentionDays { get; set; } = 15;

    /// <summary>Default <see cref="MetricStoreOptions.DefaultMaxSeries"/>.</summary>
    [ConfigKey("store.metrics.maxSeries", "most series the metric store holds (10,000 devices × ~100 series). About 340 B of memory per series with a short head chunk and about 560 B once the head holds two hours of samples at 15 s (480; a flushed head's bytes are on disk, not in memory; 100,000 series of node_exporter-like values, RSS after the flush: `bench/peers/series-memory.sh --only gateway --groups 1000 --series-per-request 100 --rounds 10 --samples-per-request 48 --step-ms 15000`), so about 1.0 GiB at the default plus the samples taken since the last flush: lower it on a small machine; 0 = no limit. Beyond it new series are refused and their samples dropped, counted in `flotel_store_series_refused_total` / `flotel_store_samples_refused_total`; series already held keep receiving samples. Once the store is full, a remote-write request that brings a new series is answered 400 naming the limit (`reason=\"series_limit\"`); it is still queued, so the samples of its existing series are stored — a sender does not retry a 4xx, as with Mimir's \"series limit exceeded\". A request that crosses the limit while the store is below it is answered 204 and the store drops the series past the limit", Unit = "series", Min = 0)]
    public int MetricMaxSeries { get; set; } = MetricStoreOptions.DefaultMaxSeries;

    /// <summary>Default <see cref="MetricStoreOptions.DefaultChunkCacheBytes"/>.</summary>
    [ConfigKey("store.metrics.chunkCacheMiB", "memory for stored metric chunks kept for queries, least recently queried series evicted first: a repeated range query (a refreshing dashboard) then reads no database rows. 64 MiB holds about 24 h of 7,000 series at 15 s. `flotel_store_chunk_cache_bytes` shows its use, `flotel_store_chunk_cache_hits_total` / `…_misses_total` the series queries found there or read from disk; 0 = no cache", Unit = "MiB", Min = 0, Max = 1L << 20)]
    public long MetricChunkCacheMiB { get; set; } = MetricStoreOptions.DefaultChunkCacheBytes / (1024 * 1024);

    /// <summary>A request's own <c>timeout</c> can only shorten it. Applies to the Prometheus API and to <c>_search</c>/<c>_count</c>.</summary>
    [ConfigKey("query.timeout", "longest a query may take, waiting for a slot included (Prometheus's `--query.timeout`). A request's own `timeout` (Prometheus `query`/`query_range` parameter; `_search` URL parameter or body key) can only shorten it. Out of time, the Prometheus API answers 503 `{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in expression evaluation\"}` (`… in query queue` while waiting), as Prometheus 2.x; `_search`/`_count` answer 504 `search_timeout_exception`. See \"Query limits\" below", MaxDuration = "24h")]
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Each query may hold a large result in memory, and a gateway has a few cores: hence the upper bound.</summary>
    [ConfigKey("query.maxConcurrency", "queries evaluated at once (Prometheus's `--query.max-concurrency`); one gate shared by `/api/v1/query`, `query_range`, `series`, `labels`, `label/…/values`, `_search` (each search of an `_msearch` in turn) and `_count`. A query over the limit waits for a slot, within its `query.timeout`", Unit = "queries", Min = 1, Max = 1024)]
    public int QueryMaxConcurrency { get; set; } = 20;

    /// <summary>Prometheus's <c>--query.max-samples</c>, with its default (<see cref="PromEngine.DefaultMaxSamples"/>).</summary>
    [ConfigKey(
        "query.maxSamples",
        "most samples one PromQL query may hold in memory at once (Prometheus's `--query.max-samples`, same default): samples read " +
        "from the store, points of intermediate results and of the answer, counted as Prometheus counts them (16 bytes each decoded: " +
        "800 MB at the default). Over it the query is answered 422 " +
        "`{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query processing would load too many samples into memory in " +
        "query execution\"}`, as Prometheus, and counted in `flotel_query_refused_total{limit=\"samples\"}`. See \"Query limits\" " +
        "below",
        Unit = "samples", Min = 1)]
    public long QueryMaxSamples { get; set; } = PromEngine.DefaultMaxSamples;

    /// <summary>No Prometheus equivalent: what a selector costs per series, whatever its samples (<see cref="PromEngine.DefaultMaxSeries"/>).</summary>
    [ConfigKey(
        "query.maxSeries",
        "most series one PromQL selector or one `/api/v1/series` request may read from the metric store. Each costs memory however " +
        "few samples it has (its labels, a copy of its chunks: about 0.55 KiB of managed heap while the query runs; tens of bytes plus a batch " +
        "of 2,048 series for an instant query's `sum`/`avg`/`count`/`min`/`max`/`group`/`stddev`/`stdvar` of a selector or of a range " +
        "function of one, which reads its series in batches; docs/benchmarks.md \"PromQL over every series\"), which " +
        "`query.maxSamples` does not bound. The default is the default `store.metrics.maxSeries`, " +
        "so a query over every series still answers; it matters when that is raised. Over it: 422 `errorType` `execution` " +
        "\"query processing would load too many series into memory in query execution\", counted in " +
        "`flotel_query_refused_total{limit=\"series\"}`",
        Unit = "series", Min = 1)]
    public int QueryMaxSeries { get; set; } = PromEngine.DefaultMaxSeries;

    /// <summary>How the Prometheus API spells label names outside <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</summary>
    [ConfigKey("query.prometheus.labelNames", "how the Prometheus API spells label names outside the classic `[a-zA-Z_][a-zA-Z0-9_]*` (Flotta's `metric-source`): `utf8` answers them as stored; `sanitize` answers them in Prometheus 3's `underscores` form (`metric_source`) for clients that refuse other names (promtool 2.x), and accepts that spelling in matchers and label lists. See \"Prometheus API\" below")]
    public Query.Prometheus.PrometheusLabelNames PrometheusLabelNames { get; set; } = Query.Prometheus.PrometheusLabelNames.Utf8;

    /// <summary>The fleet control plane (docs/fleet.md §2); null (no <c>fleet:</c> in the file) or not enabled = off. Its keys are declared by <see cref="FleetOptions"/>.</summary>
    [ConfigSection("fleet")]
    public FleetOptions? Fleet { get; set; }

    [ConfigKey("outputs", "forwarding outputs besides the embedded store, each reading the queue through its own cursor; `name` (letters, digits, `-`, `_`; not `store-logs`/`store-metrics`) names its queue cursor, its `output` metric label and its dead-letter file `DATA/dead-letter/NAME.ndjson`; `type` is one of the output types (sections below). An output removed from the file has its cursor deleted at the next start", DefaultText = "none")]
    public List<OutputOptions> Outputs { get; } = [];
}
