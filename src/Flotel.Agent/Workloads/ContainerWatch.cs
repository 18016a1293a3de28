namespace Flotel.Agent.Workloads;

/// <summary>How the agent notices a workload container that died between reconcile passes.</summary>
public enum ContainerWatch
{
    /// <summary>
    /// Hold each running workload container's process as a pidfd (<see cref="ContainerExitWatcher"/>): an exit wakes a
    /// pass, and no connection to podman stays open between passes. Where pidfds are not available, as
    /// <see cref="Events"/>.
    /// </summary>
    Processes,

    /// <summary>Keep podman's container event stream open (<see cref="PodmanEventWatcher"/>).</summary>
    Events,

    /// <summary>Neither: a pass every <see cref="Logs.WorkloadLogsOptions.ReconcileInterval"/>.</summary>
    Poll,
}
