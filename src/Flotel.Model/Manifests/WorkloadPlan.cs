namespace Flotel.Model.Manifests;

/// <summary>A workload the device runs, with its resolved log target and metrics scraping.</summary>
public sealed record WorkloadPlan
{
    public required string Name { get; init; }

    public required string Namespace { get; init; }

    public required PodSpec Pod { get; init; }

    /// <summary>The Kubernetes Pod document for <c>podman play kube</c> (see <see cref="EdgeWorkload.PodManifestYaml"/>).</summary>
    public required string PodManifestYaml { get; init; }

    /// <summary>The log target, or null when <c>spec.logCollection</c> is absent (logs are not shipped).</summary>
    public LogTargetPlan? LogTarget { get; init; }

    /// <summary>Null when <c>spec.metrics</c> is absent or its port is 0 (Flotta scrapes only when port &gt; 0).</summary>
    public WorkloadMetricsPlan? Metrics { get; init; }
}
