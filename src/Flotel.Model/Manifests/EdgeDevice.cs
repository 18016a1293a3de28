namespace Flotel.Model.Manifests;

/// <summary>
/// Flotta's <c>EdgeDevice</c> (<c>management.project-flotta.io/v1alpha1</c>): the parts of its spec that
/// configure logs and metrics (OP <c>api/v1alpha1/edgedevice_types.go</c>). Values are as written;
/// defaults are applied when the device plan is resolved.
/// </summary>
public sealed record EdgeDevice
{
    public const string KindName = "EdgeDevice";

    public required ObjectMeta Metadata { get; init; }

    /// <summary><c>spec.logCollection</c>: target name (what workloads reference) → configuration.</summary>
    public IReadOnlyDictionary<string, LogCollectionConfig> LogCollection { get; init; } = new Dictionary<string, LogCollectionConfig>(StringComparer.Ordinal);

    /// <summary><c>spec.metrics</c>, or null when absent.</summary>
    public DeviceMetricsConfig? Metrics { get; init; }

    public required ManifestSource Source { get; init; }
}
