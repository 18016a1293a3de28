namespace Flotel.Agent.Metrics;

/// <summary>
/// Tuning of the metrics component that the manifests do not carry. The defaults are the product's; tests shorten
/// the retry waits. Everything the device owner configures comes from <c>EdgeDevice.spec.metrics</c>.
/// </summary>
public sealed class MetricsComponentOptions
{
    /// <summary>
    /// WAL bound when <c>spec.metrics.retention.maxMiB</c> is 0 or absent. Default 1 GiB: Flotta's TSDB had no size
    /// limit, but every Flotel queue is bounded; oldest records are dropped (and counted) beyond it.
    /// </summary>
    public long DefaultWalBytes { get; set; } = 1L << 30;

    /// <summary>WAL segment size: sent data is deleted a segment at a time. Default 4 MiB (small flash devices).</summary>
    public long WalSegmentBytes { get; set; } = 4L << 20;

    /// <summary>fsync each WAL append (one per scrape). Default true.</summary>
    public bool WalFsync { get; set; } = true;

    /// <summary>
    /// How often the WAL's "sent up to" cursor is fsync'd at most. It is written in place after every acknowledged
    /// request (so a killed agent resumes exactly there) and fsync'd when its last fsync is at least this old and at
    /// stop; after an OS crash or power cut the agent can resend up to this much of what was already acknowledged
    /// (receivers drop identical samples), never skip. Default 30 s; <see cref="TimeSpan.Zero"/> rewrites and fsyncs
    /// the cursor file (tmp, fsync, rename) on every commit, as before: an open, two fsyncs and a rename per scrape.
    /// </summary>
    public TimeSpan WalCursorSyncInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest scrape (Flotta's <c>scrapeTimeout</c>, 15 s), capped at the target's interval.</summary>
    public TimeSpan ScrapeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>First wait before resending a failed request (then doubling, jittered).</summary>
    public TimeSpan RetryInitial { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between resends. Default 10 s: Flotta's <c>defaultRequestRetryInterval</c>.</summary>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>WAL payload bytes read per delivery step (a backlog is sent in requests of up to requestNumSamples).</summary>
    public long ReadBytes { get; set; } = 4L << 20;

    /// <summary>Size bound of <c>DATA/dead-letter/metrics.ndjson</c>.</summary>
    public long DeadLetterBytes { get; set; } = 64L << 20;
}
