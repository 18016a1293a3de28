using System.Collections.Concurrent;
using System.Text;
using Flotel.Agent.Hosting;
using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Metrics;

/// <summary>The component against local HTTP endpoints: plan changes applied live, the WAL kept across them.</summary>
public sealed class MetricsComponentTests : IDisposable
{
    private readonly TempDirectory _temp = new("flotel-agent-test-");
    private readonly MetricsRegistry _registry = new();

    public void Dispose() => _temp.Dispose();

    private static DevicePlan Plan(string url, IReadOnlyList<string> allow, bool systemDisabled = false, long maxMiB = 0) => new()
    {
        DeviceName = "dev1",
        Namespace = "default",
        MetricsReceiver = new MetricsReceiverPlan { Url = url, TimeoutSeconds = 5 },
        SystemMetrics = new SystemMetricsPlan { IntervalSeconds = 1, AllowList = allow, Disabled = systemDisabled },
        Retention = new RetentionPlan { MaxMiB = maxMiB },
    };

    private MetricsComponent Component(LocalHttpServer exporter) => new(
        new AgentOptions { ManifestsDirectory = _temp.Path, DataDirectory = _temp.Path, NodeExporterUrl = new Uri(exporter.BaseUrl + "/metrics") },
        _registry,
        NullLoggerFactory.Instance,
        TimeProvider.System,
        new MetricsComponentOptions { RetryInitial = TimeSpan.FromMilliseconds(50), RetryMax = TimeSpan.FromMilliseconds(500), WalFsync = false });

    private static LocalHttpServer Exporter(string text) => new(async (_, _, response) =>
    {
        response.ContentType = "text/plain; version=0.0.4";
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(text));
    });

    private static LocalHttpServer Receiver(ConcurrentQueue<string> names) => new((_, body, response) =>
    {
        foreach (var s in RemoteWriteCodec.Decode(body).Series)
        {
            for (var i = 0; i < s.Samples.Count; i++)
            {
                names.Enqueue(s.Labels.MetricName!);
            }
        }

        response.StatusCode = 204;
        return Task.CompletedTask;
    });

    private static async Task<bool> Until(Func<bool> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    [Fact]
    public async Task ApplyAsync_NewUrlAndAllowList_UsedWithoutRestartAndNoScrapeLost()
    {
        using var exporter = Exporter("a_metric 1\nb_metric 2\n");
        var atFirst = new ConcurrentQueue<string>();
        var atSecond = new ConcurrentQueue<string>();
        using var first = Receiver(atFirst);
        using var second = Receiver(atSecond);
        await using var component = Component(exporter);
        await component.StartAsync(Plan(first.BaseUrl + "/api/v1/write", ["a_metric"]), CancellationToken.None);
        Assert.True(await Until(() => atFirst.Contains("a_metric")));

        await component.ApplyAsync(Plan(second.BaseUrl + "/api/v1/write", ["b_metric"]), CancellationToken.None);
        Assert.True(await Until(() => atSecond.Contains("b_metric")));
        var before = component.Scrapes("system");
        Assert.True(await Until(() => component.Scrapes("system") >= before + 2 && component.PendingRecords == 0));
        await component.StopAsync(TimeSpan.FromSeconds(5));

        // Each scrape is in exactly one receiver, with the allow list of its time: a_metric before, b_metric after.
        var all = atFirst.Concat(atSecond).ToList();
        var scrapes = component.Scrapes("system");
        Assert.Equal(scrapes, all.Count(n => n == "up") - (_registry.Sum(MetricsComponent.ScrapesMetric, ("target", MetricsTargetPlanner.AgentSource))));
        Assert.Equal(scrapes, all.Count(n => n is "a_metric" or "b_metric"));
        Assert.DoesNotContain("b_metric", atFirst);
        Assert.Equal(0, component.PendingRecords);
    }

    [Fact]
    public async Task ApplyAsync_SystemDisabledThenEnabled_TargetRemovedAndAddedBack()
    {
        using var exporter = Exporter("a_metric 1\n");
        await using var component = Component(exporter);
        await component.StartAsync(Plan(string.Empty, ["a_metric"]), CancellationToken.None);
        Assert.Equal(2, component.TargetKeys.Count);
        await component.ApplyAsync(Plan(string.Empty, ["a_metric"], systemDisabled: true), CancellationToken.None);
        Assert.Equal([MetricsTargetPlanner.AgentSource + "|self"], component.TargetKeys);
        await component.ApplyAsync(Plan(string.Empty, ["a_metric"]), CancellationToken.None);
        Assert.Contains(component.TargetKeys, k => k.StartsWith("system|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApplyAsync_RetentionChangedWhileReceiverDown_WalReopenedWithBacklogWhichIsThenSent()
    {
        using var exporter = Exporter("a_metric 1\n");
        int deadPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            deadPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var component = Component(exporter);
        await component.StartAsync(Plan("http://127.0.0.1:" + deadPort + "/api/v1/write", ["a_metric"]), CancellationToken.None);
        Assert.True(await Until(() => component.PendingRecords >= 6));
        await component.ApplyAsync(Plan("http://127.0.0.1:" + deadPort + "/api/v1/write", ["a_metric"], maxMiB: 8), CancellationToken.None);
        Assert.True(component.PendingRecords >= 6, "backlog lost when the WAL was reopened: " + component.PendingRecords);

        var received = new ConcurrentQueue<string>();
        using var receiver = Receiver(received);
        await component.ApplyAsync(Plan(receiver.BaseUrl + "/api/v1/write", ["a_metric"], maxMiB: 8), CancellationToken.None);
        Assert.True(await Until(() => component.PendingRecords == 0 && received.Count(n => n == "a_metric") > 6));
        await component.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(component.Scrapes("system"), received.Count(n => n == "a_metric"));
    }

    [Fact]
    public async Task Wal_ScrapesBeyondMaxMiB_OldestDroppedAndCounted()
    {
        // ~5,000 distinct series per scrape: a few hundred KiB per record, so a 1 MiB WAL overflows within seconds.
        var body = new StringBuilder();
        for (var i = 0; i < 5000; i++)
        {
            body.Append("big{id=\"").Append(Guid.NewGuid().ToString("N")).Append("\"} ").Append(i).Append('\n');
        }

        using var exporter = Exporter(body.ToString());
        await using var component = Component(exporter);
        await component.StartAsync(Plan(string.Empty, ["big"], maxMiB: 1), CancellationToken.None);
        Assert.True(await Until(() => _registry.Sum("flotel_agent_metrics_wal_dropped_records_total") > 0, 60));
        await component.StopAsync(TimeSpan.Zero);
        var walBytes = Directory.EnumerateFiles(component.WalDirectory, "*.seg").Sum(f => new FileInfo(f).Length);
        Assert.True(walBytes <= 1024 * 1024, $"WAL holds {walBytes} bytes with maxMiB 1");
        Assert.Equal(0, _registry.Sum("flotel_agent_metrics_wal_append_failures_total"));
    }
}
