using System.Buffers;
using System.Text;
using Flotel.Model.Logs;
using Flotel.Wire.Syslog;

namespace Flotel.Wire.Tests.Syslog;

public sealed class SyslogFormatterTests
{
    private const string ContainerId = "dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b";
    private static readonly DateTime Captured = new(2022, 5, 12, 20, 22, 1, 494, DateTimeKind.Utc);

    [Fact]
    public void Write_FlottaLayoutLf_MatchesSnapshot()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "dev1", 3966);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 6, Captured, "random-workload", ContainerId, "New message\n"u8);

        Assert.Equal(
            "<6>2022-05-12T20:22:01.494Z dev1 random-workload[3966]: " + ContainerId + ": New message\n",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Write_Rfc5424OctetCounted_MatchesSnapshot()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.OctetCounting, "dev1", 42);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 14, Captured, "wl", "abc", "hello"u8);

        string body = "<14>1 2022-05-12T20:22:01.494Z dev1 wl 42 - [flotel@32473 device=\"dev1\" workload=\"wl\" container=\"abc\"] hello";
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + body, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed)]
    [InlineData(SyslogOutputFormat.Flotta, SyslogOutputFraming.OctetCounting)]
    [InlineData(SyslogOutputFormat.Flotta, SyslogOutputFraming.Datagram)]
    [InlineData(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.LineFeed)]
    [InlineData(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.OctetCounting)]
    [InlineData(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.Datagram)]
    public void Write_ThenFrameAndParse_GivesBackTheFields(SyslogOutputFormat format, SyslogOutputFraming framing)
    {
        var formatter = new SyslogFormatter(format, framing, "edge-device-1", 3966);
        var output = new ArrayBufferWriter<byte>();
        string[] messages = ["first line", "  indented: a [b] \"c\" \\d", "ünïcödé ✓", "2022-05-12 starts with digits"];
        foreach (string m in messages)
        {
            formatter.Write(output, 14, Captured, "random-workload", ContainerId, Encoding.UTF8.GetBytes(m + "\n"));
        }

        List<byte[]> frames = framing == SyslogOutputFraming.Datagram
            ? SplitDatagrams(formatter, messages)
            : FramerDriver.Run(new SyslogFramer(), [output.WrittenSpan.ToArray()]);

        Assert.Equal(messages.Length, frames.Count);
        for (int i = 0; i < messages.Length; i++)
        {
            LogEvent e = SyslogParser.Default.ParseEvent(frames[i], Captured.AddDays(1), "127.0.0.1");
            Assert.Null(e.Tags);
            Assert.Equal(14, e.Priority);
            Assert.Equal(Captured, e.Timestamp);
            Assert.Equal("edge-device-1", e.LogSource);
            Assert.Equal("random-workload", e.Program);
            Assert.Equal("3966", e.Pid);
            Assert.Equal("edge-device-1", e.DeviceId);
            Assert.Equal("random-workload", e.Workload);
            Assert.Equal(ContainerId, e.ContainerId);
            string expectedMessage = format == SyslogOutputFormat.Flotta ? ContainerId + ": " + messages[i] : messages[i].TrimStart(' ');
            Assert.Equal(expectedMessage, e.Message);
        }
    }

    [Fact]
    public void Write_Rfc5424ValuesNeedingEscapes_RoundTrip()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.OctetCounting, "dev\"1]", 1);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 14, Captured, "w\\l", "c]\"", "m"u8);
        List<byte[]> frames = FramerDriver.Run(new SyslogFramer(), [output.WrittenSpan.ToArray()]);
        LogEvent e = SyslogParser.Default.ParseEvent(frames.Single(), Captured, null);

        Assert.Equal("dev\"1]", e.DeviceId);
        Assert.Equal("w\\l", e.Workload);
        Assert.Equal("c]\"", e.ContainerId);
        Assert.Equal("m", e.Message);
    }

    [Fact]
    public void Write_CarriageReturnsAndLineFeedsAnywhere_EachEscaped()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "dev1", 1);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 6, Captured, "wl", null, "\ra\r\nb\n\nc\rd\n"u8);
        List<byte[]> frames = FramerDriver.Run(new SyslogFramer(), [output.WrittenSpan.ToArray()]);

        Assert.Equal("#015a#015#012b#012#012c#015d", SyslogParser.Default.ParseEvent(frames.Single(), Captured, null).Message);
    }

    [Fact]
    public void Write_EmbeddedLineFeedWithLfFraming_StaysOneFrame()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "dev1", 1);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 6, Captured, "wl", null, "line1\nline2\r\n"u8);
        List<byte[]> frames = FramerDriver.Run(new SyslogFramer(), [output.WrittenSpan.ToArray()]);

        LogEvent e = SyslogParser.Default.ParseEvent(frames.Single(), Captured, null);
        Assert.Equal("line1#012line2", e.Message);
        Assert.Null(e.ContainerId);
    }

    [Fact]
    public void Write_HeaderFieldsWithSpaces_AreMadeSafe()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "my device", 1);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 6, Captured, "a b:c[d]", null, "x"u8);
        LogEvent e = SyslogParser.Default.ParseEvent(output.WrittenSpan, Captured, null);

        Assert.Equal("my_device", e.LogSource);
        Assert.Equal("a_b_c_d_", e.Program);
        Assert.Equal("x", e.Message);
    }

    [Fact]
    public void Write_WarmedUp_AllocatesNothing()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.OctetCounting, "dev1", 42);
        var output = new ArrayBufferWriter<byte>(1 << 20);
        byte[] message = Encoding.UTF8.GetBytes(new string('m', 150));
        formatter.Write(output, 14, Captured, "wl", ContainerId, message);
        output.ResetWrittenCount();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            formatter.Write(output, 14, Captured, "wl", ContainerId, message);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Write_EmptyContainerLine_RoundTripsContainerId()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "dev1", 1);
        var output = new ArrayBufferWriter<byte>();

        formatter.Write(output, 6, Captured, "wl", ContainerId, "\n"u8);
        LogEvent e = SyslogParser.Default.ParseEvent(FramerDriver.Run(new SyslogFramer(), [output.WrittenSpan.ToArray()]).Single(), Captured, null);

        Assert.Equal(ContainerId, e.ContainerId);
        Assert.Equal("dev1", e.DeviceId);
        Assert.Equal("wl", e.Workload);
    }

    [Fact]
    public void Write_PriorityOutOfRange_Throws()
    {
        var formatter = new SyslogFormatter(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "dev1", 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => formatter.Write(new ArrayBufferWriter<byte>(), 192, Captured, "wl", null, "x"u8));
    }

    private static List<byte[]> SplitDatagrams(SyslogFormatter formatter, string[] messages)
    {
        var datagrams = new List<byte[]>();
        foreach (string m in messages)
        {
            var one = new ArrayBufferWriter<byte>();
            formatter.Write(one, 14, Captured, "random-workload", ContainerId, Encoding.UTF8.GetBytes(m + "\n"));
            datagrams.Add(SyslogDatagram.GetMessage(one.WrittenSpan).ToArray());
        }

        return datagrams;
    }
}
