using System.Buffers;
using System.Text;
using Flotel.Agent.Logs;

namespace Flotel.Agent.Tests.Logs;

public sealed class LogRecordTests
{
    [Fact]
    public void WriteThenTryRead_RoundTripsEveryField()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var cursor = new LogCursor(638_000_000_000_000_000, 3);
        int n = LogRecord.Write(buffer, 4, 123, cursor, "random-workload"u8, "abc123"u8, "New message at: x"u8);
        Assert.Equal(LogRecord.SizeOf(15, 6, 17), n);
        Assert.True(LogRecord.TryRead(buffer.WrittenMemory, out var record));
        Assert.Equal(4, record.Severity);
        Assert.Equal(123, record.TimeTicks);
        Assert.Equal(cursor, record.Cursor);
        Assert.Equal("random-workload", record.WorkloadText);
        Assert.Equal("abc123", Encoding.UTF8.GetString(record.Container.Span));
        Assert.Equal("New message at: x", record.MessageText);
    }

    [Fact]
    public void TryRead_TruncatedOrForeignBytes_ReturnsFalse()
    {
        var buffer = new ArrayBufferWriter<byte>();
        LogRecord.Write(buffer, 6, 1, default, "w"u8, "c"u8, "m"u8);
        for (int n = 0; n < LogRecord.FixedHeaderSize + 3; n++)
        {
            Assert.False(LogRecord.TryRead(buffer.WrittenMemory[..n], out _));
        }

        Assert.False(LogRecord.TryRead("<14>hello world, not a record"u8.ToArray(), out _));
    }

    [Fact]
    public void LogCursor_Advance_CountsEntriesPerTimestampAndIgnoresEarlierOnes()
    {
        var c = LogCursor.Start.Advance(10).Advance(10).Advance(12);
        Assert.Equal(new LogCursor(12, 1), c);
        Assert.Equal(new LogCursor(12, 2), c.Advance(12));
        Assert.Equal(c, c.Advance(11));
        Assert.Equal(new LogCursor(12, 2), LogCursor.Max(new LogCursor(12, 2), new LogCursor(12, 1)));
    }

    [Fact]
    public void ContainerCursorStore_SaveThenLoad_ReturnsTheCursorAndUnknownIsStart()
    {
        using var temp = new TempDirectory("flotel-cursors-");
        var dir = temp.Path;
        var store = new ContainerCursorStore(dir);
        var id = new string('a', 64);
        Assert.Equal(LogCursor.Start, store.Load(id));
        store.Save(id, new LogCursor(42, 7));
        Assert.Equal(new LogCursor(42, 7), new ContainerCursorStore(dir).Load(id));
        Assert.Equal([id], store.List());
        Assert.False(File.Exists(Path.Combine(dir, id + ".cursor.tmp")));
        Assert.Throws<ArgumentException>(() => store.Save("../etc/passwd", default));
    }
}
