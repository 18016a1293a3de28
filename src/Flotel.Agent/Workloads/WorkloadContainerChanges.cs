using Flotel.Agent.Podman;

namespace Flotel.Agent.Workloads;

/// <summary>
/// What one reconcile pass found, relative to the previous one. A workload container is a non-infra container of a pod
/// named after a planned workload, whatever its state: an exited container's log can still be read, so it counts until
/// podman no longer lists it or its workload leaves the plan.
/// </summary>
/// <param name="Started">Workload containers listed for the first time (at the first pass: all of them).</param>
/// <param name="Removed">Workload containers of the previous pass that are gone or whose workload left the plan.</param>
/// <param name="ExistingIds">Ids of every container podman lists now, of any pod: state kept per container id (a
/// capture cursor) can be dropped for the others.</param>
public sealed record WorkloadContainerChanges(
    IReadOnlyList<PodmanContainer> Started,
    IReadOnlyList<PodmanContainer> Removed,
    IReadOnlySet<string> ExistingIds);
