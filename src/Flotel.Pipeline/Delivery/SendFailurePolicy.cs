namespace Flotel.Pipeline.Delivery;

/// <summary>What <see cref="QueueDelivery{T}"/> does when a sender throws (<see cref="DeliveryOptions.OnSendException"/>).</summary>
public enum SendFailurePolicy
{
    /// <summary>A retryable failure: the same batch is sent again after a backoff wait (a connection error, a timeout).</summary>
    RetryBatch,

    /// <summary>
    /// The reader is reopened at its committed cursor after a backoff wait, so everything not committed — the failed
    /// batch and any batch read ahead (<see cref="DeliveryOptions.SendAhead"/>) — is read, decoded and sent again. For a
    /// sender whose write succeeds or fails whole and may have half-applied state to rebuild (a local store).
    /// </summary>
    ReplayFromCommitted,
}
