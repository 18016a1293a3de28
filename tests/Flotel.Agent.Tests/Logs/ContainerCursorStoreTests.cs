using Flotel.Agent.Logs;

namespace Flotel.Agent.Tests.Logs;

public sealed class ContainerCursorStoreTests : IDisposable
{
    private static readonly string Id = new('b', 64);
    private readonly TempDirectory _temp = new("flotel-cursor-store-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CursorFile_SavesInPlace_LoadReturnsTheNewestEvenUnsynced()
    {
        var store = new ContainerCursorStore(_temp.Path, TimeSpan.FromHours(1), TimeProvider.System);
        using var file = store.Open(Id);
        Assert.Equal(LogCursor.Start, file.Cursor);
        for (int i = 1; i <= 5; i++)
        {
            file.Save(new LogCursor(100, i));

            // What a killed process leaves: every save is in the file, synced or not.
            Assert.Equal(new LogCursor(100, i), store.Load(Id));
        }

        Assert.Equal(2 * ContainerCursorStore.SlotSize, new FileInfo(Path.Combine(_temp.Path, Id + ".cursor")).Length);
    }

    [Fact]
    public void Load_NewestSlotTorn_ReturnsThePreviousCursor()
    {
        var store = new ContainerCursorStore(_temp.Path);
        using (var file = store.Open(Id))
        {
            file.Save(new LogCursor(100, 1));
            file.Save(new LogCursor(200, 2));
        }

        // Generation 3 (the newest) lives in slot 1: tear it as a power cut mid-write would.
        var path = Path.Combine(_temp.Path, Id + ".cursor");
        var bytes = File.ReadAllBytes(path);
        bytes[ContainerCursorStore.SlotSize + 14] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        Assert.Equal(new LogCursor(100, 1), store.Load(Id));
    }

    [Fact]
    public void Open_Version1File_IsReadAndRewrittenAsVersion2()
    {
        Directory.CreateDirectory(_temp.Path);
        var path = Path.Combine(_temp.Path, Id + ".cursor");
        File.WriteAllText(path, "v1 638000000000000000 7\n");
        var store = new ContainerCursorStore(_temp.Path);
        Assert.Equal(new LogCursor(638_000_000_000_000_000, 7), store.Load(Id));

        using (var file = store.Open(Id))
        {
            Assert.Equal(new LogCursor(638_000_000_000_000_000, 7), file.Cursor);
        }

        Assert.StartsWith("FLC2", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path), 0, 4), StringComparison.Ordinal);
        Assert.Equal(new LogCursor(638_000_000_000_000_000, 7), store.Load(Id));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Load_GarbageFile_IsStart()
    {
        Directory.CreateDirectory(_temp.Path);
        File.WriteAllBytes(Path.Combine(_temp.Path, Id + ".cursor"), new byte[100]);
        Assert.Equal(LogCursor.Start, new ContainerCursorStore(_temp.Path).Load(Id));
    }

    [Fact]
    public void WorkloadLogsOptions_OutOfRange_ThrowQuotingTheOption()
    {
        var linger = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkloadLogsOptions { CaptureLinger = TimeSpan.FromSeconds(11) }.Validate());
        Assert.Contains("`CaptureLinger`", linger.Message, StringComparison.Ordinal);
        var sync = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkloadLogsOptions { CursorSyncInterval = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Contains("`CursorSyncInterval`", sync.Message, StringComparison.Ordinal);
        new WorkloadLogsOptions().Validate();
    }
}
