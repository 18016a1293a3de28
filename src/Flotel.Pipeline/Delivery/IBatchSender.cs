namespace Flotel.Pipeline.Delivery;

/// <summary>
/// An output's one job (style rule 3): encode one batch, send it in one call, classify the answer. Queueing, batching,
/// backoff, dead letters and counters are the driver's. A thrown exception other than cancellation is treated as a
/// retryable failure (a connection error, a timeout), never as data loss.
/// </summary>
public interface IBatchSender<T>
{
    /// <summary>Sends <paramref name="batch"/> (never empty) and says what became of it.</summary>
    ValueTask<DeliveryOutcome<T>> SendAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);
}
