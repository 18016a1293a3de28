namespace Flotel.Gateway.Queueing;

/// <summary>Where inputs put records: the durable queue in the gateway, a list in tests.</summary>
public interface IRecordSink
{
    /// <summary>
    /// Appends one record. Completes only when the record is durable; throws <see cref="Flotel.Pipeline.Queue.QueueFullException"/> when
    /// the queue is at its bound (the input then answers 429, pauses reading, or counts a drop), and
    /// <see cref="Flotel.Pipeline.Queue.QueueWriteException"/> when the queue could not write (a full disk: the input
    /// answers 503/429, pauses reading, or counts a drop; nothing was acknowledged).
    /// </summary>
    ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken);

    /// <summary>
    /// Appends several records in order, all or none (one lock and one durability wait for all); otherwise as
    /// <see cref="AppendAsync"/>.
    /// </summary>
    ValueTask AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken);
}
