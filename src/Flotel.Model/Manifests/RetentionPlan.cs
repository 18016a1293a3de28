namespace Flotel.Model.Manifests;

/// <summary>
/// Local metrics retention. Flotel's rule: <c>maxHours</c> 0 or absent means the default 7 days (Flotta
/// itself turns 0 into "unlimited" once <c>retention</c> is present, docs/reference/flotta-device-worker.md §4.6); <c>maxMiB</c> 0 means
/// no size limit (Flotta's <c>DefaultMaxBytes</c>).
/// </summary>
public sealed record RetentionPlan
{
    public int MaxHours { get; init; } = FlottaDefaults.RetentionHours;

    /// <summary>0 = no size limit.</summary>
    public long MaxMiB { get; init; }
}
