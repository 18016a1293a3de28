using Flotel.Pipeline.Queue;

namespace Flotel.Pipeline.Tests.Queue;

public sealed class QueueCursorFileTests
{
    [Fact]
    public void WriteInPlace_ManyWrites_TwoSlotsAndTheNewestWins()
    {
        using var dir = new QueueTestDirectory();
        var path = Path.Combine(dir.Path, "fwd" + QueueCursorFile.Extension);
        using (var file = new QueueCursorFile(path))
        {
            for (long i = 1; i <= 5; i++)
            {
                file.WriteInPlace(i, sync: false);
                Assert.True(QueueCursorFile.TryRead(path, out var committed, out _));
                Assert.Equal(i, committed);
            }
        }

        Assert.Equal(2 * QueueCursorFile.SlotSize, new FileInfo(path).Length);
    }

    [Fact]
    public void TryLoad_NewestSlotTorn_ReturnsThePreviousAndNextWriteSparesIt()
    {
        using var dir = new QueueTestDirectory();
        var path = Path.Combine(dir.Path, "fwd" + QueueCursorFile.Extension);
        using (var file = new QueueCursorFile(path))
        {
            file.WriteInPlace(7, sync: true);
            file.WriteInPlace(8, sync: true);
        }

        // 8 lives in slot 1: tear it as a power cut mid-write would.
        var bytes = File.ReadAllBytes(path);
        bytes[QueueCursorFile.SlotSize + 14] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        using var reopened = new QueueCursorFile(path);
        Assert.True(reopened.TryLoad(out var committed));
        Assert.Equal(7, committed);

        // The next write goes to the torn slot, not over the valid 7.
        reopened.WriteInPlace(9, sync: true);
        Assert.True(QueueCursorFile.TryRead(path, out committed, out var newer));
        Assert.Equal(9, committed);
        Assert.Equal(1, newer);
    }

    [Fact]
    public void WriteReplacing_OverTwoSlots_LeavesOneSlotAndNoTemporaryFile()
    {
        using var dir = new QueueTestDirectory();
        var path = Path.Combine(dir.Path, "fwd" + QueueCursorFile.Extension);
        using var file = new QueueCursorFile(path);
        file.WriteInPlace(3, sync: false);
        file.WriteInPlace(4, sync: false);
        file.Dispose();

        file.WriteReplacing(5, sync: true);

        Assert.Equal(QueueCursorFile.SlotSize, new FileInfo(path).Length);
        Assert.False(File.Exists(path + QueueCursorFile.TemporaryExtension));
        Assert.True(QueueCursorFile.TryRead(path, out var committed, out _));
        Assert.Equal(5, committed);
    }

    [Fact]
    public void TryLoad_NoValidSlot_FalseAndNextWriteGoesToSlot1()
    {
        using var dir = new QueueTestDirectory();
        var path = Path.Combine(dir.Path, "fwd" + QueueCursorFile.Extension);
        File.WriteAllBytes(path, new byte[QueueCursorFile.SlotSize]);
        using var file = new QueueCursorFile(path);

        Assert.False(file.TryLoad(out _));
        file.WriteInPlace(2, sync: false);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(2 * QueueCursorFile.SlotSize, bytes.Length);
        Assert.True(bytes.AsSpan(0, QueueCursorFile.SlotSize).IndexOfAnyExcept((byte)0) < 0);
    }
}
