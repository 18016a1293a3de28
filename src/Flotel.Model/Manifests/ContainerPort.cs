namespace Flotel.Model.Manifests;

/// <summary>One <c>ports[]</c> entry of a container. 0 = absent.</summary>
public sealed record ContainerPort
{
    public int ContainerPortNumber { get; init; }

    public int HostPort { get; init; }

    /// <summary>TCP (Kubernetes' default), UDP or SCTP.</summary>
    public string Protocol { get; init; } = "TCP";
}
