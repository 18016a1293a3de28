namespace Flotel.Agent.Fleet;

/// <summary>Timings of <see cref="GatewayPlanSource"/> (docs/fleet.md §5); the defaults are the product's.</summary>
public sealed class FleetSourceOptions
{
    /// <summary>The long poll's <c>wait</c>: how long the gateway may hold a bundle request when nothing changed.</summary>
    public TimeSpan PollWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a status report is sent when nothing was applied (also after every apply).</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>First wait after a failed call; doubles per failure (with jitter) up to <see cref="RetryMax"/>.</summary>
    public TimeSpan RetryInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts.</summary>
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The jitter's source (tests pass a seeded one); null = shared.</summary>
    public Random? Random { get; init; }
}
