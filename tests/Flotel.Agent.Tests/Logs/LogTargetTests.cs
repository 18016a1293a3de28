using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.Agent.Logs;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Logs;

[Collection(SyslogSenderCollection.Name)]
public sealed partial class LogTargetTests : IDisposable
{
    private const string ContainerId = "dcc80a53aa1e7f5b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
    private readonly TempDirectory _temp = new("flotel-target-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Append_ReachableTarget_LinesArriveInFlottaLayoutOnOneConnection()
    {
        await using var receiver = new LineReceiver();
        var metrics = new MetricsRegistry();
        await using var target = LogTarget.Start(Plan(receiver.Port, 12), _temp.Path, "edge-device-1", Options(), metrics, TimeProvider.System, NullLogger.Instance);
        for (int batch = 0; batch < 3; batch++)
        {
            await target.AppendAsync(Records(batch * 10, 10, "random-workload"), default);
        }

        await receiver.WaitForLinesAsync(30, TimeSpan.FromSeconds(30));
        var lines = receiver.Lines;
        Assert.Matches(@"^<14>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z edge-device-1 random-workload\[\d+\]: " + ContainerId + ": line 0$", lines[0]);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => "line " + i), lines.Select(l => l[(l.LastIndexOf(": ", StringComparison.Ordinal) + 2)..]));
        Assert.Equal(1, receiver.Connections);
        Assert.Equal(30, metrics.Sum("flotel_agent_log_lines_forwarded_total", ("target", "t1")));
    }

    [Fact]
    public async Task Send_CollectorClosedTheConnection_ReconnectsAndLosesNothing()
    {
        await using var receiver = new LineReceiver();
        var metrics = new MetricsRegistry();
        await using var target = LogTarget.Start(Plan(receiver.Port, 12), _temp.Path, "dev", Options(), metrics, TimeProvider.System, NullLogger.Instance);
        await target.AppendAsync(Records(0, 5, "w"), default);
        await receiver.WaitForLinesAsync(5, TimeSpan.FromSeconds(30));
        receiver.DropConnections();
        await Task.Delay(200); // let the FIN arrive, as it does when a collector restarts
        await target.AppendAsync(Records(5, 5, "w"), default);
        await receiver.WaitForLinesAsync(10, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => "line " + i), receiver.Lines.Select(Body));
        Assert.Equal(2, receiver.Connections);
        Assert.Equal(1, metrics.Sum("flotel_agent_syslog_reconnects_total", ("target", "t1")));
    }

    [Fact]
    public async Task Append_TinyBufferWhileUnreachable_DropsOldestAndReportsTheExactCount()
    {
        // 1 KiB buffer (the CRD minimum), nothing listening: 200 lines of ~100 bytes cannot all stay.
        int port = Loopback.FreePort();
        var metrics = new MetricsRegistry();
        await using var target = LogTarget.Start(Plan(port, 1), _temp.Path, "dev", Options(), metrics, TimeProvider.System, NullLogger.Instance);
        const int total = 200;
        for (int i = 0; i < total; i++)
        {
            await target.AppendAsync(Records(i, 1, "w"), default);
        }

        await using var receiver = new LineReceiver(port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!receiver.Lines.Any(l => Body(l) == "line " + (total - 1)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the newest line never arrived; got " + receiver.Lines.Count);
            await Task.Delay(50);
        }

        // The sender counts the drop after its write returned, so the newest line can be read here before the count is
        // added: stopping the target waits for the forwarder's send to finish, after which the count is final.
        await target.StopAsync(TimeSpan.FromSeconds(30));
        AssertOneExactDropReport(receiver.Lines, total, metrics);
    }

    [Fact]
    public async Task Append_TinyBufferWhileUnreachable_ThenAgentRestart_TheDropIsStillReportedExactly()
    {
        // The overflow happens in one agent run, the target comes back only after a (clean) restart: the report must
        // survive the restart — the buffer keeps the forwarder's cursor where it was, so the gap is still visible.
        int port = Loopback.FreePort();
        const int total = 200;
        await using (var first = LogTarget.Start(Plan(port, 1), _temp.Path, "dev", Options(), new MetricsRegistry(), TimeProvider.System, NullLogger.Instance))
        {
            for (int i = 0; i < total; i++)
            {
                await first.AppendAsync(Records(i, 1, "w"), default);
            }
        }

        var metrics = new MetricsRegistry();
        await using var receiver = new LineReceiver(port);
        await using var second = LogTarget.Start(Plan(port, 1), _temp.Path, "dev", Options(), metrics, TimeProvider.System, NullLogger.Instance);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!receiver.Lines.Any(l => Body(l) == "line " + (total - 1)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the newest line never arrived; got " + receiver.Lines.Count);
            await Task.Delay(50);
        }

        await second.StopAsync(TimeSpan.FromSeconds(30)); // the count is final once the send returned (see above)
        AssertOneExactDropReport(receiver.Lines, total, metrics);
    }

    /// <summary>
    /// Lines "line 0" … "line total-1" went through a buffer too small for them: the received ones are in order, one
    /// agent line reports exactly how many never came (also counted in the metric), and the newest arrived.
    /// </summary>
    private static void AssertOneExactDropReport(IReadOnlyList<string> lines, int total, MetricsRegistry metrics)
    {
        var report = lines.Single(l => l.Contains("flotel-agent[", StringComparison.Ordinal));
        long reported = long.Parse(DropCount().Match(report).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var numbers = lines.Where(l => !l.Contains("flotel-agent[", StringComparison.Ordinal))
            .Select(l => int.Parse(Body(l)[5..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.True(reported > 0);
        Assert.Equal(total, numbers.Count + reported);
        Assert.Equal(total - 1, numbers[^1]);
        Assert.Equal(reported, metrics.Sum("flotel_agent_log_lines_dropped_total", ("target", "t1"), ("reason", "buffer_full")));
    }

    [Fact]
    public async Task Reconfigure_NewAddress_BufferedLinesGoToTheNewAddressAndTheOldConnectionCloses()
    {
        await using var first = new LineReceiver();
        await using var second = new LineReceiver();
        var metrics = new MetricsRegistry();
        long before = SyslogSender.OpenConnections;
        await using var target = LogTarget.Start(Plan(first.Port, 12), _temp.Path, "dev", Options(), metrics, TimeProvider.System, NullLogger.Instance);
        await target.AppendAsync(Records(0, 3, "w"), default);
        await first.WaitForLinesAsync(3, TimeSpan.FromSeconds(30));
        await target.ReconfigureAsync(Plan(second.Port, 12));
        await target.AppendAsync(Records(3, 3, "w"), default);
        await second.WaitForLinesAsync(3, TimeSpan.FromSeconds(30));
        Assert.Equal(["line 3", "line 4", "line 5"], second.Lines.Select(Body));
        Assert.Equal(before + 1, SyslogSender.OpenConnections);
        await target.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(before, SyslogSender.OpenConnections);
    }

    private static WorkloadLogsOptions Options() => new()
    {
        Fsync = false,
        Delivery = new DeliveryOptions { RetryInitial = TimeSpan.FromMilliseconds(50), RetryMax = TimeSpan.FromMilliseconds(200), MaxBatchItems = 50, MaxQueueRecords = 50 },
    };

    private static LogTargetPlan Plan(int port, int kib) => new()
    {
        Name = "t1",
        BufferSizeKiB = kib,
        Address = "127.0.0.1:" + port,
        Host = "127.0.0.1",
        Port = port,
        Protocol = SyslogProtocol.Tcp,
        Format = SyslogFormat.Flotta,
        ConfigMapName = "cm",
    };

    private static List<ReadOnlyMemory<byte>> Records(int first, int count, string workload)
    {
        var list = new List<ReadOnlyMemory<byte>>();
        for (int i = first; i < first + count; i++)
        {
            var buffer = new ArrayBufferWriter<byte>();
            LogRecord.Write(buffer, 6, DateTime.UtcNow.Ticks, new LogCursor(i + 1, 1), Encoding.UTF8.GetBytes(workload), Encoding.UTF8.GetBytes(ContainerId), Encoding.UTF8.GetBytes("line " + i));
            list.Add(buffer.WrittenMemory);
        }

        return list;
    }

    private static string Body(string line) => line[(line.LastIndexOf(": ", StringComparison.Ordinal) + 2)..];

    [GeneratedRegex(@"\]: (\d+) log lines for target")]
    private static partial Regex DropCount();
}
