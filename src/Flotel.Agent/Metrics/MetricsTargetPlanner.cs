using System.Globalization;
using Flotel.Model.Manifests;

namespace Flotel.Agent.Metrics;

/// <summary>
/// Pure: turns a <see cref="DevicePlan"/> into the agent's scrape targets, as Flotta's device-worker does
/// (docs/reference/flotta-device-worker.md §4.4) — node_exporter as <c>system</c>, one endpoint per workload container, and the agent's own metrics.
/// </summary>
internal static class MetricsTargetPlanner
{
    /// <summary>DW <c>systemTargetName</c>.</summary>
    public const string SystemSource = "system";

    /// <summary>The agent's own metrics. Flotta's equivalent is <c>"data transfer"</c> (its data-sync counters).</summary>
    public const string AgentSource = "flotel-agent";

    /// <summary>
    /// The targets of <paramref name="plan"/>, ordered by key. <paramref name="notes"/> gets one line per configured
    /// endpoint that cannot be scraped (a container outside the host network: its podman address is not resolved yet).
    /// </summary>
    public static IReadOnlyList<ScrapeTarget> Plan(DevicePlan plan, Uri nodeExporterUrl, List<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(nodeExporterUrl);
        var targets = new List<ScrapeTarget>();
        var system = plan.SystemMetrics;
        if (!system.Disabled)
        {
            targets.Add(new ScrapeTarget
            {
                Source = SystemSource,
                Url = nodeExporterUrl,
                Interval = Seconds(system.IntervalSeconds),
                // The resolver already put Flotta's 12-name default here when no allowList is given (docs/reference/flotta-device-worker.md §4.5).
                AllowList = AllowList.Of(system.AllowList),
            });
        }

        // The agent's own metrics follow the system cadence; Flotta's data-transfer target defaulted to 60 s too.
        targets.Add(new ScrapeTarget
        {
            Source = AgentSource,
            Kind = ScrapeTargetKind.Agent,
            Interval = Seconds(system.Disabled ? FlottaDefaults.IntervalSeconds : system.IntervalSeconds),
            AllowList = AllowList.All,
        });

        foreach (var workload in plan.Workloads)
        {
            AddWorkload(workload, targets, notes);
        }

        targets.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return targets;
    }

    private static void AddWorkload(WorkloadPlan workload, List<ScrapeTarget> targets, List<string>? notes)
    {
        if (workload.Metrics is not { } metrics)
        {
            return;
        }

        var allow = AllowList.OfOrAll(metrics.AllowList);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var container in workload.Pod.Containers)
        {
            // DW workload.go: an override entry replaces port and path, or skips the container when disabled. Flotta
            // keys it by podman's inspect name (usually "<pod>-<container>"); Flotel accepts both spellings.
            var port = metrics.Port;
            var path = metrics.Path;
            if (metrics.Containers.TryGetValue(container.Name, out var entry)
                || metrics.Containers.TryGetValue(workload.Name + "-" + container.Name, out entry))
            {
                if (entry.Disabled)
                {
                    continue;
                }

                port = (int)entry.Port;
                path = entry.Path.Length == 0 ? FlottaDefaults.MetricsPath : entry.Path;
            }

            if (!workload.Pod.HostNetwork)
            {
                // TODO(container addresses): Flotta scrapes NetworkSettings.Networks["podman"].IPAddress from a
                // container inspect; the agent does not resolve it yet, so only host-network pods are scraped.
                notes?.Add(string.Create(CultureInfo.InvariantCulture, $"workload {workload.Name} container {container.Name}: not scraped, the pod is not on the host network (container addresses are not resolved yet)"));
                continue;
            }

            var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}{path}"));
            if (!seen.Add(url.ToString()))
            {
                // Host network: containers with the same port and path are one endpoint; scrape it once.
                continue;
            }

            targets.Add(new ScrapeTarget
            {
                Source = workload.Name,
                Url = url,
                Interval = Seconds(metrics.IntervalSeconds),
                AllowList = allow,
            });
        }
    }

    private static TimeSpan Seconds(int seconds) => TimeSpan.FromSeconds(seconds > 0 ? seconds : FlottaDefaults.IntervalSeconds);
}
