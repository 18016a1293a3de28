using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class MemSeriesTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void New_WithItsFirstTwoSamples_IsOneObjectOfAtMost144Bytes()
    {
        // A million of them: the series object with its head's first bytes inline is what each active series costs most.
        const int n = 1000;
        var series = new MemSeries[n];
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++)
        {
            series[i] = new MemSeries(i, i, i);
            series[i].TryAppend(1_700_000_000_000, i);
            series[i].TryAppend(1_700_000_060_000, i * 1.5);
        }

        var perSeries = (GC.GetAllocatedBytesForCurrentThread() - before) / n;
        output.WriteLine($"{perSeries} bytes per series");
        Assert.InRange(perSeries, 1, 144);
        Assert.All(series, s => Assert.True(s.ByteLength <= XorChunkAppender.InlineBytes));
    }

    [Fact]
    public void Spill_AFullHead_DropsItsArrayKeepsItsFirstTimestampAndBeginsANewChunk()
    {
        var series = new MemSeries(1, 1, 1);
        for (var i = 0; i < 480; i++)
        {
            series.TryAppend(1_700_000_000_000 + (i * 15_000), i * 0.37);
        }

        series.SpilledCount = (ushort)series.HeadCount;
        series.Spill();
        var afterSpill = series.ByteLength;
        var before = GC.GetAllocatedBytesForCurrentThread();
        series.TryAppend(1_700_000_000_000 + (480 * 15_000), 1.5);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(XorChunkAppender.HeaderBytes, afterSpill);
        Assert.Equal(0, allocated);
        Assert.Equal(481, series.HeadCount);
        Assert.Equal(1_700_000_000_000, series.FirstTimestamp);
        Assert.Equal(1_700_000_000_000 + (480 * 15_000), series.ChunkFirstTimestamp);
        var it = new XorChunkIterator(series.Bytes);
        Assert.True(it.MoveNext(out var t, out var v));
        Assert.Equal((1_700_000_000_000 + (480 * 15_000), 1.5), (t, v));
        Assert.False(it.MoveNext(out _, out _));
    }
}
