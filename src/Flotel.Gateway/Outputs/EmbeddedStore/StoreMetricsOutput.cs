using Flotel.Gateway.Outputs.Hosting;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The <c>store-metrics</c> reader of the embedded store: appends remote-write samples to the metric store's in-memory
/// head chunks and defers the commit (<see cref="DeliveryOptions.FlushInterval"/>): the cursor moves only after
/// <see cref="MetricStore.FlushAsync"/> persisted the heads and made the store durable across a power loss (a
/// completed checkpoint, which syncs the database, or else a sync point of the WAL) — every
/// <see cref="EmbeddedStoreOutput.MetricsFlushInterval"/>, when the queue is empty (at most every
/// <see cref="EmbeddedStoreOutput.IdleFlushInterval"/>) and at stop — so a crash or a power loss replays the queue into
/// the heads and the store drops the samples it already has as duplicates.
/// </summary>
public sealed class StoreMetricsOutput : OutputHost<ReadOnlyMemory<byte>>, IFlushingSender, ISelfReportingSender
{
    /// <summary>The reader's name (its queue cursor).</summary>
    public const string ReaderName = "store-metrics";

    private readonly MetricStore _metrics;
    private readonly EmbeddedStoreCounters _counters;

    /// <param name="context">Queue, metrics, clock, loggers.</param>
    /// <param name="metrics">The metric store written to.</param>
    /// <param name="counters">The embedded store's counters, shared with <c>store-logs</c>.</param>
    public StoreMetricsOutput(OutputContext context, MetricStore metrics, EmbeddedStoreCounters counters)
        : base(context, new OutputHostSettings<ReadOnlyMemory<byte>>
        {
            Name = ReaderName,
            Kinds = RecordKinds.Metrics,
            Decoder = new RemoteWriteBodyDecoder(),
            Delivery = EmbeddedStoreOutput.DeliveryOptions(sendAhead: false, flushInterval: EmbeddedStoreOutput.MetricsFlushInterval),
            LoggerCategory = typeof(EmbeddedStoreOutput).FullName,
        })
    {
        ArgumentNullException.ThrowIfNull(counters);
        _metrics = metrics;
        _counters = counters;
    }

    /// <summary>Appends each body to the heads (accepted, not yet durable); a body the store cannot decode is counted and skipped.</summary>
    public override ValueTask<DeliveryOutcome<ReadOnlyMemory<byte>>> SendAsync(IReadOnlyList<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var body in batch)
        {
            try
            {
                var result = _metrics.AppendRemoteWriteBody(body.Span);
                _counters.Samples.Add(result.Appended);
            }
            catch (RemoteWriteException)
            {
                _counters.Undecodable.Increment(); // validated on input, so only a damaged record gets here
            }
        }

        return ValueTask.FromResult(DeliveryOutcome<ReadOnlyMemory<byte>>.Success);
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken) =>
        await _metrics.FlushAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public void ReportUndecodable(QueueRecord record) => _counters.Undecodable.Increment();

    /// <inheritdoc />
    public void ReportFailure(Exception error, TimeSpan retryIn) => _counters.WriteFailed(Logger, Name, error, retryIn);
}
