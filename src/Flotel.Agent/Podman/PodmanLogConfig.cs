namespace Flotel.Agent.Podman;

/// <summary>Where a container's output goes (libpod container inspect, <c>HostConfig.LogConfig</c>).</summary>
/// <param name="Driver">The log driver: <c>k8s-file</c> (podman's default), <c>journald</c>, <c>none</c>, <c>passthrough</c>…</param>
/// <param name="Path">For <c>k8s-file</c>, the file conmon writes; else usually empty.</param>
public sealed record PodmanLogConfig(string Driver, string Path)
{
    /// <summary>The driver whose file the agent can follow itself.</summary>
    public const string K8sFileDriver = "k8s-file";

    /// <summary>True when the output is in a file the agent can follow (<c>k8s-file</c> with a path).</summary>
    public bool HasFile => string.Equals(Driver, K8sFileDriver, StringComparison.Ordinal) && System.IO.Path.IsPathFullyQualified(Path);
}
