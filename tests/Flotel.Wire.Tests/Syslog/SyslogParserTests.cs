using System.Buffers;
using System.Text;
using Flotel.Model.Logs;
using Flotel.Wire.Syslog;

using Flotel.Wire.Tests.TestKit;

namespace Flotel.Wire.Tests.Syslog;

public sealed class SyslogParserTests
{
    private static readonly DateTime ReceivedAt = new(2022, 5, 12, 20, 22, 1, 494, DateTimeKind.Utc);

    private const string BlogLine = "<6>2022-05-12T16:22:01-04:00  random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022";

    [Fact]
    public void ParseEvent_NotSyslog_KeepsRawLineWithPriority13AndFailureTag()
    {
        LogEvent e = SyslogParser.Default.ParseEvent("hello world, this is not syslog RFC3164\r\n"u8, ReceivedAt, "10.0.0.7");

        Assert.Equal(13, e.Priority);
        Assert.Equal(1, e.Facility);
        Assert.Equal(5, e.Severity);
        Assert.Equal("user-level", e.FacilityLabel);
        Assert.Equal("Notice", e.SeverityLabel);
        Assert.Equal("hello world, this is not syslog RFC3164", e.Message);
        Assert.Equal(["_syslogparsefailure"], e.Tags);
        Assert.True(e.IsParseFailure);
        Assert.Equal(ReceivedAt, e.Timestamp);
        Assert.Equal("10.0.0.7", e.Host);
        Assert.Null(e.TimestampText);
    }

    [Fact]
    public void ParseEvent_InvalidUtf8_BecomesReplacementCharacter()
    {
        byte[] line = [.. "<13>Feb 13 20:07:26 h app: caf"u8, 0xC3, 0x28, .. " ok"u8];

        LogEvent e = SyslogParser.Default.ParseEvent(line, ReceivedAt, null);

        Assert.Equal("caf\uFFFD( ok", e.Message);
        Assert.Null(e.Tags);
    }

    [Fact]
    public void ParseEvent_InvalidUtf8NotSyslog_IsKeptWithReplacementCharacter()
    {
        LogEvent e = SyslogParser.Default.ParseEvent([0xFF, 0xFE, (byte)'x'], ReceivedAt, null);

        Assert.Equal("\uFFFD\uFFFDx", e.Message);
        Assert.True(e.IsParseFailure);
    }

    [Fact]
    public void Parse_BlogLine_FindsFieldsAsRanges()
    {
        byte[] line = Encoding.UTF8.GetBytes(BlogLine);

        SyslogParseResult r = SyslogParser.Default.Parse(line, ReceivedAt);

        Assert.Equal(SyslogDialect.Rfc3164, r.Dialect);
        Assert.Equal(SyslogParseError.None, r.Error);
        Assert.Equal(6, r.Priority);
        Assert.True(r.HasHeaderTimestamp);
        Assert.Equal(new DateTime(2022, 5, 12, 20, 22, 1, DateTimeKind.Utc), r.Timestamp);
        Assert.False(r.Hostname.IsPresent);
        Assert.Equal("random-workload", Encoding.UTF8.GetString(r.AppName.Slice(line)));
        Assert.Equal("3966", Encoding.UTF8.GetString(r.ProcId.Slice(line)));
        Assert.Equal(64, r.ContainerId.Length);
    }

    [Fact]
    public void Parse_WarmedUp_AllocatesNothing()
    {
        byte[][] lines =
        [
            Encoding.UTF8.GetBytes(BlogLine),
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry..."u8.ToArray(),
            "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"u8.ToArray(),
            "hello world, this is not syslog"u8.ToArray(),
        ];
        var parser = new SyslogParser(new SyslogParserOptions { Timezone = "Europe/Paris" });
        int sum = 0;
        foreach (byte[] line in lines)
        {
            sum += parser.Parse(line, ReceivedAt).Priority;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            foreach (byte[] line in lines)
            {
                sum += parser.Parse(line, ReceivedAt).Priority;
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }

    [Fact]
    public void ParseEvent_MultiSegmentFrame_EqualsContiguousParse()
    {
        byte[] line = Encoding.UTF8.GetBytes(BlogLine);

        LogEvent contiguous = SyslogParser.Default.ParseEvent(line, ReceivedAt, "h");
        LogEvent segmented = SyslogParser.Default.ParseEvent(SequenceFactory.OneBytePerSegment(line), ReceivedAt, "h");

        Assert.Equal(contiguous.Message, segmented.Message);
        Assert.Equal(contiguous.Program, segmented.Program);
        Assert.Equal(contiguous.ContainerId, segmented.ContainerId);
        Assert.Equal(contiguous.Timestamp, segmented.Timestamp);
    }

    [Fact]
    public void ParseEvent_LargeMultiSegmentFrame_UsesPooledCopy()
    {
        string body = new('z', 5000);
        byte[] line = Encoding.UTF8.GetBytes("<13>Feb 13 20:07:26 h app: " + body);
        ReadOnlySequence<byte> frame = SequenceFactory.Segmented([line[..100], line[100..]]);

        LogEvent e = SyslogParser.Default.ParseEvent(frame, ReceivedAt, null);

        Assert.Equal(body, e.Message);
    }

    [Fact]
    public void ParseEvent_WithStringPool_ReusesRepeatedHeaderStrings()
    {
        var pool = new SyslogStringPool();
        byte[] line = Encoding.UTF8.GetBytes(BlogLine.Replace("  random", " dev1 random", StringComparison.Ordinal));

        LogEvent first = SyslogParser.Default.ParseEvent(line, ReceivedAt, null, pool);
        LogEvent second = SyslogParser.Default.ParseEvent(line, ReceivedAt, null, pool);

        Assert.Equal("dev1", first.LogSource);
        Assert.Same(first.LogSource, second.LogSource);
        Assert.Same(first.Program, second.Program);
        Assert.Same(first.Pid, second.Pid);
        Assert.Same(first.ContainerId, second.ContainerId);
        Assert.Same(first.LogSource, first.DeviceId);
        Assert.Same(first.Program, first.Workload);
        Assert.NotSame(first.Message, second.Message);
    }

    [Fact]
    public void Constructor_UnknownTimezone_ThrowsNamingTheKey()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SyslogParser(new SyslogParserOptions { Timezone = "Mars/Olympus_Mons" }));
        Assert.Contains("`timezone`", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UTC", "2022-10-26T15:19:25.000Z")]
    [InlineData("-05:00", "2022-10-26T20:19:25.000Z")]
    [InlineData("+0530", "2022-10-26T09:49:25.000Z")]
    [InlineData("America/New_York", "2022-10-26T19:19:25.000Z")]
    public void ParseEvent_ZonelessBsdTime_UsesConfiguredZone(string zone, string expected)
    {
        var parser = new SyslogParser(new SyslogParserOptions { Timezone = zone });

        LogEvent e = parser.ParseEvent("<164>Oct 26 15:19:25 1.2.3.4 %ASA-4-106023: Deny"u8, new DateTime(2022, 11, 1, 0, 0, 0, DateTimeKind.Utc), null);

        Assert.Equal(expected, LogTimestamp.ToText(e.Timestamp));
    }

    [Fact]
    public void ParseEvent_DecemberMessageReceivedInJanuaryInConfiguredZone_BelongsToPreviousYear()
    {
        // 2023-01-01T03:00Z is still 2022-12-31 in New York: the receive year there is 2022, no rollover.
        var parser = new SyslogParser(new SyslogParserOptions { Timezone = "America/New_York" });

        LogEvent e = parser.ParseEvent("<13>Dec 31 21:00:00 host app: bye"u8, new DateTime(2023, 1, 1, 3, 0, 0, DateTimeKind.Utc), null);

        Assert.Equal("2023-01-01T02:00:00.000Z", LogTimestamp.ToText(e.Timestamp));
    }

    [Fact]
    public void ParseEvent_EveryTruncationOfValidLines_NeverThrowsAndFailuresGetPriority13()
    {
        string[] lines =
        [
            BlogLine,
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"lication\" eventID=\"1011\"][x@1 a=\"b\\]\"] \uFEFFAn application event log entry...",
            "<13>Oct 11 22:14:15.123: h a[12]:m",
            "<13>2022 Oct 11 22:14:15 h a: m",
        ];
        foreach (string text in lines)
        {
            byte[] line = Encoding.UTF8.GetBytes(text);
            for (int length = 0; length <= line.Length; length++)
            {
                LogEvent e = SyslogParser.Default.ParseEvent(line.AsSpan(0, length), ReceivedAt, null);
                if (e.IsParseFailure)
                {
                    Assert.Equal(13, e.Priority);
                }
            }
        }
    }

    [Fact]
    public void ParseEvent_RandomBytes_NeverThrowsAndNeverLosesTheLine()
    {
        var random = new Random(5424);
        byte[] alphabet = "<>0123456789 -:[]\"\\=.TZJanFebOctDec@\uFEFF"u8.ToArray();
        for (int i = 0; i < 20000; i++)
        {
            byte[] line = new byte[random.Next(0, 120)];
            for (int j = 0; j < line.Length; j++)
            {
                line[j] = random.Next(8) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }

            if (random.Next(3) == 0)
            {
                "<13>1 "u8[..Math.Min(6, line.Length)].CopyTo(line);
            }

            LogEvent e = SyslogParser.Default.ParseEvent(line, ReceivedAt, null);

            Assert.InRange(e.Priority, 0, 191);
            Assert.NotNull(e.Message);
            if (e.IsParseFailure)
            {
                Assert.Equal(13, e.Priority);
                Assert.Equal(ReceivedAt, e.Timestamp);
            }
        }
    }

    [Fact]
    public void Labels_MatchLogstashLists()
    {
        string[] facilities = [.. Enumerable.Range(0, 24).Select(f => SyslogFacility.Label(f)!)];
        Assert.Equal(
            ["kernel", "user-level", "mail", "system", "security/authorization", "syslogd", "line printer", "network news", "UUCP", "clock", "security/authorization", "FTP", "NTP", "log audit", "log alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"],
            facilities);
        Assert.Null(SyslogFacility.Label(24));
        Assert.Equal(
            ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"],
            Enumerable.Range(0, 8).Select(s => SyslogSeverity.Label(s)!));
    }
}
