namespace Flotel.Gateway.Queueing;

/// <summary>The durable queue is at its configured bound; the caller should retry after <see cref="RetryAfter"/>.</summary>
public sealed class QueueFullException : Exception
{
    public QueueFullException()
        : this("the durable queue is full")
    {
    }

    public QueueFullException(string message)
        : base(message)
    {
    }

    public QueueFullException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>How long a sender should wait before retrying.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(5);
}
