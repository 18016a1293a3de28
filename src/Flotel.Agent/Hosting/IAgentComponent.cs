using Flotel.Model.Manifests;

namespace Flotel.Agent.Hosting;

/// <summary>
/// One part of the agent (workloads and logs, metrics). Components get the resolved <see cref="DevicePlan"/> at start
/// and every later valid plan when the manifests change; they touch only what changed. One lifecycle (style rule 12):
/// <see cref="StopAsync"/> is idempotent, safe without start, stops intake first and flushes within the deadline.
/// </summary>
public interface IAgentComponent : IAsyncDisposable
{
    /// <summary>Short name for logs.</summary>
    string Name { get; }

    /// <summary>Starts with the first plan. Throws only for a fault that makes the component unusable (bad data dir).</summary>
    Task StartAsync(DevicePlan plan, CancellationToken cancellationToken);

    /// <summary>Applies a new plan (manifests changed). Never throws for plan content: problems are logged and counted.</summary>
    Task ApplyAsync(DevicePlan plan, CancellationToken cancellationToken);

    /// <summary>Stops intake, flushes within <paramref name="drainTimeout"/>, leaves the rest on disk for the next start.</summary>
    Task StopAsync(TimeSpan drainTimeout);
}
