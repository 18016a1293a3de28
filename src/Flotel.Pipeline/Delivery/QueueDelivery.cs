using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Microsoft.Extensions.Logging;

namespace Flotel.Pipeline.Delivery;

/// <summary>
/// The shared driver between a durable queue reader and one output (style rules 3–5, 12): reads records, decodes them
/// into items, cuts batches by <see cref="DeliveryOptions.MaxBatchItems"/> and <see cref="DeliveryOptions.MaxBatchBytes"/>,
/// sends each through <see cref="IBatchSender{T}"/> and settles every item — sent, dead-lettered, dropped (counted) —
/// before the reader's cursor is committed. Retryable failures are retried with <see cref="RetryBackoff"/> forever
/// (the queue bounds the backlog, not the driver); a crash or stop before the commit means the records are delivered
/// again after restart (at-least-once, at most one read batch of duplicates). With a record filter (<c>wantedRecords</c>),
/// records of kinds the output does not take are passed over by the reader without their payload being read, and the
/// cursor is committed past them.
/// <para>Counters (<c>output</c> label = the output's name):
/// <c>flotel_output_items_total{result="sent|dead_lettered|dropped|lost",reason}</c>,
/// <c>flotel_output_requests_total{result="success|retry|partial|too_large|reject"}</c>,
/// <c>flotel_output_undecodable_records_total</c>. An item counts as 1 in <c>flotel_output_items_total</c> unless the
/// output says what it weighs (the agent's remote write sends whole scrapes and counts their samples).</para>
/// </summary>
public sealed partial class QueueDelivery<T> : IAsyncDisposable
{
    private readonly string _name;
    /// <summary>Replaced by the loop when a pass fails under <see cref="SendFailurePolicy.ReplayFromCommitted"/>.</summary>
    private QueueReader _reader;

    /// <summary>Opens the reader again at its committed cursor (<see cref="SendFailurePolicy.ReplayFromCommitted"/>).</summary>
    private readonly Func<QueueReader>? _reopenReader;

    private readonly IFlushingSender? _flushing;
    private readonly IIdleWorkSender? _idle;
    private readonly ISelfReportingSender? _reporter;
    private readonly IRecordDecoder<T> _decoder;
    private readonly IBatchSender<T> _sender;
    private readonly IDeadLetterSink<T>? _deadLetters;
    private readonly DeliveryOptions _options;
    private readonly MetricsRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RetryBackoff _backoff;
    private readonly Func<T, int>? _weight;

    /// <summary>Given a record's first payload byte (its kind), whether the output takes it; null = every record.</summary>
    private readonly Predicate<byte>? _wanted;

    /// <summary>Cancelled when stopping begins: the loop stops waiting for new records and exits once the queue is drained.</summary>
    private readonly CancellationTokenSource _drain = new();

    /// <summary>Cancelled when the drain deadline passes: in-flight sends and retry waits are abandoned, nothing is committed.</summary>
    private readonly CancellationTokenSource _abort = new();

    private readonly Counter _sent;
    private readonly Counter _undecodable;
    private readonly Counter _requestsSuccess;
    private readonly Counter _requestsRetry;
    private readonly Counter _requestsPartial;
    private readonly Counter _requestsTooLarge;
    private readonly Counter _requestsReject;
    private Task? _loop;
    private int _stopped;

    /// <summary>True while a retry episode is in progress (written and read by the loop and the one send it awaits).</summary>
    private bool _failing;

    /// <summary>Passes in a row that failed (<see cref="SendFailurePolicy.ReplayFromCommitted"/>); 0 after a delivered batch.</summary>
    private int _failedPasses;

    /// <summary>The send started by <see cref="DispatchAsync"/> with <see cref="DeliveryOptions.SendAhead"/>, and what it settles.</summary>
    private Task? _inFlight;

    private long? _inFlightUpTo;

    /// <summary>With deferred commits: the highest sequence sent but not yet flushed and committed.</summary>
    private long _processedUpTo;

    /// <summary>With deferred commits: when the sender was last flushed (a timestamp of the clock).</summary>
    private long _lastFlush;

    /// <summary>With <see cref="DeliveryOptions.Linger"/>: when the last batch was read (a timestamp of the clock; 0 = never).</summary>
    private long _lastRead;

    /// <summary>With <see cref="DeliveryOptions.Linger"/>: the last read was small (the queue ran empty), so the next one waits.</summary>
    private bool _lingerBeforeNextRead;

    public QueueDelivery(
        string name,
        QueueReader reader,
        IRecordDecoder<T> decoder,
        IBatchSender<T> sender,
        IDeadLetterSink<T>? deadLetters,
        DeliveryOptions options,
        MetricsRegistry registry,
        TimeProvider time,
        ILogger logger,
        Func<T, int>? itemWeight = null,
        Predicate<byte>? wantedRecords = null,
        Func<QueueReader>? reopenReader = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sender);
        options.Validate();
        if (options.OnSendException == SendFailurePolicy.ReplayFromCommitted && reopenReader is null)
        {
            throw new ArgumentException($"Output {name}: {nameof(SendFailurePolicy.ReplayFromCommitted)} needs a way to reopen the reader.", nameof(reopenReader));
        }

        if (options.FlushInterval is not null && sender is not IFlushingSender)
        {
            throw new ArgumentException($"Output {name}: deferred commits ({nameof(DeliveryOptions.FlushInterval)}) need an {nameof(IFlushingSender)}.", nameof(sender));
        }

        if (options.SendAhead && reader.ReuseReadBuffers)
        {
            throw new ArgumentException($"Output {name}: {nameof(DeliveryOptions.SendAhead)} needs a reader that keeps its records' memory.", nameof(reader));
        }

        _name = name;
        _reader = reader;
        _reopenReader = reopenReader;
        _flushing = options.FlushInterval is null ? null : (IFlushingSender)sender;
        _idle = sender as IIdleWorkSender;
        _reporter = sender as ISelfReportingSender;

        // A self-reporting sender keeps its own series: the driver's counters still count (for its properties) but
        // are not exported.
        registry = _reporter is null ? registry : new MetricsRegistry();
        _decoder = decoder;
        _sender = sender;
        _deadLetters = deadLetters;
        _options = options;
        _registry = registry;
        _time = time;
        _logger = logger;
        _backoff = new RetryBackoff(options.RetryInitial, options.RetryMax) { Jitter = options.RetryJitter };
        _weight = itemWeight;
        _wanted = wantedRecords;
        _sent = ItemCounter("sent", "ok");
        _undecodable = registry.Counter("flotel_output_undecodable_records_total", "Queue records an output could not decode (skipped).", ("output", name));
        _requestsSuccess = RequestCounter("success");
        _requestsRetry = RequestCounter("retry");
        _requestsPartial = RequestCounter("partial");
        _requestsTooLarge = RequestCounter("too_large");
        _requestsReject = RequestCounter("reject");
    }

    /// <summary>The output's name (its queue reader and metric label).</summary>
    public string Name => _name;

    /// <summary>Items the peer accepted (in the output's unit: see <c>itemWeight</c>).</summary>
    public long Sent => _sent.Value;

    /// <summary>Items in the dead-letter sink.</summary>
    public long DeadLettered => ItemCounterTotal("dead_lettered");

    /// <summary>Items dropped by the peer's verdict (counted, e.g. 409 conflicts).</summary>
    public long Dropped => ItemCounterTotal("dropped");

    /// <summary>Items lost because the dead-letter sink refused them (full or absent).</summary>
    public long Lost => ItemCounterTotal("lost");

    /// <summary>Requests that were answered with a retryable failure or failed to connect.</summary>
    public long Retries => _requestsRetry.Value;

    /// <summary>Queue records that could not be decoded.</summary>
    public long Undecodable => _undecodable.Value;

    /// <summary>Starts the loop. Call once. The driver owns the reader from here on and disposes it.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"Output {_name} is already started.");
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Stops: delivers what is already in the queue for up to <paramref name="drainTimeout"/>, then abandons the rest
    /// (it stays in the queue for the next start). Safe without <see cref="Start"/> and idempotent.
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            if (_loop is not null)
            {
                await _loop.ConfigureAwait(false);
            }

            return;
        }

        await _drain.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            var finished = await Task.WhenAny(_loop, Task.Delay(drainTimeout, _time)).ConfigureAwait(false);
            if (finished != _loop)
            {
                await _abort.CancelAsync().ConfigureAwait(false);
                if (_reporter is null)
                {
                    LogAbandoned(_logger, _name, drainTimeout.TotalSeconds);
                }
            }

            await _loop.ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _reader.Dispose();
        _drain.Dispose();
        _abort.Dispose();
    }

    private async Task RunAsync()
    {
        var abort = _abort.Token;
        try
        {
            while (true)
            {
                var failure = await RunPassAsync(abort).ConfigureAwait(false);
                if (failure is null)
                {
                    return;
                }

                var wait = _backoff.Next(_failedPasses++);
                ReportFailure(failure, wait);
                await Task.Delay(wait, _time, abort).ConfigureAwait(false);

                // Nothing past the committed cursor was acknowledged: a new reader delivers it all again, the batch
                // read ahead included.
                _reader.Dispose();
                _reader = _reopenReader!();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Abandoned at the drain deadline: the uncommitted records are delivered after the next start.
        }
        catch (ObjectDisposedException)
        {
            // The queue was closed under us during shutdown; nothing was committed past what was delivered.
        }
    }

    /// <summary>
    /// Reads, decodes, sends and commits until stopped (null) or, with <see cref="SendFailurePolicy.ReplayFromCommitted"/>,
    /// until a send or idle step throws (the exception; nothing after the last commit counts as delivered).
    /// </summary>
    private async Task<Exception?> RunPassAsync(CancellationToken abort)
    {
        var records = new List<QueueRecord>(_options.MaxQueueRecords);
        var items = new List<(T Item, int Bytes)>();
        var batch = new List<T>();
        var readBytes = Math.Max(_options.MaxReadBytes ?? _options.MaxBatchBytes, 1);
        _processedUpTo = _reader.CommittedSequence;
        _lastFlush = _time.GetTimestamp();
        try
        {
            while (!abort.IsCancellationRequested)
            {
                records.Clear();
                if (_lingerBeforeNextRead)
                {
                    // The batch sent ahead is landed and settled first (committed, or counted for the next flush when
                    // commits are deferred): the wait must not leave a write running.
                    _lingerBeforeNextRead = false;
                    await LandInFlightAsync().ConfigureAwait(false);
                    await LingerAsync().ConfigureAwait(false);
                }

                if (!_reader.TryReadBatch(_options.MaxQueueRecords, readBytes, records, _wanted))
                {
                    await LandInFlightAsync().ConfigureAwait(false);

                    // Records passed over by the filter are settled (not this output's): move the cursor past them.
                    if (_wanted is not null)
                    {
                        Settled(_reader.LastReadSequence);
                    }

                    if (_drain.IsCancellationRequested)
                    {
                        break;
                    }

                    if (_flushing is not null && _processedUpTo > _reader.CommittedSequence && IdleFlushWait() == TimeSpan.Zero)
                    {
                        await FlushAndCommitAsync().ConfigureAwait(false);
                    }

                    if (await RunIdleStepAsync(abort).ConfigureAwait(false))
                    {
                        continue;
                    }

                    if (!await WaitForRecordsAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                if (_options.Linger is not null)
                {
                    // A read that took less than the limits allow emptied the queue: the next one gathers first.
                    _lastRead = _time.GetTimestamp();
                    _lingerBeforeNextRead = records.Count < _options.MaxQueueRecords && PayloadBytes(records) < readBytes / 2;
                }

                items.Clear();
                foreach (var record in records)
                {
                    if (!_decoder.TryDecode(record, items))
                    {
                        CountUndecodable(record);
                    }
                }

                var upTo = _wanted is null ? records[^1].Sequence : Math.Max(records[^1].Sequence, _reader.LastReadSequence);
                long batchBytes = 0;
                batch.Clear();
                foreach (var (item, bytes) in items)
                {
                    if (batch.Count > 0 && (batch.Count >= _options.MaxBatchItems || batchBytes + bytes > _options.MaxBatchBytes))
                    {
                        await DispatchAsync(batch.ToArray(), upTo: null, abort).ConfigureAwait(false);
                        batch.Clear();
                        batchBytes = 0;
                    }

                    batch.Add(item);
                    batchBytes += bytes;
                }

                if (batch.Count > 0)
                {
                    await DispatchAsync(batch.ToArray(), upTo, abort).ConfigureAwait(false);
                }
                else
                {
                    // Nothing to send (records of no items): settled once everything before them is.
                    await LandInFlightAsync().ConfigureAwait(false);
                    Settled(upTo);
                }

                if (_flushing is not null && _time.GetElapsedTime(_lastFlush) >= _options.FlushInterval)
                {
                    await LandInFlightAsync().ConfigureAwait(false);
                    await FlushAndCommitAsync().ConfigureAwait(false);
                }
            }

            await LandInFlightAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Abandoned at the drain deadline; what was accepted is still flushed below.
        }
        catch (Exception e) when (_options.OnSendException == SendFailurePolicy.ReplayFromCommitted && e is not OperationCanceledException and not ObjectDisposedException)
        {
            return e;
        }
        finally
        {
            // Never leave a send running when the pass ends (its records stay uncommitted).
            if (_inFlight is { } running)
            {
                _inFlight = null;
                try
                {
                    await running.ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Reported by the pass that awaited it first, or the pass already failed.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
        }

        if (_flushing is not null && _processedUpTo > _reader.CommittedSequence)
        {
            await FlushAndCommitAsync().ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>
    /// Sends <paramref name="batch"/>; <paramref name="upTo"/> is the sequence settled once it is sent (null: not the
    /// last batch of its read). With <see cref="DeliveryOptions.SendAhead"/> the send starts on another thread after
    /// the one in flight landed, and this returns at once.
    /// </summary>
    private async Task DispatchAsync(T[] batch, long? upTo, CancellationToken abort)
    {
        if (!_options.SendAhead)
        {
            await SendAsync(batch, abort).ConfigureAwait(false);
            if (upTo is { } sent)
            {
                Settled(sent);
            }

            return;
        }

        await LandInFlightAsync().ConfigureAwait(false);
        _inFlight = Task.Run(() => SendAsync(batch, abort), CancellationToken.None);
        _inFlightUpTo = upTo;
    }

    /// <summary>Waits for the send in flight (if any) and settles its records.</summary>
    private async Task LandInFlightAsync()
    {
        if (_inFlight is not { } running)
        {
            return;
        }

        _inFlight = null;
        await running.ConfigureAwait(false);
        if (_inFlightUpTo is { } sent)
        {
            Settled(sent);
        }
    }

    /// <summary>Records up to <paramref name="upTo"/> are sent: committed now, or at the next flush when commits are deferred.</summary>
    private void Settled(long upTo)
    {
        if (_flushing is not null)
        {
            _processedUpTo = Math.Max(_processedUpTo, upTo);
        }
        else if (upTo > _reader.CommittedSequence)
        {
            _reader.Commit(upTo);
        }
    }

    /// <summary>Makes what the sender accepted durable and commits it; a failure is reported and tried again at the next flush.</summary>
    private async Task FlushAndCommitAsync()
    {
        try
        {
            await _flushing!.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            _reader.Commit(_processedUpTo);
        }
        catch (Exception e) when (e is not OperationCanceledException and not ObjectDisposedException)
        {
            if (_reporter is not null)
            {
                _reporter.ReportFailure(e, TimeSpan.Zero);
            }
            else
            {
                LogFlushFailed(_logger, _name, e.Message);
            }
        }

        _lastFlush = _time.GetTimestamp();
    }

    /// <summary>Runs one step of the sender's idle work, if it has any; false when there is none (or it failed and is reported).</summary>
    private async Task<bool> RunIdleStepAsync(CancellationToken abort)
    {
        if (_idle is not { HasIdleWork: true })
        {
            return false;
        }

        try
        {
            await _idle.RunIdleStepAsync(abort).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (_options.OnSendException == SendFailurePolicy.RetryBatch && e is not OperationCanceledException)
        {
            // No reader to reopen: report it and wait for records (the work is tried again when the queue next empties).
            ReportFailure(e, TimeSpan.Zero);
            return false;
        }
    }

    /// <summary>
    /// Waits until the queue has a record, the drain begins or (with deferred commits) a flush interval passed.
    /// false when the queue stopped.
    /// </summary>
    private async Task<bool> WaitForRecordsAsync()
    {
        try
        {
            if (_options.FlushInterval is not { } flush)
            {
                return await _reader.WaitToReadAsync(_drain.Token).ConfigureAwait(false);
            }

            // A flush that failed while idle is tried again after an interval, records or not; a flush held back by
            // MinIdleFlushInterval runs when that has passed.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(_drain.Token);
            wait.CancelAfter(_processedUpTo > _reader.CommittedSequence && IdleFlushWait() is var due && due > TimeSpan.Zero ? due : flush);
            return await _reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return true; // draining (take what is already durable, then exit) or time to flush: look again
        }
    }

    /// <summary>
    /// With deferred commits and <see cref="DeliveryOptions.MinIdleFlushInterval"/>: how long until the queue running
    /// empty may flush again (zero = now).
    /// </summary>
    private TimeSpan IdleFlushWait()
    {
        if (_options.MinIdleFlushInterval is not { } spacing)
        {
            return TimeSpan.Zero;
        }

        var left = spacing - _time.GetElapsedTime(_lastFlush);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static long PayloadBytes(List<QueueRecord> records)
    {
        long bytes = 0;
        foreach (var record in records)
        {
            bytes += record.Payload.Length;
        }

        return bytes;
    }

    /// <summary>
    /// With <see cref="DeliveryOptions.Linger"/>, after a read that emptied the queue: waits until the linger has passed
    /// since that read, so what arrives meanwhile goes in the next batch. A drain ends the wait.
    /// </summary>
    private async Task LingerAsync()
    {
        if (_options.Linger is not { } linger || _drain.IsCancellationRequested)
        {
            return;
        }

        var remaining = linger - _time.GetElapsedTime(_lastRead);
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(remaining, _time, _drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Draining: read what is durable now.
        }
    }

    private void CountUndecodable(QueueRecord record)
    {
        if (_reporter is not null)
        {
            _reporter.ReportUndecodable(record);
            return;
        }

        _undecodable.Increment();
        LogUndecodable(_logger, _name, record.Sequence);
    }

    /// <summary>A pass or an idle step failed (<see cref="SendFailurePolicy"/>); <paramref name="retryIn"/> until the next attempt.</summary>
    private void ReportFailure(Exception error, TimeSpan retryIn)
    {
        if (_reporter is not null)
        {
            _reporter.ReportFailure(error, retryIn);
            return;
        }

        _requestsRetry.Increment();
        LogPassFailed(_logger, _name, $"{error.GetType().Name}: {error.Message}", retryIn.TotalSeconds);
    }

    /// <summary>Sends one batch until every item is settled. Only cancellation escapes.</summary>
    private async Task SendAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken)
    {
        var current = batch;
        var attempt = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            DeliveryOutcome<T> outcome;
            try
            {
                outcome = await _sender.SendAsync(current, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // Any failure to send is a retryable failure; nothing stops the output after startup.
            catch (Exception ex) when (_options.OnSendException == SendFailurePolicy.RetryBatch)
#pragma warning restore CA1031
            {
                outcome = DeliveryOutcome<T>.Retry($"{ex.GetType().Name}: {ex.Message}");
            }

            switch (outcome)
            {
                case DeliveryOutcome<T>.Delivered:
                    _requestsSuccess.Increment();
                    _sent.Add(Weight(current));
                    _failedPasses = 0;
                    Recovered();
                    return;

                case DeliveryOutcome<T>.Retryable retry:
                    _requestsRetry.Increment();
                    await WaitBeforeRetryAsync(attempt++, retry.Reason, retry.RetryAfter, current.Count, cancellationToken).ConfigureAwait(false);
                    continue;

                case DeliveryOutcome<T>.PartiallyDelivered partial:
                    _requestsPartial.Increment();
                    _sent.Add(Math.Max(0, Weight(current) - Weight(partial.RetryItems) - Weight(partial.Failed.Select(f => f.Item).ToList())));
                    await SettleAsync(partial.Failed, cancellationToken).ConfigureAwait(false);
                    if (partial.RetryItems.Count == 0)
                    {
                        Recovered();
                        return;
                    }

                    current = partial.RetryItems;
                    await WaitBeforeRetryAsync(attempt++, partial.Reason, partial.RetryAfter, current.Count, cancellationToken).ConfigureAwait(false);
                    continue;

                case DeliveryOutcome<T>.RequestTooLarge tooLarge:
                    _requestsTooLarge.Increment();
                    if (current.Count == 1)
                    {
                        await SettleAsync([new ItemFailure<T>(current[0], "too_large", tooLarge.Reason, FailureAction.DeadLetter)], cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    LogSplitting(_logger, _name, current.Count, tooLarge.Reason);
                    var half = current.Count / 2;
                    await SendAsync(Slice(current, 0, half), cancellationToken).ConfigureAwait(false);
                    await SendAsync(Slice(current, half, current.Count - half), cancellationToken).ConfigureAwait(false);
                    return;

                case DeliveryOutcome<T>.Rejected rejected:
                    _requestsReject.Increment();
                    LogRejected(_logger, _name, current.Count, rejected.Reason);
                    var failures = new ItemFailure<T>[current.Count];
                    for (var i = 0; i < failures.Length; i++)
                    {
                        failures[i] = new ItemFailure<T>(current[i], rejected.Code, rejected.Reason, FailureAction.DeadLetter);
                    }

                    await SettleAsync(failures, cancellationToken).ConfigureAwait(false);
                    Recovered();
                    return;

                default:
                    throw new InvalidOperationException($"Unknown outcome {outcome}.");
            }
        }
    }

    private async Task WaitBeforeRetryAsync(int attempt, string reason, TimeSpan? retryAfter, int items, CancellationToken cancellationToken)
    {
        var wait = _backoff.Next(attempt, retryAfter);
        if (!_failing)
        {
            _failing = true;
            LogRetrying(_logger, _name, items, reason, wait.TotalSeconds);
        }

        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
    }

    private void Recovered()
    {
        if (_failing)
        {
            _failing = false;
            LogRecovered(_logger, _name);
        }
    }

    private async Task SettleAsync(IReadOnlyList<ItemFailure<T>> failures, CancellationToken cancellationToken)
    {
        if (failures.Count == 0)
        {
            return;
        }

        List<ItemFailure<T>>? toDeadLetter = null;
        foreach (var failure in failures)
        {
            if (failure.Action == FailureAction.Drop)
            {
                ItemCounter("dropped", failure.Code).Add(Weight(failure.Item));
            }
            else
            {
                (toDeadLetter ??= []).Add(failure);
            }
        }

        if (toDeadLetter is null)
        {
            return;
        }

        int lost;
        if (_deadLetters is null)
        {
            lost = toDeadLetter.Count;
        }
        else
        {
            try
            {
                lost = await _deadLetters.WriteAsync(_name, toDeadLetter, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                LogDeadLetterFailed(_logger, _name, ex.Message);
                lost = toDeadLetter.Count;
            }
        }

        if (lost > 0)
        {
            var lostWeight = 0;
            for (var i = toDeadLetter.Count - lost; i < toDeadLetter.Count; i++)
            {
                lostWeight += Weight(toDeadLetter[i].Item);
            }

            ItemCounter("lost", _deadLetters is null ? "no_dead_letter" : "dead_letter_full").Add(lostWeight);
            LogLost(_logger, _name, lost, toDeadLetter[0].Reason);
        }

        var kept = toDeadLetter.Count - lost;
        if (kept > 0)
        {
            foreach (var failure in toDeadLetter.Take(kept))
            {
                ItemCounter("dead_lettered", failure.Code).Add(Weight(failure.Item));
            }
        }
    }

    private int Weight(T item) => _weight is null ? 1 : _weight(item);

    private int Weight(IReadOnlyList<T> items)
    {
        if (_weight is null)
        {
            return items.Count;
        }

        var total = 0;
        foreach (var item in items)
        {
            total += _weight(item);
        }

        return total;
    }

    private static T[] Slice(IReadOnlyList<T> source, int start, int count)
    {
        var slice = new T[count];
        for (var i = 0; i < count; i++)
        {
            slice[i] = source[start + i];
        }

        return slice;
    }

    private Counter ItemCounter(string result, string reason) =>
        _registry.Counter("flotel_output_items_total", "Items an output settled, by result and reason.", ("output", _name), ("result", result), ("reason", reason));

    private Counter RequestCounter(string result) =>
        _registry.Counter("flotel_output_requests_total", "Requests an output sent, by outcome.", ("output", _name), ("result", result));

    private long ItemCounterTotal(string result) => _registry.Sum("flotel_output_items_total", ("output", _name), ("result", result));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: sending {Items} items failed ({Reason}); retrying in {Seconds:F1} s and until it succeeds, nothing is dropped")]
    private static partial void LogRetrying(ILogger logger, string output, int items, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: delivering again")]
    private static partial void LogRecovered(ILogger logger, string output);

    [LoggerMessage(Level = LogLevel.Error, Message = "Output {Output}: the peer rejected {Items} items for good ({Reason}); they go to the dead-letter file")]
    private static partial void LogRejected(ILogger logger, string output, int items, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: request of {Items} items too large ({Reason}); splitting it in two")]
    private static partial void LogSplitting(ILogger logger, string output, int items, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Output {Output}: {Items} rejected items are LOST: the dead-letter file is full or absent (first reason: {Reason})")]
    private static partial void LogLost(ILogger logger, string output, int items, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Output {Output}: writing the dead-letter file failed: {Message}")]
    private static partial void LogDeadLetterFailed(ILogger logger, string output, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Output {Output}: queue record {Sequence} cannot be decoded; skipped")]
    private static partial void LogUndecodable(ILogger logger, string output, long sequence);

    [LoggerMessage(Level = LogLevel.Error, Message = "Output {Output}: sending failed ({Reason}); everything after the committed cursor stays queued and is delivered again in {Seconds:F1} s")]
    private static partial void LogPassFailed(ILogger logger, string output, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: flushing failed ({Reason}); the records stay queued and the flush is tried again")]
    private static partial void LogFlushFailed(ILogger logger, string output, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: stopped with undelivered records after {Seconds} s; they stay queued for the next start")]
    private static partial void LogAbandoned(ILogger logger, string output, double seconds);
}
