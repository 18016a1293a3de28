using System.Buffers;
using System.Text;
using Flotel.Gateway.Inputs.Syslog;

namespace Flotel.Gateway.Tests.Inputs;

/// <summary>The per-connection receive buffer: holds an array only while it holds bytes, keeps an unfinished frame across reads.</summary>
public sealed class SyslogReceiveBufferTests
{
    [Fact]
    public void EveryByteConsumed_TheArrayGoesBackToThePool()
    {
        var buffer = new SyslogReceiveBuffer();
        Assert.Equal(0, buffer.Capacity);

        Write(buffer, "<14>one\n", reserve: 4096);
        Assert.True(buffer.Capacity >= 4096);
        buffer.Consume(8);
        Assert.Equal(0, buffer.Count);

        buffer.ReleaseIfEmpty();
        Assert.Equal(0, buffer.Capacity);
        Assert.True(buffer.Unconsumed.IsEmpty);
    }

    [Fact]
    public void UnfinishedFrame_StaysAcrossReads_AndTheArrayIsKeptForIt()
    {
        var buffer = new SyslogReceiveBuffer();
        Write(buffer, "<14>first\n<14>sec", reserve: 16);
        buffer.Consume("<14>first\n".Length);
        buffer.ReleaseIfEmpty();
        Assert.Equal("<14>sec", Text(buffer));

        // The next read goes after the kept bytes, moved to the front or into a larger array.
        Write(buffer, "ond\n" + new string('x', 100), reserve: 200);
        Assert.Equal("<14>second\n" + new string('x', 100), Text(buffer));
    }

    [Fact]
    public void Compacts_WhenTheConsumedStartLeavesRoom()
    {
        var buffer = new SyslogReceiveBuffer();
        Write(buffer, new string('a', 10), reserve: 16);
        var capacity = buffer.Capacity;
        buffer.Consume(8);

        Write(buffer, new string('b', capacity - 4), reserve: capacity - 4);
        Assert.Equal(capacity, buffer.Capacity);
        Assert.Equal("aa" + new string('b', capacity - 4), Text(buffer));
    }

    [Fact]
    public void Release_ReturnsTheArrayEvenWithBytesLeft()
    {
        var buffer = new SyslogReceiveBuffer();
        Write(buffer, "<14>cut off", reserve: 16);
        buffer.Release();
        Assert.Equal(0, buffer.Capacity);
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public void ConsumingOrAdvancingTooMuch_Throws()
    {
        var buffer = new SyslogReceiveBuffer();
        Write(buffer, "abc", reserve: 16);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Consume(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Advance(buffer.Capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Reserve(0));
    }

    private static void Write(SyslogReceiveBuffer buffer, string text, int reserve)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var memory = buffer.Reserve(Math.Max(reserve, bytes.Length));
        Assert.True(memory.Length >= bytes.Length);
        bytes.CopyTo(memory);
        buffer.Advance(bytes.Length);
    }

    private static string Text(SyslogReceiveBuffer buffer) => Encoding.ASCII.GetString(buffer.Unconsumed.ToArray());
}
