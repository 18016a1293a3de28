namespace Flotel.Agent.Podman;

/// <summary>One pod as listed by libpod (<c>GET /libpod/pods/json</c>).</summary>
/// <param name="Id">Pod id.</param>
/// <param name="Name">Pod name (= the EdgeWorkload name for pods the agent plays).</param>
/// <param name="Status">libpod status: <c>Running</c>, <c>Degraded</c> (some containers stopped), <c>Exited</c>, <c>Stopped</c>, <c>Created</c>, <c>Dead</c>, <c>Error</c>.</param>
/// <param name="Labels">The pod's labels.</param>
public sealed record PodmanPod(string Id, string Name, string Status, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>True when every container of the pod runs.</summary>
    public bool IsRunning => string.Equals(Status, "Running", StringComparison.Ordinal);
}
