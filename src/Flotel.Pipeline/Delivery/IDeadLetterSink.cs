namespace Flotel.Pipeline.Delivery;

/// <summary>Where items the peer refused for good are kept for an operator (style rule 4).</summary>
public interface IDeadLetterSink<T>
{
    /// <summary>Stores <paramref name="failures"/>; returns how many could not be stored (counted as lost).</summary>
    ValueTask<int> WriteAsync(string output, IReadOnlyList<ItemFailure<T>> failures, CancellationToken cancellationToken);
}
