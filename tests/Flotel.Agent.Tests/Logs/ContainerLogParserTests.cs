using System.Buffers;
using System.Text;
using Flotel.Agent.Logs;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Tests.Logs;

public sealed class ContainerLogParserTests
{
    private static readonly (PodmanStream Stream, string Payload)[] Log =
    [
        (PodmanStream.Stdout, "2026-11-27T13:57:20Z a1\n"),
        (PodmanStream.Stderr, "2026-11-27T13:57:20Z e1\n"),
        (PodmanStream.Stdout, "2026-11-27T13:57:20Z a2\n"),
        (PodmanStream.Stdout, "2026-11-27T13:57:21Z a3\n"),
        (PodmanStream.Stdout, "2026-11-27T13:57:21Z lo"),
        (PodmanStream.Stdout, "2026-11-27T13:57:22Z ng\n"),
        (PodmanStream.Stdout, "2026-11-27T13:57:22Z a4\n"),
    ];

    [Fact]
    public void Accept_FramesWithTimestamps_ReturnsLinesWithStreamAndTime()
    {
        var lines = Run(new ContainerLogParser(LogCursor.Start, 1024), Log, out _);
        Assert.Equal(["out a1", "err e1", "out a2", "out a3", "out long", "out a4"], lines);
    }

    [Fact]
    public void Accept_ResumeFromEverySavedCursor_GivesEachLineExactlyOnce()
    {
        // Run the whole log once, remembering the cursor after each line; resuming from any of them must give exactly
        // the remaining lines (what an agent restart after that line does).
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        var all = new List<string>();
        var cursors = new List<LogCursor>();
        foreach (var (stream, payload) in Log)
        {
            if (parser.Accept(stream, Bytes(payload), out var s, out _, out var message))
            {
                all.Add(Text(s, message));
                cursors.Add(parser.SafeCursor);
            }
        }

        for (int i = 0; i < cursors.Count; i++)
        {
            var rest = Run(new ContainerLogParser(cursors[i], 1024), Log, out _);
            Assert.Equal(all.Skip(i + 1), rest);
        }
    }

    [Fact]
    public void Accept_ResumeWhileALineIsPartial_RepeatsNothingAndLosesNothing()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        for (int i = 0; i < 5; i++)
        {
            parser.Accept(Log[i].Stream, Bytes(Log[i].Payload), out _, out _, out _);
        }

        // "lo" is pending: the safe cursor is still after a3.
        var rest = Run(new ContainerLogParser(parser.SafeCursor, 1024), Log, out _);
        Assert.Equal(["out long", "out a4"], rest);
    }

    [Fact]
    public void Accept_LineLongerThanMax_IsCutAndCounted()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 16);
        Assert.True(parser.Accept(PodmanStream.Stdout, Bytes("2026-11-27T13:57:20Z " + new string('x', 40) + "\n"), out _, out _, out var message));
        Assert.Equal(16, message.Length);
        Assert.Equal(1, parser.TruncatedLines);
    }

    [Fact]
    public void Accept_TimestampWithOffset_IsConvertedToUtc()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 64);
        Assert.True(parser.Accept(PodmanStream.Stdout, Bytes("2022-05-12T16:22:01-04:00 hi\n"), out _, out var ticks, out _));
        Assert.Equal(new DateTime(2022, 5, 12, 20, 22, 1, DateTimeKind.Utc).Ticks, ticks);
    }

    [Fact]
    public void Accept_SameThenNewTimestamp_EachLineGetsItsOwnTime()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 64);
        long[] ticks = new long[4];
        string[] stamps = ["2026-11-27T13:57:20Z", "2026-11-27T13:57:20Z", "2026-11-27T13:57:21Z", "2026-11-27T13:57:20+01:00"];
        for (int i = 0; i < stamps.Length; i++)
        {
            Assert.True(parser.Accept(PodmanStream.Stdout, Bytes(stamps[i] + " x\n"), out _, out ticks[i], out _));
        }

        var at20 = new DateTime(2026, 11, 27, 13, 57, 20, DateTimeKind.Utc).Ticks;
        Assert.Equal([at20, at20, at20 + TimeSpan.TicksPerSecond, at20 - TimeSpan.TicksPerHour], ticks);
        Assert.Equal(new LogCursor(at20 + TimeSpan.TicksPerSecond, 1), parser.SafeCursor);
    }

    [Fact]
    public void Accept_FrameSplitAcrossSegments_SameLinesAsWhole()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        var lines = new List<string>();
        foreach (var (stream, payload) in Log)
        {
            if (parser.Accept(stream, Podman.Sequences.OneBytePerSegment(Encoding.UTF8.GetBytes(payload)), out var s, out _, out var message))
            {
                lines.Add(Text(s, message));
            }
        }

        Assert.Equal(["out a1", "err e1", "out a2", "out a3", "out long", "out a4"], lines);
    }

    private static List<string> Run(ContainerLogParser parser, (PodmanStream Stream, string Payload)[] log, out LogCursor cursor)
    {
        var lines = new List<string>();
        foreach (var (stream, payload) in log)
        {
            if (parser.Accept(stream, Bytes(payload), out var s, out _, out var message))
            {
                lines.Add(Text(s, message));
            }
        }

        cursor = parser.SafeCursor;
        return lines;
    }

    private static string Text(PodmanStream stream, ReadOnlySpan<byte> message) => (stream == PodmanStream.Stdout ? "out " : "err ") + Encoding.UTF8.GetString(message);

    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.UTF8.GetBytes(text));
}
