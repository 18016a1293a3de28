namespace Flotel.Model.Manifests;

/// <summary>Kubernetes <c>metadata</c>: only what Flotta reads.</summary>
public sealed record ObjectMeta
{
    /// <summary>Kubernetes' default namespace, used when <c>metadata.namespace</c> is absent.</summary>
    public const string DefaultNamespace = "default";

    public required string Name { get; init; }

    public string Namespace { get; init; } = DefaultNamespace;

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
