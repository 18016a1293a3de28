namespace Flotel.Pipeline.Delivery;

/// <summary>
/// A sender that accepts batches into memory and makes them durable later (<see cref="DeliveryOptions.FlushInterval"/>):
/// the driver commits the reader's cursor only after <see cref="FlushAsync"/> returned, so what a crash loses from
/// memory is still queued and delivered again.
/// </summary>
public interface IFlushingSender
{
    /// <summary>Makes everything accepted so far durable. Called by the driver's loop only, never during a send.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
