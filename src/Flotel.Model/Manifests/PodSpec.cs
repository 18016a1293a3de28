namespace Flotel.Model.Manifests;

/// <summary>The subset of a Kubernetes pod spec Flotel looks at; the full spec travels as <see cref="EdgeWorkload.PodManifestYaml"/>.</summary>
public sealed record PodSpec
{
    public IReadOnlyList<ContainerSpec> Containers { get; init; } = [];

    public bool HostNetwork { get; init; }
}
