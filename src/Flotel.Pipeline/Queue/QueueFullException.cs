namespace Flotel.Pipeline.Queue;

/// <summary>
/// Thrown by an append when the queue is at <see cref="DurableQueueOptions.MaxTotalBytes"/> (policy
/// <see cref="QueueFullPolicy.Reject"/>, or a batch too large to fit even after dropping). Nothing was stored; the caller
/// pushes back on its sender (HTTP 429/503 with Retry-After, TCP stops reading) and retries later.
/// </summary>
public sealed class QueueFullException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public QueueFullException()
        : base("The durable queue is full.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public QueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Bytes (record headers included) the refused append needed.</summary>
    public long RequestedBytes { get; init; }

    /// <summary>The queue's bound, <see cref="DurableQueueOptions.MaxTotalBytes"/>.</summary>
    public long CapacityBytes { get; init; }
}
