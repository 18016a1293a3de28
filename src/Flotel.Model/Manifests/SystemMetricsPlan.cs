namespace Flotel.Model.Manifests;

/// <summary>Resolved <c>spec.metrics.system</c> (node_exporter scraping).</summary>
public sealed record SystemMetricsPlan
{
    public bool Disabled { get; init; }

    public int IntervalSeconds { get; init; } = FlottaDefaults.IntervalSeconds;

    /// <summary>The allow-list ConfigMap, or null when Flotta's default list applies.</summary>
    public string? AllowListName { get; init; }

    /// <summary>Effective names (exact <c>__name__</c> match); empty = nothing is collected.</summary>
    public IReadOnlyList<string> AllowList { get; init; } = FlottaDefaults.SystemAllowList;
}
