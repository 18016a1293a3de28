using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;

namespace Flotel.Agent.Tests.Metrics;

// Ported from DW internal/metrics/system_test.go and workload_test.go (docs/reference/flotta-device-worker.md §5.9, §5.10), for host-network pods.
public sealed class MetricsTargetPlannerTests
{
    private static readonly Uri NodeExporter = new("http://localhost:9100/metrics");

    private static DevicePlan Device(SystemMetricsPlan? system = null, params WorkloadPlan[] workloads) => new()
    {
        DeviceName = "dev1",
        Namespace = "default",
        SystemMetrics = system ?? new SystemMetricsPlan(),
        Workloads = workloads,
    };

    private static WorkloadPlan Workload(WorkloadMetricsPlan? metrics, bool hostNetwork = true, params string[] containers) => new()
    {
        Name = "wrk1",
        Namespace = "default",
        Pod = new PodSpec { HostNetwork = hostNetwork, Containers = [.. containers.Select(c => new ContainerSpec { Name = c, Image = "busybox" })] },
        PodManifestYaml = string.Empty,
        Metrics = metrics,
    };

    [Fact]
    public void Plan_DefaultSystem_NodeExporterEvery60sWithFlottasDefaultList()
    {
        var targets = MetricsTargetPlanner.Plan(Device(), NodeExporter);
        var system = Assert.Single(targets, t => t.Source == "system");
        Assert.Equal(NodeExporter, system.Url);
        Assert.Equal(TimeSpan.FromSeconds(60), system.Interval);
        Assert.Equal(AllowList.Of(FlottaDefaults.SystemAllowList), system.AllowList);
    }

    [Fact]
    public void Plan_CustomSystem_IntervalAndListApplied()
    {
        var targets = MetricsTargetPlanner.Plan(Device(new SystemMetricsPlan { IntervalSeconds = 123, AllowList = ["a", "b"] }), NodeExporter);
        var system = Assert.Single(targets, t => t.Source == "system");
        Assert.Equal(TimeSpan.FromSeconds(123), system.Interval);
        Assert.Equal(AllowList.Of(["a", "b"]), system.AllowList);
    }

    [Fact]
    public void Plan_SystemDisabled_NoNodeExporterButAgentStillScraped()
    {
        var targets = MetricsTargetPlanner.Plan(Device(new SystemMetricsPlan { Disabled = true, IntervalSeconds = 5 }), NodeExporter);
        var agent = Assert.Single(targets);
        Assert.Equal(MetricsTargetPlanner.AgentSource, agent.Source);
        Assert.Equal(ScrapeTargetKind.Agent, agent.Kind);
        Assert.True(agent.AllowList.AllowsAll);
        Assert.Equal(TimeSpan.FromSeconds(60), agent.Interval);
    }

    [Fact]
    public void Plan_WorkloadMetrics_OneTargetPerContainerWithOverridesAndDisabledSkipped()
    {
        var metrics = new WorkloadMetricsPlan
        {
            Path = "/custom_metrics",
            Port = 9000,
            IntervalSeconds = 50,
            Containers = new Dictionary<string, ContainerMetricsConfig>
            {
                ["c1"] = new() { Port = 8888, Path = "/c1/" },
                ["c3"] = new() { Port = 7777, Path = "/", Disabled = true },
            },
        };
        var targets = MetricsTargetPlanner.Plan(Device(null, Workload(metrics, true, "c1", "c2", "c3")), NodeExporter)
            .Where(t => t.Source == "wrk1").ToList();
        Assert.Equal(["http://127.0.0.1:8888/c1/", "http://127.0.0.1:9000/custom_metrics"], targets.Select(t => t.Url!.ToString()));
        Assert.All(targets, t => Assert.Equal(TimeSpan.FromSeconds(50), t.Interval));
        Assert.All(targets, t => Assert.True(t.AllowList.AllowsAll)); // no allowList: Flotta's permissive list
    }

    [Fact]
    public void Plan_WorkloadAllowListEmpty_BlocksEverything()
    {
        var metrics = new WorkloadMetricsPlan { Path = "/", Port = 9000, IntervalSeconds = 60, AllowList = [] };
        var target = Assert.Single(MetricsTargetPlanner.Plan(Device(null, Workload(metrics, true, "c1")), NodeExporter), t => t.Source == "wrk1");
        Assert.False(target.AllowList.Allows("anything"));
    }

    [Fact]
    public void Plan_HostNetworkContainersOnSameEndpoint_ScrapedOnce()
    {
        var metrics = new WorkloadMetricsPlan { Path = "/", Port = 9000, IntervalSeconds = 60 };
        var targets = MetricsTargetPlanner.Plan(Device(null, Workload(metrics, true, "a", "b")), NodeExporter);
        Assert.Single(targets, t => t.Source == "wrk1");
    }

    [Fact]
    public void Plan_PodNotOnHostNetwork_NotScrapedAndExplained()
    {
        var metrics = new WorkloadMetricsPlan { Path = "/", Port = 9000, IntervalSeconds = 60 };
        var notes = new List<string>();
        var targets = MetricsTargetPlanner.Plan(Device(null, Workload(metrics, false, "c1")), NodeExporter, notes);
        Assert.DoesNotContain(targets, t => t.Source == "wrk1");
        Assert.Contains("not on the host network", Assert.Single(notes), StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_WorkloadWithoutMetrics_NoTarget()
    {
        var targets = MetricsTargetPlanner.Plan(Device(null, Workload(null, true, "c1")), NodeExporter);
        Assert.Equal(["system", MetricsTargetPlanner.AgentSource], targets.Select(t => t.Source).Order(StringComparer.Ordinal).Reverse());
    }
}
