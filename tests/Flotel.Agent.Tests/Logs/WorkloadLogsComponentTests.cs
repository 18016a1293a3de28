using System.Buffers;
using Flotel.Agent.Hosting;
using Flotel.Agent.Logs;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Logs;

[Collection(SyslogSenderCollection.Name)]
public sealed class WorkloadLogsComponentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "flotel-component-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    [Fact]
    public async Task Reconcile_NoPodmanSocket_CountsItAndTheTargetStillForwards()
    {
        await using var receiver = new LineReceiver();
        var metrics = new MetricsRegistry();
        var options = new AgentOptions { ManifestsDirectory = _dir, DataDirectory = _dir, PodmanSocket = Path.Combine(_dir, "no-podman.sock"), WatchManifests = false };
        await using var component = new WorkloadLogsComponent(options, metrics, NullLoggerFactory.Instance, TimeProvider.System, new WorkloadLogsOptions
        {
            Fsync = false,
            ReconcileInterval = TimeSpan.FromHours(1),
            Delivery = new DeliveryOptions { RetryInitial = TimeSpan.FromMilliseconds(50), RetryMax = TimeSpan.FromMilliseconds(100) },
        });
        await component.StartAsync(Plan(receiver.Port, "t1"), default);
        await component.ReconcileNowAsync(default);

        Assert.True(metrics.Sum("flotel_agent_podman_unavailable_total") >= 1);
        Assert.Contains("flotel_agent_podman_up 0", metrics.ToText(), StringComparison.Ordinal);

        // Lines already captured (here: appended directly) still reach the collector.
        var buffer = new ArrayBufferWriter<byte>();
        LogRecord.Write(buffer, 6, DateTime.UtcNow.Ticks, new LogCursor(1, 1), "w1"u8, "ab"u8, "hello"u8);
        Assert.True(await ((ILogSink)component.Capture).AppendAsync("w1", [buffer.WrittenMemory], default));
        await receiver.WaitForLinesAsync(1, TimeSpan.FromSeconds(30));
        Assert.EndsWith("ab: hello", receiver.Lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_TargetRemovedAndWorkloadMoved_RoutesToTheNewTargetAndClosesTheOld()
    {
        await using var a = new LineReceiver();
        await using var b = new LineReceiver();
        var metrics = new MetricsRegistry();
        var options = new AgentOptions { ManifestsDirectory = _dir, DataDirectory = _dir, PodmanSocket = Path.Combine(_dir, "no-podman.sock"), WatchManifests = false };
        await using var component = new WorkloadLogsComponent(options, metrics, NullLoggerFactory.Instance, TimeProvider.System, new WorkloadLogsOptions { Fsync = false, ReconcileInterval = TimeSpan.FromHours(1) });
        await component.StartAsync(Plan(a.Port, "ta"), default);
        Assert.Equal(["ta"], component.Targets.Keys);
        await component.ApplyAsync(Plan(b.Port, "tb"), default);
        Assert.Equal(["tb"], component.Targets.Keys);

        var buffer = new ArrayBufferWriter<byte>();
        LogRecord.Write(buffer, 6, DateTime.UtcNow.Ticks, new LogCursor(1, 1), "w1"u8, "ab"u8, "moved"u8);
        Assert.True(await ((ILogSink)component.Capture).AppendAsync("w1", [buffer.WrittenMemory], default));
        Assert.False(await ((ILogSink)component.Capture).AppendAsync("unknown", [buffer.WrittenMemory], default));
        await b.WaitForLinesAsync(1, TimeSpan.FromSeconds(30));
        Assert.Empty(a.Lines);
    }

    private static DevicePlan Plan(int port, string target)
    {
        var t = new LogTargetPlan { Name = target, BufferSizeKiB = 12, Address = "127.0.0.1:" + port, Host = "127.0.0.1", Port = port, Protocol = SyslogProtocol.Tcp, Format = SyslogFormat.Flotta, ConfigMapName = target };
        return new DevicePlan
        {
            DeviceName = "dev",
            Namespace = "default",
            LogTargets = [t],
            Workloads = [new WorkloadPlan { Name = "w1", Namespace = "default", Pod = new PodSpec(), PodManifestYaml = "kind: Pod\n", LogTarget = t }],
        };
    }
}
