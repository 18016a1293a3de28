using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotel.Model.Logs;
using Flotel.Wire.Syslog;

namespace Flotel.Wire.Tests.Syslog;

/// <summary>
/// The conformance vectors (ported from the project's shared conformance set, plus the reference's Logstash,
/// syslog_loose/Vector, rsyslog and acceptance cases), one theory row per case.
/// </summary>
public sealed class SyslogConformanceTests
{
    private static readonly LogstashIndexPattern DefaultIndex = LogstashIndexPattern.Parse(LogstashIndexPattern.Default);

    public static TheoryData<string> ParseCaseIds() => [.. SyslogCaseFiles.ParseCases.Keys];

    public static TheoryData<string> FramingCaseIds() => [.. SyslogCaseFiles.FramingCases.Keys];

    [Theory]
    [MemberData(nameof(ParseCaseIds))]
    public void ParseCase_Input_GivesExpectedFields(string id)
    {
        JsonElement c = SyslogCaseFiles.ParseCases[id];
        string input = c.GetProperty("input").GetString()!;

        // A trailing "\n" is framing, not message (conformance README).
        if (input.EndsWith('\n') && !input.StartsWith('\n'))
        {
            input = input[..^1];
        }

        DateTime receivedAt = DateTime.ParseExact(
            c.GetProperty("received_at").GetString()!, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var parser = new SyslogParser(new SyslogParserOptions { Timezone = c.GetProperty("timezone").GetString()! });

        LogEvent e = parser.ParseEvent(Encoding.UTF8.GetBytes(input), receivedAt, "127.0.0.1");

        foreach (JsonProperty expected in c.GetProperty("expect").EnumerateObject())
        {
            AssertField(id, e, expected.Name, expected.Value);
        }
    }

    [Theory]
    [MemberData(nameof(FramingCaseIds))]
    public void FramingCase_Chunks_GiveExpectedFrames(string id)
    {
        JsonElement c = SyslogCaseFiles.FramingCases[id];
        int max = c.TryGetProperty("max_frame_bytes", out JsonElement m) ? m.GetInt32() : SyslogFramer.DefaultMaxFrameBytes;
        string[] chunks = [.. c.GetProperty("chunks").EnumerateArray().Select(x => x.GetString()!)];
        string[] expected = [.. c.GetProperty("expect_frames").EnumerateArray().Select(x => x.GetString()!)];

        var framer = new SyslogFramer(max);
        List<string> frames = FramerDriver.RunText(framer, chunks);

        Assert.Equal(expected, frames);
        if (c.TryGetProperty("expect_discarded", out JsonElement discarded))
        {
            Assert.Equal(discarded.GetInt64(), framer.DiscardedFrames);
        }
    }

    [Theory]
    [MemberData(nameof(FramingCaseIds))]
    public void FramingCase_OneBytePerSegment_GivesSameFrames(string id)
    {
        JsonElement c = SyslogCaseFiles.FramingCases[id];
        int max = c.TryGetProperty("max_frame_bytes", out JsonElement m) ? m.GetInt32() : SyslogFramer.DefaultMaxFrameBytes;
        byte[][] chunks = [.. c.GetProperty("chunks").EnumerateArray().Select(x => Encoding.UTF8.GetBytes(x.GetString()!))];

        List<byte[]> contiguous = FramerDriver.Run(new SyslogFramer(max), chunks);
        List<byte[]> segmented = FramerDriver.Run(new SyslogFramer(max), chunks, oneBytePerSegment: true);

        Assert.Equal(contiguous, segmented);
    }

    private static void AssertField(string id, LogEvent e, string name, JsonElement expected)
    {
        string because = $"case {id}, field {name}";
        switch (name)
        {
            case "priority": AssertInt(expected, e.Priority, because); break;
            case "facility": AssertInt(expected, e.Facility, because); break;
            case "severity": AssertInt(expected, e.Severity, because); break;
            case "facility_label": AssertString(expected, e.FacilityLabel, because); break;
            case "severity_label": AssertString(expected, e.SeverityLabel, because); break;
            case "@timestamp": AssertString(expected, LogTimestamp.ToText(e.Timestamp), because); break;
            case "@version": AssertString(expected, LogEvent.Version, because); break;
            case "timestamp": AssertString(expected, e.TimestampText, because); break;
            case "message": AssertString(expected, e.Message, because); break;
            case "host": AssertString(expected, e.Host, because); break;
            case "logsource": AssertString(expected, e.LogSource, because); break;
            case "program": AssertString(expected, e.Program, because); break;
            case "pid": AssertString(expected, e.Pid, because); break;
            case "msgid": AssertString(expected, e.MsgId, because); break;
            case "device_id": AssertString(expected, e.DeviceId, because); break;
            case "workload": AssertString(expected, e.Workload, because); break;
            case "container_id": AssertString(expected, e.ContainerId, because); break;
            case "_index": AssertString(expected, DefaultIndex.Render(e.Timestamp), because); break;
            case "tags":
                if (expected.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(e.Tags is null, because);
                }
                else
                {
                    Assert.Equal([.. expected.EnumerateArray().Select(t => t.GetString()!)], e.Tags ?? [], StringComparer.Ordinal);
                }

                break;
            case "structured_data":
                if (expected.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(e.StructuredData is null, because);
                }
                else
                {
                    Assert.NotNull(e.StructuredData);
                    var want = expected.EnumerateObject().ToDictionary(
                        p => p.Name,
                        p => p.Value.EnumerateObject().ToDictionary(q => q.Name, q => q.Value.GetString()!));
                    Assert.Equal(want.Keys.Order(StringComparer.Ordinal), e.StructuredData.Keys.Order(StringComparer.Ordinal));
                    foreach ((string sdId, Dictionary<string, string> parameters) in want)
                    {
                        Assert.Equal(parameters.OrderBy(p => p.Key, StringComparer.Ordinal), e.StructuredData[sdId].OrderBy(p => p.Key, StringComparer.Ordinal));
                    }
                }

                break;
            default:
                Assert.Fail($"case {id}: unknown expected field {name}");
                break;
        }
    }

    private static void AssertInt(JsonElement expected, int actual, string because) =>
        Assert.True(expected.GetInt32() == actual, $"{because}: expected {expected.GetInt32()}, got {actual}");

    private static void AssertString(JsonElement expected, string? actual, string because)
    {
        string? want = expected.ValueKind == JsonValueKind.Null ? null : expected.GetString();
        Assert.True(string.Equals(want, actual, StringComparison.Ordinal), $"{because}: expected {Show(want)}, got {Show(actual)}");
    }

    private static string Show(string? s) => s is null ? "<absent>" : "\"" + s + "\"";
}
