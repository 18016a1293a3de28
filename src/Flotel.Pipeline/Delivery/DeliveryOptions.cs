namespace Flotel.Pipeline.Delivery;

/// <summary>How the shared driver batches and retries for one output. Defaults suit an HTTP peer.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Most items in one request (e.g. Timestream's 100 records, remote write's requestNumSamples).</summary>
    public int MaxBatchItems { get; set; } = 1000;

    /// <summary>Most item bytes (as measured by the decoder) in one request, e.g. AWS OpenSearch's 10 MiB.</summary>
    public long MaxBatchBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>Most queue records read at once; their items are all settled before the cursor is committed.</summary>
    public int MaxQueueRecords { get; set; } = 256;

    /// <summary>
    /// Payload bytes read from the queue at once; null = <see cref="MaxBatchBytes"/>. Set it when an output measures
    /// item "bytes" in another unit (remote write counts samples against <c>requestNumSamples</c>), so a backlog is
    /// still read in large chunks.
    /// </summary>
    public long? MaxReadBytes { get; set; }

    /// <summary>First retry wait (before jitter).</summary>
    public TimeSpan RetryInitial { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest retry wait (before <c>Retry-After</c>).</summary>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Spread retry waits at random (<see cref="RetryBackoff"/>); false = exactly <see cref="RetryInitial"/> doubling to
    /// <see cref="RetryMax"/>, for a local sink where there is no herd of clients to spread.
    /// </summary>
    public bool RetryJitter { get; set; } = true;

    /// <summary>What a send that throws does (<see cref="SendFailurePolicy"/>); default: the batch is retried in place.</summary>
    public SendFailurePolicy OnSendException { get; set; } = SendFailurePolicy.RetryBatch;

    /// <summary>
    /// One batch in flight while the next is read and decoded: the send of batch N runs on another thread while the
    /// driver reads and decodes batch N+1, so a sender with a single writer never waits for the read between its
    /// writes. Sends stay in queue order, one at a time; commits follow them in order. Requires a reader that does not
    /// reuse its read buffers (the items of the batch in flight may point into its records).
    /// </summary>
    public bool SendAhead { get; set; }

    /// <summary>
    /// Deferred commit: the sender (an <see cref="IFlushingSender"/>) accepts batches without making them durable,
    /// and the cursor is committed only after its <see cref="IFlushingSender.FlushAsync"/> — every
    /// <see cref="FlushInterval"/>, when the queue is empty, and at stop. null = commit after each read batch. A crash
    /// delivers the records since the last flush again, so the sender must accept them twice.
    /// </summary>
    public TimeSpan? FlushInterval { get; set; }

    /// <summary>
    /// With deferred commits: the queue running empty flushes at most this often (it otherwise flushes each time, which
    /// at a trickle is after every record). null = each time it runs empty.
    /// </summary>
    public TimeSpan? MinIdleFlushInterval { get; set; }

    /// <summary>
    /// Gathering at a trickle: after a read of fewer records than <see cref="MaxQueueRecords"/> and less than half the
    /// read budget (the queue ran empty), the next read waits until this long has passed since that one, so records
    /// arriving one by one are sent (and committed) together, at most one such batch per interval. A queue that keeps
    /// records waiting is read at once. null = read as soon as a record is durable. It adds up to this
    /// much latency to a record that arrives after a pause, and saves the per-batch cost (a transaction, a cursor write)
    /// of every batch it avoids.
    /// </summary>
    public TimeSpan? Linger { get; set; }

    /// <summary>Throws when a value cannot work; messages quote the field.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBatchItems);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBatchBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxQueueRecords);
        if (MaxReadBytes is { } read)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(read, nameof(MaxReadBytes));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInitial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMax, RetryInitial);
        if (FlushInterval is { } flush)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(flush, TimeSpan.Zero, nameof(FlushInterval));
        }

        if (MinIdleFlushInterval is { } idleFlush)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleFlush, TimeSpan.Zero, nameof(MinIdleFlushInterval));
        }

        if (Linger is { } linger)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(linger, TimeSpan.Zero, nameof(Linger));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(linger, TimeSpan.FromSeconds(10), nameof(Linger));
        }
    }
}
