namespace Flotel.Pipeline.Queue;

/// <summary>
/// Thrown by an append when the group commit it joined could not be written or fsync'd — a full disk (ENOSPC), an I/O
/// error. The queue cut the segment back to its last durable record, so it stays consistent and the next commit can
/// succeed. Nothing of the failed commit was acknowledged: like <see cref="QueueFullException"/> this is back-pressure,
/// not a lost record — the caller pushes back on its sender (HTTP 503/429 with Retry-After, TCP stops reading) and
/// retries later. An <see cref="IOException"/>, so callers that already handle I/O failures keep working.
/// </summary>
public sealed class QueueWriteException : IOException
{
    /// <summary>The errno of a full disk on Linux.</summary>
    private const int Enospc = 28;

    /// <summary>Creates the exception with a default message.</summary>
    public QueueWriteException()
        : base("The durable queue could not write.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public QueueWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the write's failure.</summary>
    public QueueWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// True when the cause was a full disk (ENOSPC; .NET reports it as an <see cref="IOException"/> whose HResult is the
    /// errno, "No space left on device").
    /// </summary>
    public bool DiskFull => InnerException is IOException { HResult: Enospc } || (InnerException?.Message.Contains("No space left on device", StringComparison.Ordinal) ?? false);
}
