namespace Flotel.Agent.Podman;

/// <summary>One container of a pod, as listed by libpod (<c>GET /libpod/containers/json?all=true</c>).</summary>
/// <param name="Id">Full 64-hex container id.</param>
/// <param name="Name">Container name (<c>play kube</c> names it <c>{pod}-{container}</c>).</param>
/// <param name="PodName">The pod it belongs to, or empty.</param>
/// <param name="State">libpod state: <c>created</c>, <c>running</c>, <c>exited</c>, <c>stopped</c>, <c>dead</c>…</param>
/// <param name="IsInfra">True for the pod's infra (pause) container, which prints nothing worth shipping.</param>
/// <param name="Pid">The container's main process as the host sees it (libpod's <c>Pid</c>), 0 while it does not run.</param>
public sealed record PodmanContainer(string Id, string Name, string PodName, string State, bool IsInfra, int Pid = 0)
{
    /// <summary>True while the container runs.</summary>
    public bool IsRunning => string.Equals(State, "running", StringComparison.Ordinal);
}
