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
}
