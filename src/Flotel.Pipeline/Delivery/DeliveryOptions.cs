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
    }
}
