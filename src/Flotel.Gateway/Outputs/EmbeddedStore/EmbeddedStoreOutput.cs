using System.Runtime.CompilerServices;
using Flotel.Gateway.Queueing;
using Flotel.Model.Logs;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Store.Metrics;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The default output: moves records from the durable queue into the embedded stores. Two queue readers with their
/// own commit rules, because the two stores become durable differently:
/// <list type="bullet">
/// <item><c>store-logs</c> parses syslog frames and <c>_bulk</c> documents, writes them in one SQLite transaction
/// and commits its cursor right after — a log is acknowledged once it is searchable.</item>
/// <item><c>store-metrics</c> appends remote-write samples into the metric store's in-memory head chunks and commits
/// its cursor only after <see cref="MetricStore.FlushAsync"/> has persisted them (every <see cref="MetricsFlushInterval"/>),
/// so a crash replays the queue into the heads; the store drops the replayed samples it already has as duplicates.</item>
/// </list>
/// A record that cannot be decoded is counted and skipped (it can never succeed); a store failure is retried with
/// backoff without committing, so nothing acknowledged is lost.
/// </summary>
public sealed partial class EmbeddedStoreOutput : IAsyncDisposable
{
    /// <summary>How often metric heads are persisted and the metrics cursor committed (bounds replay after a crash).</summary>
    public static readonly TimeSpan MetricsFlushInterval = TimeSpan.FromSeconds(15);

    private const int BatchRecords = 512;
    // 4 MiB (about 16k syslog lines) per read: with 32 MiB the parsed events of one batch pushed the gateway's peak RSS
    // to 427 MiB under loggen load; with 4 MiB it is 237 MiB at the same msg/s (bench/peers/syslog-ingest.sh).
    private const long BatchBytes = 4L * 1024 * 1024;

    private readonly DurableQueue _queue;
    private readonly LogStore _logs;
    private readonly MetricStore _metrics;
    private readonly SyslogParser _parser;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Counter _events;
    private readonly Counter _documents;
    private readonly Counter _samples;
    private readonly Counter _corrupt;
    private readonly Counter _storeErrors;
    private readonly Counter _mergeSteps;
    private Task? _logLoop;
    private Task? _metricLoop;
    private int _stopped;

    public EmbeddedStoreOutput(
        DurableQueue queue, LogStore logs, MetricStore metrics, SyslogParser parser, MetricsRegistry registry, TimeProvider time, ILogger logger)
    {
        _queue = queue;
        _logs = logs;
        _metrics = metrics;
        _parser = parser;
        _time = time;
        _logger = logger;
        _events = registry.Counter("flotel_store_log_events_total", "Syslog events written to the embedded log store.");
        _documents = registry.Counter("flotel_store_bulk_documents_total", "_bulk documents written to the embedded log store.");
        _samples = registry.Counter("flotel_store_samples_total", "Samples appended to the embedded metric store.");
        _corrupt = registry.Counter("flotel_store_dropped_records_total", "Queue records the store output could not decode, by reason.", ("reason", "undecodable"));
        _storeErrors = registry.Counter("flotel_store_write_errors_total", "Failed writes to the embedded stores (retried).");
        _mergeSteps = registry.Counter("flotel_store_log_merge_steps_total", "Full-text merge steps the log store ran while idle.");
        registry.Gauge("flotel_store_metric_series", "Series in the embedded metric store.", () => _metrics.SeriesCount);
        registry.ObservedCounter("flotel_store_series_refused_total", "New series the metric store refused because it held store.metrics.maxSeries series.", () => _metrics.RefusedSeriesTotal);
        registry.ObservedCounter("flotel_store_samples_refused_total", "Samples the metric store dropped because their series was refused (store.metrics.maxSeries).", () => _metrics.RefusedSamplesTotal);
    }

    /// <summary>Starts both reader loops.</summary>
    public void Start()
    {
        // Each reader passes over the other's record kind without reading it: the metric reader used to read every
        // (up to 1 MiB) syslog record only to skip it — a large-object array per record (docs/benchmarks.md).
        _logLoop = Task.Run(() => RunAsync("store-logs", reader => LogLoopAsync(reader, static kind => kind != (byte)GatewayRecordKind.RemoteWrite)));
        _metricLoop = Task.Run(() => RunAsync("store-metrics", reader => MetricLoopAsync(reader, static kind => kind == (byte)GatewayRecordKind.RemoteWrite)));
    }

    /// <summary>
    /// Stops after draining what is already in the queue (within <paramref name="drainTimeout"/>), persists the metric
    /// heads and commits. Idempotent.
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _stopping.CancelAfter(drainTimeout);
        _draining = true;
        _wakeUp.Cancel();
        foreach (var loop in new[] { _logLoop, _metricLoop })
        {
            if (loop is not null)
            {
                await loop.ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _stopping.Dispose();
        _wakeUp.Dispose();
    }

    /// <summary>Set by <see cref="StopAsync"/>: read until the queue is empty, then end.</summary>
    private volatile bool _draining;

    /// <summary>Cancelled by <see cref="StopAsync"/> to end a wait for new records.</summary>
    private readonly CancellationTokenSource _wakeUp = new();

    private async Task RunAsync(string readerName, Func<QueueReader, Task<Exception?>> loop)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!_stopping.IsCancellationRequested)
        {
            // A failed batch was not committed: reopening the reader re-delivers it from the committed cursor.
            using var reader = _queue.OpenReader(readerName);
            var failure = await loop(reader).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            _storeErrors.Increment();
            LogStoreWriteFailed(_logger, readerName, backoff.TotalSeconds, failure.Message);
            await DelayAsync(backoff).ConfigureAwait(false);
            backoff = backoff * 2 > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : backoff * 2;
        }
    }

    /// <summary>
    /// The metric reader's loop: appends each batch to the metric store and commits the cursor only when the metric
    /// heads are flushed (every <see cref="MetricsFlushInterval"/>, when idle, and at the end). Returns null when
    /// stopped, or the exception of a failed store write.
    /// </summary>
    private async Task<Exception?> MetricLoopAsync(QueueReader reader, Predicate<byte> wanted)
    {
        var batch = new List<QueueRecord>(BatchRecords);
        var lastFlush = _time.GetTimestamp();
        var processedUpTo = reader.CommittedSequence;
        while (!_stopping.IsCancellationRequested)
        {
            batch.Clear();
            if (!reader.TryReadBatch(BatchRecords, BatchBytes, batch, wanted))
            {
                // Records of the other kind passed over are done for this reader: commit past them too.
                processedUpTo = Math.Max(processedUpTo, reader.LastReadSequence);
                if (_draining)
                {
                    break;
                }

                if (processedUpTo > reader.CommittedSequence)
                {
                    await FlushMetricsAndCommitAsync(reader, processedUpTo).ConfigureAwait(false);
                    lastFlush = _time.GetTimestamp();
                }

                if (!await WaitForRecordsAsync(reader, MetricsFlushInterval).ConfigureAwait(false))
                {
                    break; // the queue stopped
                }

                continue;
            }

            try
            {
                ProcessMetrics(batch);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return e;
            }

            processedUpTo = Math.Max(batch[^1].Sequence, reader.LastReadSequence);
            if (_time.GetElapsedTime(lastFlush) >= MetricsFlushInterval)
            {
                await FlushMetricsAndCommitAsync(reader, processedUpTo).ConfigureAwait(false);
                lastFlush = _time.GetTimestamp();
            }
        }

        if (processedUpTo > reader.CommittedSequence)
        {
            await FlushMetricsAndCommitAsync(reader, processedUpTo).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>
    /// Waits until the queue has a record for <paramref name="reader"/>, a stop or drain wakes the loop, or
    /// <paramref name="atMost"/> passed (null: no limit). false when the queue stopped.
    /// </summary>
    private async Task<bool> WaitForRecordsAsync(QueueReader reader, TimeSpan? atMost)
    {
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(_wakeUp.Token, _stopping.Token);
            if (atMost is { } limit)
            {
                wait.CancelAfter(limit);
            }

            return await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return true; // woken for a flush, a drain or a stop: the loop looks again
        }
    }

    private async Task FlushMetricsAndCommitAsync(QueueReader reader, long upTo)
    {
        try
        {
            await _metrics.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            reader.Commit(upTo);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _storeErrors.Increment();
            LogStoreWriteFailed(_logger, reader.Name, 0, e.Message);
        }
    }

    private async Task DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// The log reader's loop: reads, parses and writes with a commit per batch, pipelined — while one
    /// batch is written to the store (on another thread), the next is read from the queue and parsed, so the store's
    /// single writer does not wait for the read and the parse between its transactions. Writes stay in queue order;
    /// a batch is committed once its write completed. On a failed write the batch read ahead was not written and is
    /// delivered again from the committed cursor, like the failed one. When the queue is empty the loop spends the idle
    /// time on the store's full-text merging (<see cref="LogStore.MergeStepAsync"/>), one short step between looks.
    /// </summary>
    private async Task<Exception?> LogLoopAsync(QueueReader reader, Predicate<byte> wanted)
    {
        // The list is reused: a write holds the parsed events (and documents pointing into the records' arrays), not it.
        var batch = new List<QueueRecord>(BatchRecords);
        Task? writing = null;
        long writingUpTo = 0;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                batch.Clear();
                if (!reader.TryReadBatch(BatchRecords, BatchBytes, batch, wanted))
                {
                    if (writing is not null)
                    {
                        await writing.ConfigureAwait(false);
                        writing = null;
                        reader.Commit(writingUpTo);
                    }

                    // Records of the other kind passed over are done for this reader: commit past them too.
                    if (reader.LastReadSequence > reader.CommittedSequence)
                    {
                        reader.Commit(reader.LastReadSequence);
                    }

                    if (_draining)
                    {
                        break;
                    }

                    if (_logs.HasPendingMerges)
                    {
                        // Idle: catch up on full-text merging one short step at a time, looking at the queue between steps.
                        _ = await _logs.MergeStepAsync(CancellationToken.None).ConfigureAwait(false);
                        _mergeSteps.Increment();
                        continue;
                    }

                    if (!await WaitForRecordsAsync(reader, atMost: null).ConfigureAwait(false))
                    {
                        break; // the queue stopped
                    }

                    continue;
                }

                var events = new List<LogEvent>();
                var documents = new List<LogDocument>();
                DecodeLogs(batch, events, documents);
                var upTo = Math.Max(batch[^1].Sequence, reader.LastReadSequence);
                if (writing is not null)
                {
                    await writing.ConfigureAwait(false);
                    reader.Commit(writingUpTo);
                }

                writing = Task.Run(() => WriteLogsAsync(events, documents));
                writingUpTo = upTo;
            }

            if (writing is not null)
            {
                await writing.ConfigureAwait(false);
                writing = null;
                reader.Commit(writingUpTo);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return e;
        }
        finally
        {
            if (writing is not null)
            {
                // Never leave a write running when the loop ends (its batch stays uncommitted).
                try
                {
                    await writing.ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // reported by the await above, or the loop already failed
                }
            }
        }

        return null;
    }

    private async Task WriteLogsAsync(List<LogEvent> events, List<LogDocument> documents)
    {
        if (events.Count > 0)
        {
            await _logs.WriteAsync(events).ConfigureAwait(false);
            _events.Add(events.Count);
        }

        if (documents.Count > 0)
        {
            await _logs.WriteDocumentsAsync(documents).ConfigureAwait(false);
            _documents.Add(documents.Count);
        }
    }

    /// <summary>
    /// Parses syslog frames into events and points <c>_bulk</c> documents into the records (undecodable records are
    /// counted). Out of the async method so the per-record loop is compiled optimized from the start.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeLogs(List<QueueRecord> batch, List<LogEvent> events, List<LogDocument> documents)
    {
        var pool = new SyslogStringPool();
        foreach (var record in batch)
        {
            var payload = record.Payload.Span;
            if (!GatewayRecord.TryReadHeader(payload, out var kind, out var receivedMs, out var peer, out var offset))
            {
                _corrupt.Increment();
                continue;
            }

            switch (kind)
            {
                case GatewayRecordKind.SyslogFrames:
                    var receivedAt = DateTimeOffset.FromUnixTimeMilliseconds(receivedMs).UtcDateTime;
                    var frames = payload[(offset + 1)..];
                    while (GatewayRecord.TryReadFrame(ref frames, out var frame))
                    {
                        events.Add(_parser.ParseEvent(frame, receivedAt, peer, pool));
                    }

                    if (!frames.IsEmpty)
                    {
                        _corrupt.Increment();
                    }

                    break;
                case GatewayRecordKind.BulkDocuments:
                    var body = payload[offset..];
                    while (GatewayRecord.TryReadDocument(ref body, out var index, out var id, out var createOnly, out var source))
                    {
                        // Point into the record's memory instead of copying the source.
                        var start = payload.Length - body.Length - source.Length;
                        documents.Add(new LogDocument(index, id, record.Payload.Slice(start, source.Length), createOnly));
                    }

                    if (!body.IsEmpty)
                    {
                        _corrupt.Increment();
                    }

                    break;
                case GatewayRecordKind.RemoteWrite:
                    break; // the metrics reader's
                default:
                    _corrupt.Increment();
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ProcessMetrics(List<QueueRecord> batch)
    {
        foreach (var record in batch)
        {
            var payload = record.Payload.Span;
            if (!GatewayRecord.TryReadHeader(payload, out var kind, out _, out _, out var offset) || kind != GatewayRecordKind.RemoteWrite)
            {
                continue;
            }

            try
            {
                var result = _metrics.AppendRemoteWriteBody(payload[offset..]);
                _samples.Add(result.Appended);
            }
            catch (RemoteWriteException)
            {
                _corrupt.Increment(); // validated on input, so only a damaged record gets here
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Embedded store output {Reader} failed to write; retrying in {Seconds} s with the records kept in the queue: {Reason}")]
    private static partial void LogStoreWriteFailed(ILogger logger, string reader, double seconds, string reason);
}
