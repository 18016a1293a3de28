namespace Flotel.Model.Manifests;

/// <summary>A Kubernetes <c>v1 ConfigMap</c>: only <c>data</c> matters to Flotta.</summary>
public sealed record ConfigMap
{
    public const string KindName = "ConfigMap";

    public required ObjectMeta Metadata { get; init; }

    public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public required ManifestSource Source { get; init; }
}
