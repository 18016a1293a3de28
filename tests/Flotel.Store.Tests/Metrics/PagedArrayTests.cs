using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class PagedArrayTests
{
    [Fact]
    public void PageLength_KeepsEveryPageASmallObject()
    {
        // 85,000 bytes is where the runtime puts an array on the large object heap.
        Assert.Equal(16_384, PagedArray<int>.PageLength);
        Assert.Equal(8_192, PagedArray<object>.PageLength);
        Assert.Equal(4_096, PagedArray<(long, long)>.PageLength);
    }

    [Fact]
    public void Grow_WithinAndPastOnePage_KeepsEveryItem()
    {
        var table = new PagedArray<int>(4);
        Assert.Equal(4, table.Length);
        for (var i = 0; i < 4; i++)
        {
            table[i] = i + 1;
        }

        var n = 0;
        for (var length = 5; length <= 50_000; length += 997)
        {
            table.Grow(length);
            Assert.True(table.Length >= length);
            for (; n < length; n++)
            {
                table[n] = n + 1;
            }
        }

        // Past one page the length is whole pages: 50,000 items take four 16,384-int pages.
        Assert.Equal(4 * 16_384, table.Length);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(i + 1, table[i]);
        }

        Assert.Equal(0, table[table.Length - 1]);
    }

    [Fact]
    public void Grow_SmallerOrEqualLength_ChangesNothing()
    {
        var table = new PagedArray<int>(64);
        table[63] = 7;
        table.Grow(10);
        table.Grow(64);

        Assert.Equal(64, table.Length);
        Assert.Equal(7, table[63]);
    }

    [Fact]
    public void Constructor_PowerOfTwoPastOnePage_HoldsExactlyThatMany()
    {
        var table = new PagedArray<int>(1 << 17);

        Assert.Equal(1 << 17, table.Length);
        table[(1 << 17) - 1] = 3;
        Assert.Equal(3, table[(1 << 17) - 1]);
    }
}
