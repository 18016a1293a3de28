namespace Flotel.Pipeline.Delivery;

/// <summary>
/// What happened to one batch an output sent (style rule 4): outcomes are values, not exceptions. The shared driver
/// (<see cref="QueueDelivery{T}"/>) acts on them — commits, retries with backoff, splits, dead-letters or drops — so an
/// output only encodes and sends.
/// </summary>
/// <typeparam name="T">The output's item type (a log event, a time series, a document…).</typeparam>
public abstract record DeliveryOutcome<T>
{
    private DeliveryOutcome()
    {
    }

    /// <summary>Every item of the batch was accepted by the peer.</summary>
    public static DeliveryOutcome<T> Success { get; } = new Delivered();

    /// <summary>Nothing was accepted, but it may be later (429, 5xx, connection errors): send the same batch again.</summary>
    public static DeliveryOutcome<T> Retry(string reason, TimeSpan? retryAfter = null) => new Retryable(reason, retryAfter);

    /// <summary>
    /// Part of the batch was accepted: <paramref name="retry"/> is sent again (after backoff), <paramref name="failed"/>
    /// are settled now (dead-lettered or dropped, each with its reason); everything else was accepted.
    /// </summary>
    public static DeliveryOutcome<T> Partial(
        IReadOnlyList<T> retry, IReadOnlyList<ItemFailure<T>> failed, string? retryReason = null, TimeSpan? retryAfter = null) =>
        new PartiallyDelivered(retry, failed, retryReason ?? "partial", retryAfter);

    /// <summary>The peer said the request is too large (HTTP 413): the driver halves the batch and sends both halves.</summary>
    public static DeliveryOutcome<T> TooLarge(string reason) => new RequestTooLarge(reason);

    /// <summary>
    /// The peer will never accept this batch (4xx other than 408/429): every item is dead-lettered.
    /// <paramref name="code"/> is a short metric label (<c>http_400</c>), <paramref name="reason"/> the peer's words.
    /// </summary>
    public static DeliveryOutcome<T> Reject(string code, string reason) => new Rejected(code, reason);

    /// <summary>See <see cref="Success"/>.</summary>
    public sealed record Delivered : DeliveryOutcome<T>;

    /// <summary>See <see cref="Retry"/>.</summary>
    public sealed record Retryable(string Reason, TimeSpan? RetryAfter) : DeliveryOutcome<T>;

    /// <summary>See <see cref="Partial"/>.</summary>
    public sealed record PartiallyDelivered(
        IReadOnlyList<T> RetryItems, IReadOnlyList<ItemFailure<T>> Failed, string Reason, TimeSpan? RetryAfter) : DeliveryOutcome<T>;

    /// <summary>See <see cref="TooLarge"/>.</summary>
    public sealed record RequestTooLarge(string Reason) : DeliveryOutcome<T>;

    /// <summary>See <see cref="Reject"/>.</summary>
    public sealed record Rejected(string Code, string Reason) : DeliveryOutcome<T>;
}

/// <summary>What to do with an item the peer refused for good.</summary>
public enum FailureAction
{
    /// <summary>Keep it in the output's dead-letter file with the reason, so an operator can replay it.</summary>
    DeadLetter,

    /// <summary>Count it and let it go: the peer already has it or it can never be stored (e.g. a 409 version conflict).</summary>
    Drop,
}

/// <summary>
/// One item the peer refused for good, why, and what to do with it. <paramref name="Code"/> is a short, bounded
/// metric label (<c>http_400</c>, <c>version_conflict</c>); <paramref name="Reason"/> is the peer's message.
/// </summary>
public readonly record struct ItemFailure<T>(T Item, string Code, string Reason, FailureAction Action);
