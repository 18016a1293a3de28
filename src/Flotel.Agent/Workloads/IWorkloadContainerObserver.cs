namespace Flotel.Agent.Workloads;

/// <summary>
/// Told by <see cref="WorkloadRunner"/> which containers of the planned workloads came and went, so what follows them
/// (the log capture) never asks podman about pods or reads the runner's state.
/// </summary>
public interface IWorkloadContainerObserver
{
    /// <summary>
    /// Called after every reconcile pass that reached podman, also when nothing changed (so a new plan's routes take
    /// effect at that pass); never concurrently with itself.
    /// </summary>
    Task ContainersChangedAsync(WorkloadContainerChanges changes, CancellationToken cancellationToken);
}
