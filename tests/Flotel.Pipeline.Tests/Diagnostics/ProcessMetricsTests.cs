using System.Globalization;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Pipeline.Tests.Diagnostics;

public sealed class ProcessMetricsTests
{
    [Fact]
    public void Register_AfterACollection_ReportsRssCpuAndGcCountsOfThisProcess()
    {
        var registry = new MetricsRegistry();
        ProcessMetrics.Register(registry);
        GC.Collect(0);
        var text = registry.ToText();

        Assert.Contains("# TYPE process_cpu_seconds_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", text, StringComparison.Ordinal);
        Assert.InRange(Value(text, "process_resident_memory_bytes"), 1 << 20, double.MaxValue);
        Assert.InRange(Value(text, "process_cpu_seconds_total"), double.Epsilon, double.MaxValue);
        Assert.InRange(Value(text, "dotnet_gc_collections_total{generation=\"0\"}"), 1, double.MaxValue);
        Assert.InRange(Value(text, $"dotnet_gc_collections_total{{generation=\"{GC.MaxGeneration}\"}}"), 0, GC.CollectionCount(GC.MaxGeneration));
        Assert.InRange(Value(text, "dotnet_gc_allocated_bytes_total"), 1, double.MaxValue);
        Assert.InRange(Value(text, "dotnet_gc_pause_seconds_total"), double.Epsilon, double.MaxValue);
    }

    [Fact]
    public void Register_AfterAFullCollection_ReportsTheHeapItLeftAsLive()
    {
        var registry = new MetricsRegistry();
        ProcessMetrics.Register(registry);
        var kept = new byte[4 << 20];
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var text = registry.ToText();

        var live = Value(text, "dotnet_gc_full_live_bytes");
        GC.KeepAlive(kept);
        Assert.InRange(live, kept.Length, GC.GetGCMemoryInfo().TotalCommittedBytes);
    }

    private static double Value(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
