namespace Flotel.Model.Manifests;

/// <summary><c>spec.metrics.system</c> / <c>spec.metrics.dataTransfer</c> (OP <c>ComponentMetricsConfiguration</c>).</summary>
public sealed record ComponentMetricsConfig
{
    /// <summary>Seconds between scrapes; 0 when absent (default 60).</summary>
    public long Interval { get; init; }

    /// <summary><c>allowList.name</c>: ConfigMap holding <c>metrics_list.yaml</c>; null = Flotta's default list.</summary>
    public string? AllowListName { get; init; }

    public bool Disabled { get; init; }
}
