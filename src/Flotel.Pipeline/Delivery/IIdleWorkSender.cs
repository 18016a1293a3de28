namespace Flotel.Pipeline.Delivery;

/// <summary>
/// A sender with housekeeping to do while the queue is empty (an index merge): the driver runs one short step at a
/// time, looking at the queue between steps, so new records never wait for more than one step.
/// </summary>
public interface IIdleWorkSender
{
    /// <summary>True while there is idle work left.</summary>
    bool HasIdleWork { get; }

    /// <summary>Runs one short step. Called by the driver's loop only, never during a send or a flush.</summary>
    ValueTask RunIdleStepAsync(CancellationToken cancellationToken);
}
