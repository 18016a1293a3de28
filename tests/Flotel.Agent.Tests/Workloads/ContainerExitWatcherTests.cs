using System.Diagnostics;
using Flotel.Agent.Workloads;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Workloads;

/// <summary>
/// The pidfd watch against real child processes (<c>sleep</c>) started and killed by the test; the real podman
/// restarting a killed workload without a poll or an event stream is in the integration tests.
/// </summary>
public sealed class ContainerExitWatcherTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly List<Process> _children = [];

    public void Dispose()
    {
        foreach (var child in _children)
        {
            if (!child.HasExited)
            {
                child.Kill();
                child.WaitForExit();
            }

            child.Dispose();
        }
    }

    [Fact]
    public void IsSupported_OnThisLinux_True() => Assert.True(ContainerExitWatcher.IsSupported);

    [Fact]
    public async Task Watch_ProcessKilled_CallsBackOnceAndStopsHoldingIt()
    {
        var metrics = new MetricsRegistry();
        int calls = 0;
        var called = new SemaphoreSlim(0);
        await using var watcher = new ContainerExitWatcher(() => { Interlocked.Increment(ref calls); called.Release(); }, metrics, NullLogger.Instance);
        watcher.Start();
        var child = Sleep();

        Assert.Equal(0, watcher.Watch(new Dictionary<string, int> { ["c1"] = child.Id }));
        await WaitAsync(() => Gauge(metrics) == 1);
        Assert.Equal(0, calls);

        child.Kill();
        Assert.True(await called.WaitAsync(Limit));
        Assert.Equal(1, calls);
        Assert.Equal(1, metrics.Sum("flotel_agent_container_exits_total"));
        await WaitAsync(() => Gauge(metrics) == 0);
    }

    [Fact]
    public async Task Watch_ReplacedSet_OnlyTheNewSetsExitsCallBack()
    {
        var metrics = new MetricsRegistry();
        var exits = new List<long>();
        var called = new SemaphoreSlim(0);
        void Exited()
        {
            lock (exits)
            {
                exits.Add(metrics.Sum("flotel_agent_container_exits_total"));
            }

            called.Release();
        }

        await using var watcher = new ContainerExitWatcher(Exited, metrics, NullLogger.Instance);
        watcher.Start();
        var dropped = Sleep();
        var kept = Sleep();
        watcher.Watch(new Dictionary<string, int> { ["a"] = dropped.Id, ["b"] = kept.Id });
        await WaitAsync(() => Gauge(metrics) == 2);

        watcher.Watch(new Dictionary<string, int> { ["b"] = kept.Id });
        await WaitAsync(() => Gauge(metrics) == 1);
        dropped.Kill();
        dropped.WaitForExit();
        kept.Kill();

        // Exits are seen one at a time in order of the poll: had the dropped process still been held, its exit would
        // have called back first (or as well).
        Assert.True(await called.WaitAsync(Limit));
        await WaitAsync(() => Gauge(metrics) == 0);
        Assert.Equal([1L], exits);
    }

    [Fact]
    public async Task Watch_ProcessAlreadyGoneOrNoPid_CountedUnwatchedWithoutACallback()
    {
        var metrics = new MetricsRegistry();
        int calls = 0;
        await using var watcher = new ContainerExitWatcher(() => Interlocked.Increment(ref calls), metrics, NullLogger.Instance);
        watcher.Start();
        var gone = Sleep();
        gone.Kill();
        gone.WaitForExit();
        var running = Sleep();

        Assert.Equal(2, watcher.Watch(new Dictionary<string, int> { ["gone"] = gone.Id, ["created"] = 0, ["up"] = running.Id }));
        Assert.Equal(2, watcher.Unwatched);
        await WaitAsync(() => Gauge(metrics) == 1);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task StopAsync_ClosesEverything_Idempotent()
    {
        var metrics = new MetricsRegistry();
        var watcher = new ContainerExitWatcher(() => { }, metrics, NullLogger.Instance);
        watcher.Start();
        watcher.Watch(new Dictionary<string, int> { ["c"] = Sleep().Id });
        await WaitAsync(() => Gauge(metrics) == 1);

        await watcher.StopAsync();
        await watcher.StopAsync();
        Assert.Equal(0, Gauge(metrics));
        await watcher.DisposeAsync();
    }

    private Process Sleep()
    {
        var child = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        _children.Add(child);
        return child;
    }

    private static long Gauge(MetricsRegistry metrics)
    {
        const string prefix = "flotel_agent_container_processes_watched ";
        var line = metrics.ToText().Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return long.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within the limit");
            await Task.Delay(20);
        }
    }
}
