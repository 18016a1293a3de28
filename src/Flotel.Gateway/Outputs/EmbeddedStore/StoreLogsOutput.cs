using Flotel.Gateway.Outputs.Hosting;
using Flotel.Model.Logs;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The <c>store-logs</c> reader of the embedded store: syslog events and <c>_bulk</c> documents, one read batch per
/// SQLite transaction (searchable once it commits). The transactions commit with <c>synchronous=NORMAL</c>, which a
/// power loss or an OS crash may roll back, so the cursor is deferred (<see cref="DeliveryOptions.FlushInterval"/>):
/// it moves only after a sync point of the store (<see cref="FlushAsync"/>, one fsync), over the batches committed
/// before it — every <see cref="EmbeddedStoreOutput.LogsSyncInterval"/> while batches flow, when the queue runs empty
/// (at most every <see cref="EmbeddedStoreOutput.IdleFlushInterval"/>) and at stop. The queue therefore holds up to
/// about a second more of records, and what a power loss took from the store is still queued. The driver
/// sends ahead (<see cref="DeliveryOptions.SendAhead"/>): while one batch is written (on another thread), the next is
/// read and parsed, so the store's single writer does not wait for the read and the parse between its transactions.
/// A failed write replays from the committed cursor, the batch read ahead included (and the batches committed since
/// the last sync point, which are skipped, below). After the queue ran empty it
/// gathers for <see cref="EmbeddedStoreOutput.LogsLinger"/> before the next read. While the queue is empty the
/// reader spends the time on the store's maintenance (full-text merging; re-packing small blocks once enough gathered), one
/// short step between looks.
/// <para>
/// Exactly once: each transaction also stores the queue position of the batch's last record (the queue's identity and
/// the record's sequence id, <see cref="LogStorePosition"/>), so the store, not the queue cursor that lags behind it,
/// says what is stored. Records at or before that position — the batches committed since the last sync point before
/// a crash or a stop that could not finish, or a write that failed after its commit — are delivered again by the
/// queue and skipped here, counted in
/// <c>flotel_store_log_replay_skipped_total</c>. A position from another queue (the queue directory was wiped) or none
/// (a new store) skips nothing.
/// </para>
/// </summary>
public sealed partial class StoreLogsOutput : OutputHost<StoreLogItem>, IFlushingSender, IIdleWorkSender, ISelfReportingSender
{
    /// <summary>The reader's name (its queue cursor, and its row of the store's queue positions).</summary>
    public const string ReaderName = "store-logs";

    private readonly LogStore _logs;
    private readonly EmbeddedStoreCounters _counters;
    private readonly string _queueIdentity;

    // Sends only (the driver runs one at a time): the sequence up to which the store holds this queue's records; null
    // until read from the store, and again after a failed write (it may have failed after its commit).
    private long? _storedUpTo;

    /// <param name="context">Queue, metrics, clock, loggers; its parser parses the syslog frames.</param>
    /// <param name="logs">The log store written to.</param>
    /// <param name="counters">The embedded store's counters, shared with <c>store-metrics</c>.</param>
    public StoreLogsOutput(OutputContext context, LogStore logs, EmbeddedStoreCounters counters)
        : base(context, new OutputHostSettings<StoreLogItem>
        {
            Name = ReaderName,
            Kinds = RecordKinds.Logs,
            Decoder = new StoreLogDecoder(context.Parser),
            Delivery = EmbeddedStoreOutput.DeliveryOptions(
                sendAhead: true, flushInterval: EmbeddedStoreOutput.LogsSyncInterval, linger: EmbeddedStoreOutput.LogsLinger),
            LoggerCategory = typeof(EmbeddedStoreOutput).FullName,
        })
    {
        ArgumentNullException.ThrowIfNull(counters);
        _logs = logs;
        _counters = counters;
        _queueIdentity = context.Queue.Identity;
    }

    /// <inheritdoc />
    public bool HasIdleWork => _logs.HasIdleWorkDue;

    /// <summary>
    /// Writes the batch's events and documents and its last record's position in one transaction, leaving out the items
    /// of records the store already holds; throws when the store refuses (nothing of the batch is acknowledged).
    /// </summary>
    public override async ValueTask<DeliveryOutcome<StoreLogItem>> SendAsync(IReadOnlyList<StoreLogItem> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var storedUpTo = _storedUpTo ?? await LoadStoredUpToAsync().ConfigureAwait(false);
        _storedUpTo = null; // until this write is known to have landed (or been skipped)
        var events = new List<LogEvent>(batch.Count);
        List<LogDocument>? documents = null;
        long last = 0;
        var skipped = 0;
        foreach (var item in batch)
        {
            last = Math.Max(last, item.Sequence);
            if (item.Sequence <= storedUpTo)
            {
                skipped++;
            }
            else if (item.Event is { } logEvent)
            {
                events.Add(logEvent);
            }
            else if (item.Document is { } document)
            {
                (documents ??= []).Add(document);
            }
        }

        if (skipped > 0)
        {
            _counters.ReplaySkipped.Add(skipped);
            LogReplaySkipped(Logger, skipped, storedUpTo);
        }

        if (last > storedUpTo)
        {
            // Not cancelled at the drain deadline: a transaction is short, and one left half-way would only be retried.
            _ = await _logs.WriteBatchAsync(events, documents ?? [], new LogStorePosition(ReaderName, _queueIdentity, last), CancellationToken.None)
                .ConfigureAwait(false);
            _counters.Events.Add(events.Count);
            _counters.Documents.Add(documents?.Count ?? 0);
            storedUpTo = last;
        }

        _storedUpTo = storedUpTo;
        return DeliveryOutcome<StoreLogItem>.Success;
    }

    /// <summary>The sequence up to which the store holds this queue's records: its stored position when it is this queue's, else 0.</summary>
    private async ValueTask<long> LoadStoredUpToAsync()
    {
        if (await _logs.ReadPositionAsync(ReaderName, CancellationToken.None).ConfigureAwait(false) is not { } stored)
        {
            return 0;
        }

        if (stored.QueueIdentity != _queueIdentity)
        {
            // Sequence ids of another queue (the queue directory was wiped, or the store comes from elsewhere): they say
            // nothing about this queue's records, which are all stored. The next write replaces the position.
            LogForeignPosition(Logger, stored.QueueIdentity, stored.Sequence, _queueIdentity);
            return 0;
        }

        return stored.Sequence;
    }

    /// <summary>
    /// A sync point of the store (<see cref="LogStore.SyncAsync"/>): every batch committed before it survives a power
    /// loss, so the driver commits the cursor over them afterwards. Not cancelled: it is one short transaction.
    /// </summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken) =>
        await _logs.SyncAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask RunIdleStepAsync(CancellationToken cancellationToken)
    {
        _ = await _logs.IdleStepAsync(CancellationToken.None).ConfigureAwait(false);
        _counters.MergeSteps.Increment();
    }

    /// <inheritdoc />
    public void ReportUndecodable(QueueRecord record) => _counters.Undecodable.Increment();

    /// <inheritdoc />
    public void ReportFailure(Exception error, TimeSpan retryIn) => _counters.WriteFailed(Logger, Name, error, retryIn);

    [LoggerMessage(Level = LogLevel.Information, Message = "Output store-logs: {Items} replayed items were stored already (up to record {Sequence}); skipped")]
    private static partial void LogReplaySkipped(ILogger logger, int items, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output store-logs: stored position {Sequence} is of queue {Stored}, not {Current}; none skipped")]
    private static partial void LogForeignPosition(ILogger logger, string stored, long sequence, string current);
}
