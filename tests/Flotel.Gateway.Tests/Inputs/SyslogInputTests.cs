using System.Net;
using System.Net.Sockets;
using System.Text;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Inputs;

public sealed class SyslogInputTests
{
    private const string BlogLine = "<6>2022-05-12T16:22:01-04:00  random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022";

    [Fact]
    public async Task Tcp_MixedFramingOnOneConnection_QueuesEveryFrameInOrder()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        await using var input = StartTcp(sink, registry, maxFrameBytes: 1024);

        var rfc5424 = "<14>1 2022-05-12T20:22:01.494Z dev1 app 1 - - octet counted";
        var stream = BlogLine + "\n" + Encoding.UTF8.GetByteCount(rfc5424) + " " + rfc5424 + "\r\n\nlast line without newline";
        await SendTcpAsync(input.LocalEndPoint, Encoding.UTF8.GetBytes(stream));

        await Eventually.TrueAsync(() => sink.Frames().Count == 3, "three frames");
        var frames = sink.Frames();
        Assert.Equal([BlogLine, rfc5424, "last line without newline"], frames.Select(f => f.Frame));
        Assert.All(frames, f => Assert.Equal("127.0.0.1", f.Peer));
        Assert.Contains("flotel_syslog_frames_total{transport=\"tcp\"} 3", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_OversizedFrame_IsDroppedAndCounted_TheConnectionSurvives()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        await using var input = StartTcp(sink, registry, maxFrameBytes: 512);

        var stream = "before\n" + new string('x', 2000) + "\nafter\n";
        await SendTcpAsync(input.LocalEndPoint, Encoding.UTF8.GetBytes(stream));

        await Eventually.TrueAsync(() => sink.Frames().Count == 2, "two frames");
        Assert.Equal(["before", "after"], sink.Frames().Select(f => f.Frame));
        Assert.Contains("flotel_syslog_dropped_total{transport=\"tcp\",reason=\"oversized\"} 1", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_WhenTheQueueIsFull_PausesAndRetries_LosingNothing()
    {
        var sink = new ListSink(refuseFirst: 3);
        var registry = new MetricsRegistry();
        await using var input = StartTcp(sink, registry, maxFrameBytes: 1024);

        var lines = Enumerable.Range(0, 500).Select(i => $"<13>Feb 13 20:07:26 h app: line {i}").ToArray();
        await SendTcpAsync(input.LocalEndPoint, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

        await Eventually.TrueAsync(() => sink.Frames().Count == lines.Length, "every line");
        Assert.Equal(lines, sink.Frames().Select(f => f.Frame));
        Assert.Equal(3, sink.Refused);
        Assert.Contains("flotel_syslog_backpressure_total{transport=\"tcp\"} 1", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_WhenTheQueueCannotWrite_PausesAndRetriesOnTheSameConnection_LosingNothing()
    {
        var sink = new ListSink(refuseFirst: 3, writeFails: true);
        var registry = new MetricsRegistry();
        await using var input = StartTcp(sink, registry, maxFrameBytes: 1024);

        var lines = Enumerable.Range(0, 500).Select(i => $"<13>Feb 13 20:07:26 h app: line {i}").ToArray();
        await SendTcpAsync(input.LocalEndPoint, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

        await Eventually.TrueAsync(() => sink.Frames().Count == lines.Length, "every line");
        Assert.Equal(lines, sink.Frames().Select(f => f.Frame));
        Assert.Equal(3, sink.Refused);
        Assert.Contains("flotel_syslog_backpressure_total{transport=\"tcp\"} 1", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Udp_WhenTheQueueCannotWrite_DropsAreCountedAsWriteFailed()
    {
        var sink = new ListSink(refuseFirst: 1, writeFails: true);
        var registry = new MetricsRegistry();
        await using var input = new SyslogUdpInput(new IPEndPoint(IPAddress.Loopback, 0), sink, new SyslogInputCounters(registry, "udp"), TimeProvider.System, NullLogger.Instance);
        input.Start();

        using var client = new UdpClient(AddressFamily.InterNetwork);
        await client.SendAsync(Encoding.UTF8.GetBytes("<13>Feb 13 20:07:26 h app: lost on a full disk\n"), input.LocalEndPoint);
        await Eventually.TrueAsync(() => sink.Refused == 1, "the refused datagram");
        await client.SendAsync(Encoding.UTF8.GetBytes("<13>Feb 13 20:07:26 h app: stored\n"), input.LocalEndPoint);

        await Eventually.TrueAsync(() => sink.Frames().Count == 1, "the datagram after");
        Assert.Contains("flotel_syslog_dropped_total{transport=\"udp\",reason=\"write_failed\"} 1", registry.ToText(), StringComparison.Ordinal);
        Assert.Contains("flotel_syslog_dropped_total{transport=\"udp\",reason=\"queue_full\"} 0", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_ManyMegabytesOnOneConnection_SplitIntoRecordsBelowTheLargeObjectSize_InOrder()
    {
        var sink = new ListSink();
        await using var input = StartTcp(sink, new MetricsRegistry(), maxFrameBytes: 8192);

        // ~4 MiB in one write: reads of up to 1 MiB are split into records of about 32 KiB, so the store's queue reader
        // never allocates a large object per record. A 6 KiB frame crosses record boundaries without being split.
        var lines = Enumerable.Range(0, 30_000).Select(i => i % 1000 == 999 ? $"<13>Feb 13 20:07:26 h app: big {i} " + new string('y', 6000) : $"<13>Feb 13 20:07:26 h app: line {i} " + new string('x', 100)).ToArray();
        await SendTcpAsync(input.LocalEndPoint, Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

        await Eventually.TrueAsync(() => sink.Frames().Count == lines.Length, "every line");
        Assert.Equal(lines, sink.Frames().Select(f => f.Frame));
        Assert.True(sink.Records.Count >= 4 * 1024 * 1024 / (40 * 1024), $"{sink.Records.Count} records");
        Assert.All(sink.Records, r => Assert.True(r.Length < 85_000, $"a record of {r.Length} bytes"));
    }

    [Fact]
    public async Task Tcp_RandomBytes_NeverStopTheListener()
    {
        var sink = new ListSink();
        await using var input = StartTcp(sink, new MetricsRegistry(), maxFrameBytes: 4096);
        var random = new Random(42);
        for (var i = 0; i < 20; i++)
        {
            var bytes = new byte[random.Next(1, 20_000)];
            random.NextBytes(bytes);
            await SendTcpAsync(input.LocalEndPoint, bytes);
        }

        await SendTcpAsync(input.LocalEndPoint, "<13>still alive\n"u8.ToArray());

        await Eventually.TrueAsync(() => sink.Frames().Any(f => f.Frame == "<13>still alive"), "the last good line");
    }

    [Fact]
    public async Task Udp_EachDatagramIsOneMessage()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        await using var input = new SyslogUdpInput(new IPEndPoint(IPAddress.Loopback, 0), sink, new SyslogInputCounters(registry, "udp"), TimeProvider.System, NullLogger.Instance);
        input.Start();

        using var client = new UdpClient(AddressFamily.InterNetwork);
        var sent = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            var line = $"<13>Feb 13 20:07:26 h app: datagram {i}";
            sent.Add(line);
            await client.SendAsync(Encoding.UTF8.GetBytes(line + "\n"), input.LocalEndPoint);
        }

        await Eventually.TrueAsync(() => sink.Frames().Count == sent.Count, "every datagram");
        Assert.Equal(sent, sink.Frames().Select(f => f.Frame));
    }

    [Fact]
    public async Task Udp_BurstOfLargeDatagramsFromTwoSenders_RecordsBelowTheLargeObjectSize_EachSenderInOrder()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        await using var input = new SyslogUdpInput(new IPEndPoint(IPAddress.Loopback, 0), sink, new SyslogInputCounters(registry, "udp"), TimeProvider.System, NullLogger.Instance);
        input.Start();

        // 2 × 300 datagrams of ~6 KiB (3.6 MB, within the 8 MiB receive buffer): a burst used to become one record of up
        // to 4,096 datagrams (~24 MB here); now records of about 32 KiB appended together.
        using var first = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var second = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var bySender = new[] { (Client: first, Lines: new List<string>()), (Client: second, Lines: new List<string>()) };
        for (var i = 0; i < 300; i++)
        {
            foreach (var (client, lines) in bySender)
            {
                var line = $"<13>Feb 13 20:07:26 h app: {((IPEndPoint)client.Client.LocalEndPoint!).Port} datagram {i} " + new string('z', 6000);
                lines.Add(line);
                await client.SendAsync(Encoding.UTF8.GetBytes(line), input.LocalEndPoint);
            }
        }

        await Eventually.TrueAsync(() => sink.Frames().Count == 600, "every datagram");
        foreach (var (client, lines) in bySender)
        {
            var port = ((IPEndPoint)client.Client.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(lines, sink.Frames().Select(f => f.Frame).Where(f => f.Contains($"app: {port} ", StringComparison.Ordinal)));
        }

        Assert.All(sink.Records, r => Assert.True(r.Length < 85_000, $"a record of {r.Length} bytes"));
        Assert.True(sink.Records.Count >= 600 * 6000 / (40 * 1024), $"{sink.Records.Count} records");
        Assert.Contains("flotel_syslog_frames_total{transport=\"udp\"} 600", registry.ToText(), StringComparison.Ordinal);
    }

    private static SyslogTcpInput StartTcp(ListSink sink, MetricsRegistry registry, int maxFrameBytes)
    {
        var input = new SyslogTcpInput(
            new IPEndPoint(IPAddress.Loopback, 0), tls: null, maxFrameBytes, sink, new SyslogInputCounters(registry, "tcp"),
            TimeProvider.System, NullLogger.Instance);
        input.Start();
        return input;
    }

    private static async Task SendTcpAsync(IPEndPoint endpoint, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        await client.GetStream().WriteAsync(bytes);
        client.Client.Shutdown(SocketShutdown.Send);
    }
}
