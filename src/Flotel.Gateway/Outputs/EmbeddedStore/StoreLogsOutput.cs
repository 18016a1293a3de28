using Flotel.Gateway.Outputs.Hosting;
using Flotel.Model.Logs;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The <c>store-logs</c> reader of the embedded store: syslog events and <c>_bulk</c> documents, one read batch per
/// SQLite transaction, the cursor committed right after it — a log is acknowledged once it is searchable. The driver
/// sends ahead (<see cref="DeliveryOptions.SendAhead"/>): while one batch is written (on another thread), the next is
/// read and parsed, so the store's single writer does not wait for the read and the parse between its transactions.
/// A failed write replays from the committed cursor, the batch read ahead included. After the queue ran empty it
/// gathers for <see cref="EmbeddedStoreOutput.LogsLinger"/> before the next read. While the queue is empty the
/// reader spends the time on the store's maintenance (full-text merging; re-packing small blocks once enough gathered), one
/// short step between looks.
/// </summary>
public sealed class StoreLogsOutput : OutputHost<StoreLogItem>, IIdleWorkSender, ISelfReportingSender
{
    /// <summary>The reader's name (its queue cursor).</summary>
    public const string ReaderName = "store-logs";

    private readonly LogStore _logs;
    private readonly EmbeddedStoreCounters _counters;

    /// <param name="context">Queue, metrics, clock, loggers; its parser parses the syslog frames.</param>
    /// <param name="logs">The log store written to.</param>
    /// <param name="counters">The embedded store's counters, shared with <c>store-metrics</c>.</param>
    public StoreLogsOutput(OutputContext context, LogStore logs, EmbeddedStoreCounters counters)
        : base(context, new OutputHostSettings<StoreLogItem>
        {
            Name = ReaderName,
            Kinds = RecordKinds.Logs,
            Decoder = new StoreLogDecoder(context.Parser),
            Delivery = EmbeddedStoreOutput.DeliveryOptions(sendAhead: true, flushInterval: null, linger: EmbeddedStoreOutput.LogsLinger),
            LoggerCategory = typeof(EmbeddedStoreOutput).FullName,
        })
    {
        ArgumentNullException.ThrowIfNull(counters);
        _logs = logs;
        _counters = counters;
    }

    /// <inheritdoc />
    public bool HasIdleWork => _logs.HasIdleWorkDue;

    /// <summary>Writes the events in one transaction, then the documents; throws when the store refuses (nothing of the batch is acknowledged).</summary>
    public override async ValueTask<DeliveryOutcome<StoreLogItem>> SendAsync(IReadOnlyList<StoreLogItem> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var events = new List<LogEvent>(batch.Count);
        List<LogDocument>? documents = null;
        foreach (var item in batch)
        {
            if (item.Event is { } logEvent)
            {
                events.Add(logEvent);
            }
            else if (item.Document is { } document)
            {
                (documents ??= []).Add(document);
            }
        }

        // Not cancelled at the drain deadline: a transaction is short, and one left half-way would only be retried.
        if (events.Count > 0)
        {
            await _logs.WriteAsync(events, CancellationToken.None).ConfigureAwait(false);
            _counters.Events.Add(events.Count);
        }

        if (documents is not null)
        {
            await _logs.WriteDocumentsAsync(documents, CancellationToken.None).ConfigureAwait(false);
            _counters.Documents.Add(documents.Count);
        }

        return DeliveryOutcome<StoreLogItem>.Success;
    }

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
}
