using System.Text;
using Flotel.Agent.Logs;

namespace Flotel.Agent.Tests.Logs;

/// <summary>
/// The k8s-file follower against files written the way conmon writes them (<c>src/ctr_logging.c</c>: appends, one
/// <c>writev</c> per read of the container's output, rotation by creating <c>PATH.tmp</c> and renaming it over the
/// path). The real conmon is in the integration tests.
/// </summary>
public sealed class ConmonLogFileTests : IDisposable
{
    private const string Stamp = "2026-11-27T13:57:20.123456789+01:00";
    private readonly TempDirectory _dir = new("flotel-conmon-");

    public void Dispose() => _dir.Dispose();

    private string LogPath => _dir.Combine("ctr.log");

    [Fact]
    public void Read_TornLastLine_HandedOutOnlyOnceItsRestArrives()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n{Stamp} stdout F tw");
        using var file = ConmonLogFile.Open(LogPath);

        Assert.Equal([$"{Stamp} stdout F one"], Drain(file));

        File.AppendAllText(LogPath, "o\n");
        Assert.Equal([$"{Stamp} stdout F two"], Drain(file));
    }

    [Fact]
    public void Read_EntriesSplitAcrossReadsOfASmallBuffer_EveryEntryWhole()
    {
        var expected = Enumerable.Range(1, 50).Select(i => $"{Stamp} stdout F line number {i}").ToList();
        File.WriteAllText(LogPath, string.Concat(expected.Select(e => e + "\n")));
        using var file = ConmonLogFile.Open(LogPath, bufferBytes: 80);

        Assert.Equal(expected, Drain(file));
        Assert.Equal(0, file.OversizedEntries);
    }

    [Fact]
    public void Read_EntryLongerThanTheBuffer_SkippedAndCountedTheNextOneRead()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F before\n{Stamp} stdout F {new string('x', 500)}\n{Stamp} stdout F after\n");
        using var file = ConmonLogFile.Open(LogPath, bufferBytes: 128);

        Assert.Equal([$"{Stamp} stdout F before", $"{Stamp} stdout F after"], Drain(file));
        Assert.Equal(1, file.OversizedEntries);
    }

    [Fact]
    public void Read_TruncatedInPlace_ReadAgainFromTheStartAndCounted()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n{Stamp} stdout F two\n");
        using var file = ConmonLogFile.Open(LogPath);
        Assert.Equal(2, Drain(file).Count);

        using (var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.SetLength(0);
        }

        File.AppendAllText(LogPath, $"{Stamp} stdout F three\n");

        Assert.Equal([$"{Stamp} stdout F three"], Drain(file));
        Assert.Equal(1, file.Truncations);
    }

    [Fact]
    public void Read_RotatedLikeConmon_OldFilesTailThenTheNewFile()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n");
        using var file = ConmonLogFile.Open(LogPath);
        Assert.Single(Drain(file));

        // conmon: the rest of the batch to the old file, then PATH.tmp created empty and renamed over the path.
        File.AppendAllText(LogPath, $"{Stamp} stdout F two\n");
        var tmp = LogPath + ".tmp";
        File.WriteAllText(tmp, $"{Stamp} stdout F three\n");
        File.Move(tmp, LogPath, overwrite: true);
        File.AppendAllText(LogPath, $"{Stamp} stdout F four\n");

        Assert.Equal([$"{Stamp} stdout F two", $"{Stamp} stdout F three", $"{Stamp} stdout F four"], Drain(file));
        Assert.Equal(1, file.Rotations);

        // And nothing twice afterwards.
        Assert.Empty(Drain(file));
        Assert.Equal(1, file.Rotations);
    }

    [Fact]
    public void Read_FileRemoved_NothingMoreAndNoError()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n");
        using var file = ConmonLogFile.Open(LogPath);
        File.Delete(LogPath);

        Assert.Equal([$"{Stamp} stdout F one"], Drain(file));
        Assert.False(file.Fill());
        Assert.Equal(0, file.Rotations);
    }

    [Fact]
    public void Read_NothingNew_FillSaysSoWithoutRotationOrTruncation()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n");
        using var file = ConmonLogFile.Open(LogPath);
        Drain(file);

        for (int i = 0; i < 3; i++)
        {
            Assert.False(file.Fill());
        }

        Assert.Equal(0, file.Rotations + file.Truncations);
    }

    [Fact]
    public void Fill_AfterAReadReachedTheEnd_NextCallWaitsForTheNextPollWithoutReading()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n");
        using var file = ConmonLogFile.Open(LogPath);
        Assert.True(file.Fill());

        // Written after the read: the poll that read "one" reached the end, so the next call says nothing new; the one
        // after it (the next poll) reads "two".
        File.AppendAllText(LogPath, $"{Stamp} stdout F two\n");
        Assert.False(file.Fill());
        Assert.True(file.Fill());
        Assert.True(file.TryReadEntry(out _));
        Assert.True(file.TryReadEntry(out var two));
        Assert.Equal($"{Stamp} stdout F two", Encoding.UTF8.GetString(two));
    }

    [Fact]
    public void Fill_RotatedRightAfterAPollThatReadData_FollowedAtTheNextPollThatFindsNothing()
    {
        File.WriteAllText(LogPath, $"{Stamp} stdout F one\n");
        using var file = ConmonLogFile.Open(LogPath);
        Assert.True(file.Fill());
        Assert.False(file.Fill());
        File.WriteAllText(LogPath + ".tmp", $"{Stamp} stdout F two\n");
        File.Move(LogPath + ".tmp", LogPath, overwrite: true);

        // The file grew in the last poll: its writer was still writing it, no rotation check (no fstat, no /proc look-up).
        Assert.False(file.Fill());
        Assert.Equal(0, file.Rotations);

        // A poll that finds nothing new checks, and follows the new file.
        Assert.True(file.Fill());
        Assert.Equal(1, file.Rotations);
    }

    [Fact]
    public void Open_MissingFile_FileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => ConmonLogFile.Open(_dir.Combine("missing.log")));

    /// <summary>
    /// Every entry the file holds now, read as the reader polls: until three polls in a row find nothing new (a poll that
    /// read data ends at the end of the data; the next one checks for a rotation or truncation and follows it; the one
    /// after that reads the new file).
    /// </summary>
    private static List<string> Drain(ConmonLogFile file)
    {
        var entries = new List<string>();
        int idle = 0;
        while (idle < 3)
        {
            while (file.TryReadEntry(out var entry))
            {
                entries.Add(Encoding.UTF8.GetString(entry));
            }

            idle = file.Fill() ? 0 : idle + 1;
        }

        return entries;
    }
}
