namespace Flotel.Model.Manifests;

/// <summary>Everything loaded from a manifest directory, in file order, plus what went wrong while loading.</summary>
public sealed class ManifestSet
{
    public IReadOnlyList<EdgeDevice> Devices { get; init; } = [];

    public IReadOnlyList<EdgeWorkload> Workloads { get; init; } = [];

    public IReadOnlyList<ConfigMap> ConfigMaps { get; init; } = [];

    public IReadOnlyList<Secret> Secrets { get; init; } = [];

    public IReadOnlyList<ManifestDiagnostic> Diagnostics { get; init; } = [];
}
