using System.Globalization;
using Flotel.Agent.Hosting;
using Flotel.Model.Manifests;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Net;
using Flotel.Pipeline.Queue;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Metrics;

/// <summary>
/// The agent's metrics path (architecture §1; docs/reference/flotta-device-worker.md §4): scrape targets from the plan
/// (<see cref="MetricsTargetPlanner"/>) → allow list and labels (<see cref="ScrapeBuilder"/>) → one WAL record per
/// scrape in <c>DATA/metrics-wal</c> (a <see cref="DurableQueue"/> bounded by <c>retention.maxMiB</c>, drop-oldest) →
/// the shared delivery driver reading it through the reader <c>remote-write</c> → <see cref="RemoteWriteSender"/> to
/// <c>receiverConfiguration.url</c>. Nothing scraped is lost silently: a record leaves the WAL when the receiver took
/// it, when it was dead-lettered (<c>DATA/dead-letter/metrics.ndjson</c>), when it expired (<c>maxHours</c>) or when
/// the size bound dropped it — each counted.
/// <para>Plan changes (<see cref="ApplyAsync"/>) touch only what changed: a new URL, timeout or CA is used from the
/// next request on; a new <c>requestNumSamples</c> restarts the delivery loop; new retention reopens the WAL with its
/// content; targets are added, replaced or removed one by one. The WAL and its cursor survive all of them.</para>
/// </summary>
public sealed partial class MetricsComponent : IAgentComponent
{
    /// <summary>The WAL reader and the <c>output</c> label of the delivery counters.</summary>
    public const string OutputName = "remote-write";

    internal const string ScrapesMetric = "flotel_agent_metrics_scrapes_total";
    internal const string ScrapesHelp = "Scrapes appended to the metrics WAL, by target (metric-source) and result (failed = up 0 or not stored).";
    internal const string SamplesMetric = "flotel_agent_metrics_samples_total";
    internal const string SamplesHelp = "Scraped samples, by target and result (stored, not_allowed, out_of_order, malformed).";

    private readonly AgentOptions _options;
    private readonly MetricsComponentOptions _settings;
    private readonly MetricsRegistry _registry;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, ScrapeLoop> _loops = new(StringComparer.Ordinal);
    private readonly DeadLetterFile<TimeSeries> _deadLetters;
    private readonly Counter _walDropped;

    // Guarded by _gate (written), read by the loops' append and the gauges: the WAL now in use.
    private volatile DurableQueue? _wal;
    private RetentionPlan? _retention;
    private RemoteWriteSender? _sender;
    private QueueDelivery<WalScrape>? _delivery;
    private int _deliveryBatchSamples;
    private string _device = string.Empty;
    private string _notes = string.Empty;
    private long _droppedSeen;
    private int _stopped;

    /// <summary>Set by the appenders (any loop) when an append fails, cleared by the next success: log transitions only.</summary>
    private int _appendFailing;

    public MetricsComponent(AgentOptions options, MetricsRegistry registry, ILoggerFactory loggerFactory, TimeProvider time)
        : this(options, registry, loggerFactory, time, new MetricsComponentOptions())
    {
    }

    public MetricsComponent(AgentOptions options, MetricsRegistry registry, ILoggerFactory loggerFactory, TimeProvider time, MetricsComponentOptions settings)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _registry = registry;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Flotel.Agent.Metrics");
        _time = time ?? TimeProvider.System;
        _settings = settings ?? new MetricsComponentOptions();
        _deadLetters = new DeadLetterFile<TimeSeries>(DeadLetterPath, RemoteWriteSender.WriteDeadLetter, _settings.DeadLetterBytes, _time);
        _walDropped = registry.Counter("flotel_agent_metrics_wal_dropped_records_total", "Scrapes dropped from the WAL because it reached retention.maxMiB (oldest first).");
        registry.Gauge("flotel_agent_metrics_wal_bytes", "Bytes of the metrics WAL on disk.", () => Stats()?.BytesOnDisk ?? 0);
        registry.Gauge("flotel_agent_metrics_wal_pending_records", "Scrapes in the WAL not yet acknowledged by the receiver.", () => PendingRecords);
    }

    /// <inheritdoc />
    public string Name => "metrics";

    /// <summary><c>DATA/metrics-wal</c>.</summary>
    public string WalDirectory => Path.Combine(_options.DataDirectory, "metrics-wal");

    /// <summary><c>DATA/dead-letter/metrics.ndjson</c>: series a receiver refused for good, one JSON object a line.</summary>
    public string DeadLetterPath => Path.Combine(_options.DataDirectory, "dead-letter", "metrics.ndjson");

    /// <summary>Scrapes in the WAL the receiver has not acknowledged yet (all of them while remote write is off).</summary>
    public long PendingRecords
    {
        get
        {
            var stats = Stats();
            if (stats is null)
            {
                return 0;
            }

            foreach (var reader in stats.Readers)
            {
                if (reader.Name == OutputName)
                {
                    return reader.Lag;
                }
            }

            return stats.LastSequence;
        }
    }

    /// <summary>Bytes of the WAL on disk: the scrapes remote write has not acknowledged, plus at most the rest of one segment.</summary>
    public long WalBytesOnDisk => Stats()?.BytesOnDisk ?? 0;

    /// <summary>The keys (<c>source|url</c>) of the targets scraped now, sorted.</summary>
    public IReadOnlyList<string> TargetKeys
    {
        get
        {
            lock (_loops)
            {
                return [.. _loops.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Scrapes of <paramref name="source"/> appended to the WAL with up=1 (<paramref name="succeeded"/>) or not.</summary>
    public long Scrapes(string source, bool succeeded = true) =>
        _registry.Sum(ScrapesMetric, ("target", source), ("result", succeeded ? "ok" : "failed"));

    /// <inheritdoc />
    public async Task StartAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            OpenWal(plan.Retention);
            _device = plan.DeviceName;
            await ApplyReceiverAsync(plan).ConfigureAwait(false);
            await ApplyTargetsAsync(plan).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task ApplyAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped != 0 || _wal is null)
            {
                return;
            }

            if (_retention != plan.Retention)
            {
                // The bound is fixed when the queue opens: close and reopen it; records and the cursor stay on disk.
                await StopLoopsAsync(null).ConfigureAwait(false);
                await StopDeliveryAsync(TimeSpan.Zero).ConfigureAwait(false);
                await _wal.StopAsync().ConfigureAwait(false);
                OpenWal(plan.Retention);
            }

            if (!string.Equals(_device, plan.DeviceName, StringComparison.Ordinal))
            {
                // Every series carries the device label: restart every loop with the new name.
                await StopLoopsAsync(null).ConfigureAwait(false);
                _device = plan.DeviceName;
            }

            await ApplyReceiverAsync(plan).ConfigureAwait(false);
            await ApplyTargetsAsync(plan).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            // Intake first (style rule 12), then send what the WAL holds within the deadline; the rest stays on disk.
            await StopLoopsAsync(null).ConfigureAwait(false);
            await StopDeliveryAsync(drainTimeout).ConfigureAwait(false);
            if (_wal is { } wal)
            {
                await wal.StopAsync().ConfigureAwait(false);
            }

            var pending = PendingRecords;
            if (pending > 0)
            {
                LogStoppedWithBacklog(_logger, pending, WalDirectory);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _sender?.Dispose();
        _sender = null;
        _deadLetters.Dispose();
    }

    /// <summary>The WAL bound for a retention plan (<c>maxMiB</c> 0 = <see cref="MetricsComponentOptions.DefaultWalBytes"/>).</summary>
    internal static long WalBytes(RetentionPlan retention, MetricsComponentOptions settings) =>
        retention.MaxMiB > 0 ? retention.MaxMiB * 1024 * 1024 : settings.DefaultWalBytes;

    /// <summary>
    /// The driver's batching for <c>requestNumSamples</c>: an item is a scrape weighing its sample count, never more
    /// than the cap (<see cref="WalRecordDecoder"/> splits bigger ones), so the byte cap is the sample cap; the queue is
    /// read in larger chunks.
    /// </summary>
    internal static DeliveryOptions DeliveryOptionsFor(int requestNumSamples, MetricsComponentOptions settings) => new()
    {
        // Every scrape holds at least one sample, so the item cap never binds before the sample cap.
        MaxBatchItems = requestNumSamples,
        MaxBatchBytes = requestNumSamples,
        MaxReadBytes = settings.ReadBytes,
        RetryInitial = settings.RetryInitial,
        RetryMax = settings.RetryMax < settings.RetryInitial ? settings.RetryInitial : settings.RetryMax,
    };

    /// <summary>Age beyond which samples are not sent (<c>maxHours</c>; 0 = Flotta's 7 days).</summary>
    internal static TimeSpan MaxAge(RetentionPlan retention) =>
        TimeSpan.FromHours(retention.MaxHours > 0 ? retention.MaxHours : FlottaDefaults.RetentionHours);

    private DurableQueueStats? Stats()
    {
        try
        {
            return _wal?.GetStats();
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    private void OpenWal(RetentionPlan retention)
    {
        var total = Math.Max(4 * DurableQueueOptions.MinSegmentBytes, WalBytes(retention, _settings));
        _wal = DurableQueue.Open(
            new DurableQueueOptions
            {
                Directory = WalDirectory,
                MaxTotalBytes = total,
                MaxSegmentBytes = Math.Clamp(_settings.WalSegmentBytes, DurableQueueOptions.MinSegmentBytes, DurableQueueOptions.MaxSegmentBytesLimit),
                FullPolicy = QueueFullPolicy.DropOldest,
                Fsync = _settings.WalFsync,
                CursorSyncInterval = _settings.WalCursorSyncInterval,
            },
            _time);
        _droppedSeen = 0;
        _retention = retention;
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var hours = MaxAge(retention).TotalHours;
            var pending = PendingRecords;
            LogWalOpened(_logger, WalDirectory, total / (1024.0 * 1024.0), hours, pending);
        }
    }

    private async ValueTask<bool> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        var wal = _wal;
        if (wal is null)
        {
            return false;
        }

        string reason;
        try
        {
            await wal.AppendAsync(record, cancellationToken).ConfigureAwait(false);
            var dropped = wal.GetStats().DroppedRecordsQueueFull;
            var seen = Interlocked.Exchange(ref _droppedSeen, dropped);
            if (dropped > seen)
            {
                _walDropped.Add(dropped - seen);
            }

            if (Interlocked.Exchange(ref _appendFailing, 0) != 0)
            {
                LogAppendRecovered(_logger);
            }

            return true;
        }
        catch (QueueFullException e)
        {
            reason = e.Message;
        }
        catch (ArgumentOutOfRangeException e)
        {
            reason = e.Message; // a scrape larger than the WAL's record limit (half of maxMiB)
        }
        catch (IOException e)
        {
            reason = e.Message; // disk full or failing
        }

        _registry.Counter("flotel_agent_metrics_wal_append_failures_total", "Scrapes that could not be written to the WAL (lost).").Increment();
        if (Interlocked.Exchange(ref _appendFailing, 1) == 0)
        {
            LogAppendFailed(_logger, WalDirectory, reason);
        }

        return false;
    }

    private async Task ApplyReceiverAsync(DevicePlan plan)
    {
        var receiver = plan.MetricsReceiver;
        var usable = receiver.IsEnabled
            && Uri.TryCreate(receiver.Url, UriKind.Absolute, out var url)
            && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);
        if (!usable)
        {
            if (receiver.IsEnabled)
            {
                LogBadUrl(_logger, UrlRedaction.Redact(receiver.Url));
            }

            if (_delivery is not null)
            {
                await StopDeliveryAsync(TimeSpan.Zero).ConfigureAwait(false);
                LogRemoteWriteOff(_logger, WalDirectory);
            }

            return;
        }

        var samples = receiver.RequestNumSamples > 0 ? receiver.RequestNumSamples : FlottaDefaults.RequestNumSamples;
        if (_sender is null)
        {
            _sender = new RemoteWriteSender(receiver, _time, _loggerFactory.CreateLogger("Flotel.Agent.Metrics.RemoteWrite"), _options.Fleet);
        }
        else
        {
            _sender.Configure(receiver);
        }

        if (_delivery is not null && _deliveryBatchSamples != samples)
        {
            // The batch cap is fixed in the driver: restart it. Uncommitted records are read again (at most one read batch resent).
            await StopDeliveryAsync(TimeSpan.Zero).ConfigureAwait(false);
        }

        if (_delivery is null)
        {
            var options = DeliveryOptionsFor(samples, _settings);
            _delivery = new QueueDelivery<WalScrape>(
                OutputName,
                _wal!.OpenReader(OutputName),
                new WalRecordDecoder(MaxAge(plan.Retention), samples, _time, _registry),
                _sender,
                RemoteWriteSender.SeriesDeadLetters(_deadLetters),
                options,
                _registry,
                _time,
                _loggerFactory.CreateLogger("Flotel.Agent.Metrics.RemoteWrite"),
                itemWeight: static scrape => scrape.Samples);
            _deliveryBatchSamples = samples;
            _delivery.Start();
        }

        if (_logger.IsEnabled(LogLevel.Information))
        {
            var redacted = UrlRedaction.Redact(receiver.Url);
            var pending = PendingRecords;
            LogRemoteWrite(_logger, redacted, samples, _sender.Endpoint.Timeout.TotalSeconds, pending);
        }
    }

    private async Task StopDeliveryAsync(TimeSpan drainTimeout)
    {
        if (_delivery is { } delivery)
        {
            _delivery = null;
            await delivery.StopAsync(drainTimeout).ConfigureAwait(false);
            await delivery.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ApplyTargetsAsync(DevicePlan plan)
    {
        var notes = new List<string>();
        var desired = MetricsTargetPlanner.Plan(plan, _options.NodeExporterUrl, notes);
        var joined = string.Join("; ", notes);
        if (notes.Count > 0 && joined != _notes)
        {
            LogTargetsSkipped(_logger, notes.Count, joined);
        }

        _notes = joined;
        var wanted = desired.ToDictionary(t => t.Key, StringComparer.Ordinal);
        await StopLoopsAsync(key => !wanted.TryGetValue(key, out var t) || !t.Equals(_loops[key].Target)).ConfigureAwait(false);
        var started = 0;
        foreach (var target in desired)
        {
            lock (_loops)
            {
                if (_loops.ContainsKey(target.Key))
                {
                    continue;
                }
            }

            var loop = new ScrapeLoop(target, _device, AppendAsync, _registry, _settings.ScrapeTimeout, _time, _loggerFactory.CreateLogger("Flotel.Agent.Metrics.Scrape"));
            lock (_loops)
            {
                _loops[target.Key] = loop;
            }

            loop.Start();
            started++;
        }

        if (started > 0 && _logger.IsEnabled(LogLevel.Information))
        {
            var list = string.Join(", ", desired.Select(t => t.ToString()));
            LogTargets(_logger, desired.Count, list);
        }
    }

    /// <summary>Stops the loops whose key matches (all when null); a scrape in progress finishes its append first.</summary>
    private async Task StopLoopsAsync(Func<string, bool>? which)
    {
        List<ScrapeLoop> stopping;
        lock (_loops)
        {
            stopping = [.. _loops.Where(kv => which is null || which(kv.Key)).Select(kv => kv.Value)];
            foreach (var loop in stopping)
            {
                _loops.Remove(loop.Target.Key);
            }
        }

        foreach (var loop in stopping)
        {
            await loop.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Metrics WAL {Directory}: bound {MiB:F0} MiB, samples kept {Hours:F0} h, {Pending} scrapes waiting")]
    private static partial void LogWalOpened(ILogger logger, string directory, double miB, double hours, long pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote write to {Url}, at most {Samples} samples per request, {Timeout:F0} s timeout; {Pending} scrapes waiting")]
    private static partial void LogRemoteWrite(ILogger logger, string url, int samples, double timeout, long pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote write is off (no receiverConfiguration.url); scrapes are kept in {Directory} up to the retention")]
    private static partial void LogRemoteWriteOff(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "receiverConfiguration.url {Url} is not an http(s) URL; remote write is off until it is fixed")]
    private static partial void LogBadUrl(ILogger logger, string url);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scraping {Count} targets: {Targets}")]
    private static partial void LogTargets(ILogger logger, int count, string targets);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} configured endpoints are not scraped: {Notes}")]
    private static partial void LogTargetsSkipped(ILogger logger, int count, string notes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Metrics WAL {Directory}: scrapes cannot be stored and are LOST until this is fixed: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metrics WAL: scrapes are stored again")]
    private static partial void LogAppendRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped with {Pending} scrapes not yet sent; they stay in {Directory} for the next start")]
    private static partial void LogStoppedWithBacklog(ILogger logger, long pending, string directory);
}
