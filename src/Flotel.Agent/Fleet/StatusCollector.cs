using Flotel.Agent.Hosting;
using Flotel.Agent.Logs;
using Flotel.Agent.Metrics;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Agent.Fleet;

/// <summary>
/// The parts of a status report the components know (docs/fleet.md §5): each workload's state, each log target's buffer
/// fill, limit and drops, and the metrics WAL's backlog.
/// </summary>
public static class StatusCollector
{
    public static (IReadOnlyList<WorkloadStatus> Workloads, IReadOnlyList<TargetStatus> Targets, long WalBacklogBytes) Collect(
        IReadOnlyList<IAgentComponent> components, MetricsRegistry? metrics)
    {
        ArgumentNullException.ThrowIfNull(components);
        var workloads = new List<WorkloadStatus>();
        var targets = new List<TargetStatus>();
        long wal = 0;
        foreach (var component in components)
        {
            switch (component)
            {
                case WorkloadLogsComponent logs:
                    foreach (var state in logs.WorkloadStates)
                    {
                        workloads.Add(new WorkloadStatus(state.Name, state.State, state.Message));
                    }

                    foreach (var (name, target) in logs.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
                    {
                        var dropped = metrics?.Sum("flotel_agent_log_lines_dropped_total", ("target", name)) ?? 0;
                        targets.Add(new TargetStatus(name, target.BufferBytes, target.Plan.BufferSizeBytes, dropped));
                    }

                    break;
                case MetricsComponent metricsComponent:
                    wal = metricsComponent.WalBytesOnDisk;
                    break;
            }
        }

        return (workloads, targets, wal);
    }
}
