namespace Flotel.Model.Manifests;

/// <summary>
/// A Kubernetes <c>v1 Secret</c>. <see cref="Data"/> holds the decoded bytes of <c>data</c> (base64) merged
/// with <c>stringData</c> (UTF-8), <c>stringData</c> winning as the API server does.
/// </summary>
public sealed record Secret
{
    public const string KindName = "Secret";

    public required ObjectMeta Metadata { get; init; }

    public string Type { get; init; } = "Opaque";

    public IReadOnlyDictionary<string, byte[]> Data { get; init; } = new Dictionary<string, byte[]>(StringComparer.Ordinal);

    public required ManifestSource Source { get; init; }

    /// <summary>Never print secret values.</summary>
    public override string ToString() => $"Secret {Metadata.Namespace}/{Metadata.Name} ({Data.Count} keys, values redacted)";
}
