namespace Flotel.Model.Manifests;

/// <summary>One <c>spec.metrics.containers.&lt;name&gt;</c> entry (OP <c>MetricsConfigEntity</c>).</summary>
public sealed record ContainerMetricsConfig
{
    public string Path { get; init; } = string.Empty;

    public long Port { get; init; }

    public bool Disabled { get; init; }
}
