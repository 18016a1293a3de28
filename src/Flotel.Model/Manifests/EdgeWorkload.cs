namespace Flotel.Model.Manifests;

/// <summary>
/// Flotta's <c>EdgeWorkload</c> (<c>management.project-flotta.io/v1alpha1</c>, OP
/// <c>api/v1alpha1/edgeworkload_types.go</c>): a pod for the devices it selects.
/// </summary>
public sealed record EdgeWorkload
{
    public const string KindName = "EdgeWorkload";

    public required ObjectMeta Metadata { get; init; }

    /// <summary>
    /// <c>spec.device</c>: a device name; when set it takes precedence over <see cref="DeviceSelector"/>
    /// (Flotta docs, "Deploying by device ID").
    /// </summary>
    public string? Device { get; init; }

    /// <summary><c>spec.deviceSelector</c>; null when absent (selects nothing).</summary>
    public LabelSelector? DeviceSelector { get; init; }

    /// <summary><c>spec.type</c>: only <c>pod</c> exists; empty when absent.</summary>
    public string Type { get; init; } = string.Empty;

    /// <summary>A typed subset of <c>spec.pod.spec</c>, for summaries and checks.</summary>
    public PodSpec? Pod { get; init; }

    /// <summary>
    /// The whole <c>spec.pod.spec</c> re-emitted as a Kubernetes <c>Pod</c> YAML document named after the
    /// workload, ready for <c>podman play kube</c>; null when <c>spec.pod.spec</c> is absent.
    /// </summary>
    public string? PodManifestYaml { get; init; }

    /// <summary><c>spec.logCollection</c>: a key of the device's <c>spec.logCollection</c>; null when absent.</summary>
    public string? LogCollection { get; init; }

    public WorkloadMetricsConfig? Metrics { get; init; }

    public required ManifestSource Source { get; init; }
}
