namespace Flotel.Pipeline.Delivery;

/// <summary>
/// Capped exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
/// attempt n waits a uniform random time in [base·2ⁿ/2, base·2ⁿ], capped at <see cref="Max"/>; a server's
/// <c>Retry-After</c> is honoured as a lower bound (but never beyond <see cref="MaxRetryAfter"/>, so a hostile or
/// broken peer cannot park an output for a day).
/// </summary>
public sealed class RetryBackoff
{
    private readonly Random _random;

    public RetryBackoff(TimeSpan initial, TimeSpan max, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        Initial = initial;
        Max = max;
        _random = random ?? Random.Shared;
    }

    /// <summary>Wait before the first retry (before jitter).</summary>
    public TimeSpan Initial { get; }

    /// <summary>Longest wait computed by the exponential rule.</summary>
    public TimeSpan Max { get; }

    /// <summary>Random spread of the waits; false = the ceiling itself (<see cref="Initial"/> doubling to <see cref="Max"/>).</summary>
    public bool Jitter { get; init; } = true;

    /// <summary>Longest <c>Retry-After</c> honoured.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait before retry number <paramref name="attempt"/> (0 = first retry).</summary>
    public TimeSpan Next(int attempt, TimeSpan? retryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        var exponent = Math.Min(attempt, 30);
        var ceiling = Math.Min(Initial.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        var wait = TimeSpan.FromMilliseconds(Jitter ? (ceiling / 2) + (_random.NextDouble() * ceiling / 2) : ceiling);
        if (retryAfter is { } after && after > wait)
        {
            wait = after < MaxRetryAfter ? after : MaxRetryAfter;
        }

        return wait;
    }
}
