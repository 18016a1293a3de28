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
    public void Open_MissingFile_FileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => ConmonLogFile.Open(_dir.Combine("missing.log")));

    /// <summary>Every entry the file holds now (reads until nothing is new).</summary>
    private static List<string> Drain(ConmonLogFile file)
    {
        var entries = new List<string>();
        do
        {
            while (file.TryReadEntry(out var entry))
            {
                entries.Add(Encoding.UTF8.GetString(entry));
            }
        }
        while (file.Fill());

        while (file.TryReadEntry(out var entry))
        {
            entries.Add(Encoding.UTF8.GetString(entry));
        }

        return entries;
    }
}
