namespace Flotel.Model.Manifests;

/// <summary>One <c>containers[]</c> entry (subset).</summary>
public sealed record ContainerSpec
{
    public required string Name { get; init; }

    public required string Image { get; init; }

    public IReadOnlyList<string> Command { get; init; } = [];

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary><c>env[]</c> entries with a literal <c>value</c> (<c>valueFrom</c> entries are kept only in the raw YAML).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Env { get; init; } = [];

    public IReadOnlyList<ContainerPort> Ports { get; init; } = [];
}
