using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

public sealed class DurableQueueIdentityTests
{
    [Fact]
    public async Task Identity_ReopenedDirectory_StaysTheSame()
    {
        using var dir = new QueueTestDirectory();
        var first = DurableQueue.Open(dir.Options());
        var identity = first.Identity;
        await first.AppendAsync(Payload("a"));
        await first.StopAsync();

        await using var second = DurableQueue.Open(dir.Options());

        Assert.Equal(identity, second.Identity);
        Assert.Matches("^[0-9a-f]{32}$", identity);
    }

    [Fact]
    public async Task Identity_WipedDirectory_IsNewAndSequencesStartAgain()
    {
        using var dir = new QueueTestDirectory();
        var first = DurableQueue.Open(dir.Options());
        var identity = first.Identity;
        await first.AppendAsync(Payload("a"));
        await first.AppendAsync(Payload("b"));
        await first.StopAsync();
        Directory.Delete(dir.Path, recursive: true);

        await using var second = DurableQueue.Open(dir.Options());
        await second.AppendAsync(Payload("c"));
        using var reader = second.OpenReader("r");

        Assert.NotEqual(identity, second.Identity);
        Assert.Equal([1L], ReadAll(reader).Select(r => r.Sequence));
    }

    [Fact]
    public async Task Identity_SegmentsAndCursorsDeletedByHand_IsNewThoughTheFileWasKept()
    {
        using var dir = new QueueTestDirectory();
        var first = DurableQueue.Open(dir.Options());
        var identity = first.Identity;
        await first.AppendAsync(Payload("a"));
        using (var reader = first.OpenReader("r"))
        {
            _ = ReadAll(reader);
        }

        await first.StopAsync();
        foreach (var path in Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).Where(p => !p.EndsWith("IDENTITY", StringComparison.Ordinal)))
        {
            File.Delete(path);
        }

        await using var second = DurableQueue.Open(dir.Options());
        await second.AppendAsync(Payload("b"));
        using var again = second.OpenReader("r");

        Assert.NotEqual(identity, second.Identity);
        Assert.Equal([1L], ReadAll(again).Select(r => r.Sequence));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not an identity at all, 33 bytes\n")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF\n")]
    public async Task Identity_DamagedFile_IsReplacedByANewOneThatIsKept(string content)
    {
        using var dir = new QueueTestDirectory();
        Directory.CreateDirectory(dir.Path);
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "IDENTITY"), content);

        var first = DurableQueue.Open(dir.Options());
        var identity = first.Identity;
        await first.StopAsync();
        await using var second = DurableQueue.Open(dir.Options());

        Assert.Matches("^[0-9a-f]{32}$", identity);
        Assert.Equal(identity, second.Identity);
        Assert.Equal(identity + "\n", await File.ReadAllTextAsync(Path.Combine(dir.Path, "IDENTITY")));
    }
}
