namespace Flotel.Model.Manifests;

/// <summary><c>EdgeWorkload.spec.metrics</c> (OP <c>ContainerMetricsConfiguration</c>). Values as written; 0/empty = not set.</summary>
public sealed record WorkloadMetricsConfig
{
    public string Path { get; init; } = string.Empty;

    public long Port { get; init; }

    public long Interval { get; init; }

    /// <summary><c>allowList.name</c>: ConfigMap in the workload's namespace; null = everything is collected.</summary>
    public string? AllowListName { get; init; }

    /// <summary><c>containers</c>: container name → per-container override.</summary>
    public IReadOnlyDictionary<string, ContainerMetricsConfig> Containers { get; init; } = new Dictionary<string, ContainerMetricsConfig>(StringComparer.Ordinal);
}
