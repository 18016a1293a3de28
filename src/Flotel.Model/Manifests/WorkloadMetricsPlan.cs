namespace Flotel.Model.Manifests;

/// <summary>Resolved <c>EdgeWorkload.spec.metrics</c>: scrape <c>http://&lt;container IP&gt;:Port Path</c> every <see cref="IntervalSeconds"/>.</summary>
public sealed record WorkloadMetricsPlan
{
    public required string Path { get; init; }

    public required int Port { get; init; }

    public required int IntervalSeconds { get; init; }

    public string? AllowListName { get; init; }

    /// <summary>
    /// Metric names to keep; null = everything (Flotta's permissive list when <c>allowList</c> is absent).
    /// An empty list keeps nothing (Flotta test "workload has metrics AllowList empty").
    /// </summary>
    public IReadOnlyList<string>? AllowList { get; init; }

    /// <summary>Per-container overrides with effective path; a disabled container is not scraped.</summary>
    public IReadOnlyDictionary<string, ContainerMetricsConfig> Containers { get; init; } = new Dictionary<string, ContainerMetricsConfig>(StringComparer.Ordinal);
}
