using Flotel.Agent.Logs;
using Flotel.Agent.Podman;
using Flotel.Agent.Workloads;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Logs;

public sealed class LogCaptureTests : IDisposable
{
    private static readonly PodmanContainer RoutedA = new(new string('a', 64), "w1-app", "w1", "running", false);
    private static readonly PodmanContainer RoutedB = new(new string('b', 64), "w1-side", "w1", "exited", false);
    private static readonly PodmanContainer Unrouted = new(new string('c', 64), "w2-app", "w2", "running", false);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flotel-capture-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [Fact]
    public async Task ContainersChanged_StartedAndRemoved_FollowsOnlyTheRoutedContainersThatExist()
    {
        using var podman = new PodmanClient(Path.Combine(_dir, "no-podman.sock"));
        await using var capture = NewCapture(podman);
        await capture.StartAsync(Plan(routed: true));

        await capture.ContainersChangedAsync(Changes([RoutedA, RoutedB, Unrouted], [], RoutedA, RoutedB, Unrouted), default);
        Assert.Equal([RoutedA.Id, RoutedB.Id], capture.FollowedContainers.Order(StringComparer.Ordinal));

        await capture.ContainersChangedAsync(Changes([], [RoutedA], RoutedB, Unrouted), default);
        Assert.Equal([RoutedB.Id], capture.FollowedContainers);
    }

    [Fact]
    public async Task ContainersChanged_RouteRemovedThenBack_StopsThenFollowsAgainWithoutAnEvent()
    {
        using var podman = new PodmanClient(Path.Combine(_dir, "no-podman.sock"));
        await using var capture = NewCapture(podman);
        await capture.StartAsync(Plan(routed: true));
        await capture.ContainersChangedAsync(Changes([RoutedA], [], RoutedA), default);
        Assert.Equal([RoutedA.Id], capture.FollowedContainers);

        await capture.ApplyAsync(Plan(routed: false));
        await capture.ContainersChangedAsync(Changes([], [], RoutedA), default);
        Assert.Empty(capture.FollowedContainers);

        await capture.ApplyAsync(Plan(routed: true));
        await capture.ContainersChangedAsync(Changes([], [], RoutedA), default);
        Assert.Equal([RoutedA.Id], capture.FollowedContainers);
    }

    [Fact]
    public async Task ContainersChanged_CursorOfAContainerThatNoLongerExists_IsDeleted()
    {
        var cursors = new ContainerCursorStore(Path.Combine(_dir, "logs", "cursors"));
        cursors.Save(Unrouted.Id, new LogCursor(100, 1));
        cursors.Save(RoutedA.Id, new LogCursor(100, 1));
        using var podman = new PodmanClient(Path.Combine(_dir, "no-podman.sock"));
        await using var capture = NewCapture(podman);
        await capture.StartAsync(Plan(routed: false));

        await capture.ContainersChangedAsync(Changes([], [], Unrouted), default);

        Assert.Equal([Unrouted.Id], cursors.List());
    }

    private LogCapture NewCapture(PodmanClient podman) =>
        new(Path.Combine(_dir, "logs"), podman, new WorkloadLogsOptions { Fsync = false, LogReopenDelay = TimeSpan.FromHours(1) }, new MetricsRegistry(), NullLoggerFactory.Instance, TimeProvider.System, NullLogger.Instance);

    private static WorkloadContainerChanges Changes(PodmanContainer[] started, PodmanContainer[] removed, params PodmanContainer[] existing) =>
        new(started, removed, existing.Select(c => c.Id).ToHashSet(StringComparer.Ordinal));

    private static DevicePlan Plan(bool routed)
    {
        // Port 9 (discard): the forwarder never gets to send anything in these tests.
        var t = new LogTargetPlan { Name = "t1", BufferSizeKiB = 12, Address = "127.0.0.1:9", Host = "127.0.0.1", Port = 9, Protocol = SyslogProtocol.Tcp, Format = SyslogFormat.Flotta, ConfigMapName = "t1" };
        return new DevicePlan
        {
            DeviceName = "dev",
            Namespace = "default",
            LogTargets = routed ? [t] : [],
            Workloads =
            [
                new WorkloadPlan { Name = "w1", Namespace = "default", Pod = new PodSpec(), PodManifestYaml = "kind: Pod\n", LogTarget = routed ? t : null },
                new WorkloadPlan { Name = "w2", Namespace = "default", Pod = new PodSpec(), PodManifestYaml = "kind: Pod\n" },
            ],
        };
    }
}
