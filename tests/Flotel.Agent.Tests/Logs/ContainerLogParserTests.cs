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

    /// <summary>The same log as <see cref="Log"/>, as conmon's k8s-file holds it (nanosecond stamps, P/F tags).</summary>
    private static readonly string[] FileLog =
    [
        "2026-11-27T14:57:20.100000001+01:00 stdout F a1",
        "2026-11-27T14:57:20.200000000+01:00 stderr F e1",
        "2026-11-27T14:57:20.999999999+01:00 stdout F a2",
        "2026-11-27T14:57:21.000000000+01:00 stdout F a3",
        "2026-11-27T14:57:21.500000000+01:00 stdout P lo",
        "2026-11-27T14:57:22.250000000+01:00 stdout F ng",
        "2026-11-27T14:57:22.250000000+01:00 stdout F a4",
    ];

    [Fact]
    public void AcceptFileEntry_ConmonEntries_PartialsJoinedStreamsAndPreciseTimes()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        var lines = new List<string>();
        var times = new List<long>();
        foreach (var entry in FileLog)
        {
            if (parser.AcceptFileEntry(Encoding.UTF8.GetBytes(entry), out var s, out long ticks, out var message))
            {
                lines.Add(Text(s, message));
                times.Add(ticks);
            }
        }

        Assert.Equal(["out a1", "err e1", "out a2", "out a3", "out long", "out a4"], lines);
        var at20 = new DateTime(2026, 11, 27, 13, 57, 20, DateTimeKind.Utc).Ticks;
        Assert.Equal(at20 + 1_000_000, times[0]);
        Assert.Equal(at20 + 9_999_999, times[2]);

        // A joined line has the time of its first part.
        Assert.Equal(at20 + 15_000_000, times[4]);
    }

    [Fact]
    public void AcceptFileEntry_SameLogAsTheApiStream_SameCursorsAfterEveryLine()
    {
        // Cursors count entries per whole second on both paths, so a cursor saved on one resumes exactly on the other.
        var api = new ContainerLogParser(LogCursor.Start, 1024);
        var file = new ContainerLogParser(LogCursor.Start, 1024);
        for (int i = 0; i < Log.Length; i++)
        {
            bool a = api.Accept(Log[i].Stream, Bytes(Log[i].Payload), out _, out _, out _);
            bool f = file.AcceptFileEntry(Encoding.UTF8.GetBytes(FileLog[i]), out _, out _, out _);
            Assert.Equal(a, f);
            Assert.Equal(api.SafeCursor, file.SafeCursor);
        }
    }

    [Fact]
    public void AcceptFileEntry_ResumeFromEverySavedCursor_GivesEachLineExactlyOnce()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        var all = new List<string>();
        var cursors = new List<LogCursor>();
        foreach (var entry in FileLog)
        {
            if (parser.AcceptFileEntry(Encoding.UTF8.GetBytes(entry), out var s, out _, out var message))
            {
                all.Add(Text(s, message));
                cursors.Add(parser.SafeCursor);
            }
        }

        for (int i = 0; i < cursors.Count; i++)
        {
            var resumed = new ContainerLogParser(cursors[i], 1024);
            var rest = new List<string>();
            foreach (var entry in FileLog)
            {
                if (resumed.AcceptFileEntry(Encoding.UTF8.GetBytes(entry), out var s, out _, out var message))
                {
                    rest.Add(Text(s, message));
                }
            }

            Assert.Equal(all.Skip(i + 1), rest);
        }
    }

    [Fact]
    public void AcceptFileEntry_InterleavedPartialsOfBothStreams_EachJoinedWithItsOwn()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        string[] entries =
        [
            "2026-11-27T13:57:20.1Z stdout P out-",
            "2026-11-27T13:57:20.2Z stderr P err-",
            "2026-11-27T13:57:20.3Z stdout P more-",
            "2026-11-27T13:57:20.4Z stderr F end",
            "2026-11-27T13:57:20.5Z stdout F end",
        ];
        var lines = new List<string>();
        var cursors = new List<LogCursor>();
        foreach (var entry in entries)
        {
            if (parser.AcceptFileEntry(Encoding.UTF8.GetBytes(entry), out var s, out _, out var message))
            {
                lines.Add(Text(s, message));
                cursors.Add(parser.SafeCursor);
            }
        }

        Assert.Equal(["err err-end", "out out-more-end"], lines);

        // While stdout's line was still open the safe cursor stayed before both.
        Assert.Equal([LogCursor.Start, new LogCursor(new DateTime(2026, 11, 27, 13, 57, 20, DateTimeKind.Utc).Ticks, 5)], cursors);
    }

    [Fact]
    public void AcceptFileEntry_EmptyLineAndInvalidUtf8_KeptAsBytes()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        Assert.True(parser.AcceptFileEntry("2026-11-27T13:57:20.1Z stdout F "u8, out _, out _, out var empty));
        Assert.Equal(0, empty.Length);

        byte[] invalid = [.. "2026-11-27T13:57:20.1Z stdout F a"u8, 0xFF, 0xC3, (byte)'b'];
        Assert.True(parser.AcceptFileEntry(invalid, out _, out _, out var message));
        Assert.Equal(new byte[] { (byte)'a', 0xFF, 0xC3, (byte)'b' }, message.ToArray());
    }

    [Theory]
    [InlineData("no timestamp here")]
    [InlineData("2026-11-27T13:57:20.1Z")]
    [InlineData("2026-11-27T13:57:20.1Z stdin F x")]
    [InlineData("2026-11-27T13:57:20.1Z stdout X x")]
    [InlineData("2026-11-27T13:57:20.1Z stdout")]
    [InlineData("2026-13-27T13:57:20.1Z stdout F x")]
    [InlineData("2026-02-30T13:57:20.1Z stdout F x")]
    [InlineData("2026-11-27T13:57:20.1234567890Z stdout F x")]
    [InlineData("2026-11-27T13:57:20.1+1:00 stdout F x")]
    [InlineData("2026-11-27 13:57:20.1Z stdout F x")]
    public void AcceptFileEntry_NotConmonsFormat_SkippedAndCounted(string entry)
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        Assert.False(parser.AcceptFileEntry(Encoding.UTF8.GetBytes(entry), out _, out _, out _));
        Assert.Equal(1, parser.MalformedEntries);
        Assert.Equal(LogCursor.Start, parser.SafeCursor);
    }

    [Fact]
    public void AcceptFileEntry_TagWithMoreFields_FirstFieldDecides()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 1024);
        Assert.False(parser.AcceptFileEntry("2026-11-27T13:57:20.1Z stdout P:x a"u8, out _, out _, out _));
        Assert.True(parser.AcceptFileEntry("2026-11-27T13:57:20.2Z stdout F:y b"u8, out _, out _, out var message));
        Assert.Equal("ab", Encoding.UTF8.GetString(message));
    }

    [Fact]
    public void AcceptFileEntry_PartialsLongerThanMax_JoinedLineCutAndCounted()
    {
        var parser = new ContainerLogParser(LogCursor.Start, 16);
        Assert.False(parser.AcceptFileEntry(Encoding.UTF8.GetBytes("2026-11-27T13:57:20.1Z stdout P " + new string('x', 12)), out _, out _, out _));
        Assert.True(parser.AcceptFileEntry(Encoding.UTF8.GetBytes("2026-11-27T13:57:20.1Z stdout F " + new string('y', 12)), out _, out _, out var message));
        Assert.Equal(new string('x', 12) + "yyyy", Encoding.UTF8.GetString(message));
        Assert.Equal(1, parser.TruncatedLines);
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
