using Flotel.Agent.Podman;
using Flotel.Agent.Workloads;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Workloads;

public sealed class WorkloadRunnerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flotel-runner-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [Fact]
    public async Task Reconcile_NoPodmanSocket_CountsItAndTellsTheObserverNothing()
    {
        var metrics = new MetricsRegistry();
        var observer = new Observer();
        using var podman = new PodmanClient(Path.Combine(_dir, "no-podman.sock"));
        var runner = new WorkloadRunner(podman, Path.Combine(_dir, "workloads", "managed"), observer, metrics, NullLogger.Instance);
        runner.Load();

        await runner.ReconcileAsync(Plan(), default);
        await runner.ReconcileAsync(Plan(), default);

        Assert.Equal(2, metrics.Sum("flotel_agent_podman_unavailable_total"));
        Assert.Contains("flotel_agent_podman_up 0", metrics.ToText(), StringComparison.Ordinal);
        Assert.Empty(observer.Changes);
    }

    [Fact]
    public async Task Reconcile_NoPodmanSocket_OneWarningNamingTheSocketAndWhatStillWorks()
    {
        var socket = Path.Combine(_dir, "no-podman.sock");
        using var podman = new PodmanClient(socket);
        var logger = new ListLogger();
        var runner = new WorkloadRunner(podman, Path.Combine(_dir, "workloads", "managed"), new Observer(), new MetricsRegistry(), logger);
        runner.Load();

        await runner.ReconcileAsync(Plan(), default);
        await runner.ReconcileAsync(Plan(), default);

        var (level, message) = Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains(socket, message, StringComparison.Ordinal);
        Assert.Contains("--podman-socket", message, StringComparison.Ordinal);
        Assert.Contains("metrics are still scraped", message, StringComparison.Ordinal);
        Assert.Contains("buffered log lines still forwarded", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ManagedFileFromAnEarlierRun_KnowsItsPodsAndHashes()
    {
        var file = Path.Combine(_dir, "workloads", "managed");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "0123456789abcdef w1\nfedcba9876543210 w2\nnot-a-line\n");
        using var podman = new PodmanClient(Path.Combine(_dir, "no-podman.sock"));
        var runner = new WorkloadRunner(podman, file, new Observer(), new MetricsRegistry(), NullLogger.Instance);

        runner.Load();

        Assert.Equal("0123456789abcdef", runner.Managed["w1"]);
        Assert.Equal("fedcba9876543210", runner.Managed["w2"]);
        Assert.Equal(2, runner.Managed.Count);
    }

    private static DevicePlan Plan() => new()
    {
        DeviceName = "dev",
        Namespace = "default",
        LogTargets = [],
        Workloads = [new WorkloadPlan { Name = "w1", Namespace = "default", Pod = new PodSpec(), PodManifestYaml = "kind: Pod\n" }],
    };

    private sealed class Observer : IWorkloadContainerObserver
    {
        public List<WorkloadContainerChanges> Changes { get; } = [];

        public Task ContainersChangedAsync(WorkloadContainerChanges changes, CancellationToken cancellationToken)
        {
            Changes.Add(changes);
            return Task.CompletedTask;
        }
    }
}
