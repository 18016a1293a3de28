using Flotel.Pipeline.Delivery;
using Flotel.Store.Logs;
using Flotel.Store.Metrics;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The default output: moves records from the durable queue into the embedded stores, started by the gateway host when
/// <c>store.enabled</c> is true (it has no <c>outputs:</c> entry). Two outputs on the shared host
/// (<see cref="Hosting.OutputHost{T}"/>), one per store, because the stores become durable differently:
/// <list type="bullet">
/// <item><see cref="StoreLogsOutput"/> (<c>store-logs</c>) writes syslog events and <c>_bulk</c> documents in one
/// SQLite transaction per read batch — a log is searchable once its transaction commits — and moves its cursor only at
/// a sync point of the store (every <see cref="LogsSyncInterval"/> while batches flow, when its queue runs empty, at
/// most every <see cref="IdleFlushInterval"/>, and at stop), over what was committed before it. At a trickle it gathers
/// for <see cref="LogsLinger"/> after the queue ran empty, so a fleet's lines arriving one by one cost one transaction
/// per interval, not one each.</item>
/// <item><see cref="StoreMetricsOutput"/> (<c>store-metrics</c>) appends samples to the metric heads and commits only
/// after they are persisted (every <see cref="MetricsFlushInterval"/>, and when its queue runs empty, at most every
/// <see cref="IdleFlushInterval"/>).</item>
/// </list>
/// A record that cannot be decoded is counted and skipped (it can never succeed); a failed store write reopens the
/// reader at its committed cursor after 100 ms doubling to 30 s, so nothing acknowledged is lost. No dead letters.
/// </summary>
public sealed class EmbeddedStoreOutput : IGatewayOutput
{
    /// <summary>How often metric heads are persisted and the metrics cursor committed (bounds replay after a crash).</summary>
    public static readonly TimeSpan MetricsFlushInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// When a reader's queue runs empty it flushes (metrics: persists the heads; logs: a sync point), but at most this
    /// often (at a trickle it ran empty after each request: one flush, fsync and cursor write per request).
    /// </summary>
    public static readonly TimeSpan IdleFlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often <c>store-logs</c> makes its commits durable (<see cref="LogStore.SyncAsync"/>, one fsync) and moves its
    /// cursor over them while batches keep coming. Batches are committed with <c>synchronous=NORMAL</c> (survive a process
    /// crash, not a power loss), so the cursor may pass a batch only after a sync point: the queue keeps up to about
    /// this much more of records than before, and an fsync per batch (hundreds a second at full ingest) is avoided.
    /// </summary>
    public static readonly TimeSpan LogsSyncInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long <c>store-logs</c> gathers records after its queue ran empty (<see cref="DeliveryOptions.Linger"/>): at most
    /// ten transactions and cursor writes a second at a trickle, for up to 100 ms more ingest-to-searchable latency.
    /// </summary>
    public static readonly TimeSpan LogsLinger = TimeSpan.FromMilliseconds(100);

    private const int BatchRecords = 512;

    // 4 MiB (about 16k syslog lines) per read: with 32 MiB the parsed events of one batch pushed the gateway's peak RSS
    // to 427 MiB under loggen load; with 4 MiB it is 237 MiB at the same msg/s (bench/peers/syslog-ingest.sh).
    private const long BatchBytes = 4L * 1024 * 1024;

    private readonly StoreLogsOutput _logs;
    private readonly StoreMetricsOutput _metrics;

    /// <param name="context">Queue, syslog parser, metrics, clock, loggers.</param>
    /// <param name="logs">The log store.</param>
    /// <param name="metrics">The metric store.</param>
    public EmbeddedStoreOutput(OutputContext context, LogStore logs, MetricStore metrics)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(logs);
        ArgumentNullException.ThrowIfNull(metrics);
        var counters = new EmbeddedStoreCounters(context.Metrics);
        _logs = new StoreLogsOutput(context, logs, counters);
        _metrics = new StoreMetricsOutput(context, metrics, counters);
        context.Metrics.Gauge(
            "flotel_store_log_used_bytes",
            "Bytes of logs.db pages in use (what store.logs.maxBytes bounds; free pages not counted).",
            () => logs.UsedBytes());
        context.Metrics.ObservedCounter(
            "flotel_store_log_syncs_total",
            "Sync points of the log store (one fsync each): store-logs moves its queue cursor only over batches committed before one.",
            () => logs.Syncs);
        context.Metrics.Gauge("flotel_store_log_wal_bytes", "Bytes of the log store's write-ahead log (logs.db-wal) beside the database.", () => logs.WalBytes);
        context.Metrics.ObservedCounter(
            "flotel_store_log_retention_deleted_events_total",
            "Log events deleted by retention: store.logs.retentionDays (max_age) or store.logs.maxBytes (max_bytes).",
            () => logs.RetentionDeletedEvents.ByAge, ("reason", "max_age"));
        context.Metrics.ObservedCounter(
            "flotel_store_log_retention_deleted_events_total",
            "Log events deleted by retention: store.logs.retentionDays (max_age) or store.logs.maxBytes (max_bytes).",
            () => logs.RetentionDeletedEvents.BySize, ("reason", "max_bytes"));
        context.Metrics.Gauge(
            "flotel_store_log_block_cache_bytes",
            "Memory of decompressed _source blocks kept for log searches (bound: 32 MiB).",
            () => logs.BlockCache.Bytes);
        context.Metrics.ObservedCounter(
            "flotel_store_log_block_cache_hits_total",
            "_source blocks a log search found decompressed in the block cache.",
            () => logs.BlockCache.Hits);
        context.Metrics.ObservedCounter(
            "flotel_store_log_block_cache_misses_total",
            "_source blocks a log search read from the database and decompressed.",
            () => logs.BlockCache.Misses);
        context.Metrics.Gauge("flotel_store_metric_series", "Series in the embedded metric store.", () => metrics.SeriesCount);
        context.Metrics.ObservedCounter(
            "flotel_store_series_refused_total",
            "New series the metric store refused because it held store.metrics.maxSeries series.",
            () => metrics.RefusedSeriesTotal);
        context.Metrics.Gauge(
            "flotel_store_chunk_cache_bytes",
            "Memory of stored metric chunks kept for queries (bound: store.metrics.chunkCacheMiB).",
            () => metrics.ChunkCacheStatistics().Bytes);
        context.Metrics.ObservedCounter(
            "flotel_store_chunk_cache_hits_total",
            "Series whose stored chunks a query found in the chunk cache.",
            () => metrics.ChunkCacheStatistics().Hits);
        context.Metrics.ObservedCounter(
            "flotel_store_chunk_cache_misses_total",
            "Series whose stored chunks a query read from the database.",
            () => metrics.ChunkCacheStatistics().Misses);
        context.Metrics.ObservedCounter(
            "flotel_store_samples_refused_total",
            "Samples the metric store dropped because their series was refused (store.metrics.maxSeries).",
            () => metrics.RefusedSamplesTotal);
    }

    /// <inheritdoc />
    public string Name => "store";

    /// <summary>Starts both readers.</summary>
    public void Start()
    {
        _logs.Start();
        _metrics.Start();
    }

    /// <summary>
    /// Stops after draining what is already in the queue (within <paramref name="drainTimeout"/>), persists the metric
    /// heads and commits. Idempotent.
    /// </summary>
    public Task StopAsync(TimeSpan drainTimeout) => Task.WhenAll(_logs.StopAsync(drainTimeout), _metrics.StopAsync(drainTimeout));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await _logs.DisposeAsync().ConfigureAwait(false);
        await _metrics.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The driver options of both readers: one read batch (512 records, 4 MiB) per store write, a failed write replayed
    /// from the committed cursor after exactly 100 ms doubling to 30 s (a local store: no herd of clients to spread).
    /// </summary>
    internal static DeliveryOptions DeliveryOptions(bool sendAhead, TimeSpan? flushInterval, TimeSpan? linger = null) => new()
    {
        MaxQueueRecords = BatchRecords,
        MaxReadBytes = BatchBytes,
        MaxBatchItems = int.MaxValue,
        MaxBatchBytes = long.MaxValue,
        RetryInitial = TimeSpan.FromMilliseconds(100),
        RetryMax = TimeSpan.FromSeconds(30),
        RetryJitter = false,
        OnSendException = SendFailurePolicy.ReplayFromCommitted,
        SendAhead = sendAhead,
        FlushInterval = flushInterval,
        MinIdleFlushInterval = flushInterval is null ? null : IdleFlushInterval,
        Linger = linger,
    };
}
