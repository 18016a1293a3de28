using System.Diagnostics;
using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

public sealed class DurableQueueLockTests
{
    [Fact]
    public async Task Open_DirectoryAlreadyOpen_FailsFastNamingTheDirectoryAndLeavesTheFirstQueueWorking()
    {
        using var dir = new QueueTestDirectory();
        await using var first = DurableQueue.Open(dir.Options());
        await first.AppendAsync(Payload("a"));

        var error = Assert.Throws<IOException>(() => DurableQueue.Open(dir.Options()));

        Assert.Contains("in use by another process", error.Message, StringComparison.Ordinal);
        Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
        await first.AppendAsync(Payload("b"));
        using var reader = first.OpenReader("r");
        Assert.Equal(["a", "b"], ReadAll(reader).Select(Text));
    }

    [Fact]
    public async Task Open_AfterTheFirstQueueStopped_Succeeds()
    {
        using var dir = new QueueTestDirectory();
        var first = DurableQueue.Open(dir.Options());
        await first.AppendAsync(Payload("a"));
        await first.StopAsync();

        await using var second = DurableQueue.Open(dir.Options());
        using var reader = second.OpenReader("r");

        Assert.Equal(["a"], ReadAll(reader).Select(Text));
    }

    [Fact]
    public async Task Open_DirectoryLockedByAnotherProcess_Fails()
    {
        using var dir = new QueueTestDirectory();
        await DurableQueue.Open(dir.Options()).StopAsync(); // creates the lock file

        // flock(1) from util-linux holds the same kind of lock (flock LOCK_EX) from a separate process.
        var info = new ProcessStartInfo("flock") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--exclusive", "--close", Path.Combine(dir.Path, DurableQueue.LockFileName), "sh", "-c", "echo locked; sleep 30" })
        {
            info.ArgumentList.Add(arg);
        }

        using var holder = Process.Start(info)!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());

            var error = Assert.Throws<IOException>(() => DurableQueue.Open(dir.Options()));
            Assert.Contains("in use by another process", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync();
        }

        // The lock goes when the last holder of its file description exits (flock's children inherit it): poll.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                await using var reopened = DurableQueue.Open(dir.Options());
                break;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
