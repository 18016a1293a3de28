namespace Flotel.Model.Manifests;

/// <summary><c>spec.metrics.retention</c>: how much local metrics history the device keeps. 0 = not set.</summary>
public sealed record RetentionConfig
{
    public long MaxHours { get; init; }

    public long MaxMiB { get; init; }
}
