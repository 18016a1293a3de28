namespace Flotel.Pipeline.Diagnostics;

/// <summary>
/// The process's own footprint as metrics, under the names Prometheus client libraries use (<c>process_*</c>) plus
/// the .NET collector's view (<c>dotnet_gc_*</c>): the agent's RSS and CPU are budgets (architecture §8), so an
/// operator can watch them from the receiver, and a growing RSS can be told apart from a growing managed heap.
/// </summary>
public static class ProcessMetrics
{
    /// <summary>Adds the process and GC series to <paramref name="registry"/>; each is read when scraped.</summary>
    public static void Register(MetricsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Gauge("process_resident_memory_bytes", "Resident set size of this process.", () => Environment.WorkingSet);
        registry.ObservedCounter("process_cpu_seconds_total", "User and system CPU time of this process.", () => Environment.CpuUsage.TotalTime.TotalSeconds);
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            var g = generation;
            registry.ObservedCounter("dotnet_gc_collections_total", "Garbage collections of this generation (and younger) since start.", () => GC.CollectionCount(g), ("generation", g.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        registry.Gauge("dotnet_gc_heap_bytes", "Bytes of the managed heap in use (live and not yet collected).", () => GC.GetTotalMemory(forceFullCollection: false));
        registry.Gauge("dotnet_gc_committed_bytes", "Bytes the garbage collector has committed from the OS, at the last collection.", () => GC.GetGCMemoryInfo().TotalCommittedBytes);
        registry.ObservedCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start.", () => GC.GetTotalAllocatedBytes(precise: false));
        registry.ObservedCounter(
            "dotnet_gc_pause_seconds_total",
            "Seconds this process was paused by garbage collections since start.",
            () => GC.GetTotalPauseDuration().TotalSeconds);
        registry.Gauge(
            "dotnet_gc_full_live_bytes",
            "Bytes of objects the last full (generation 2) collection left on the heap: the live heap then.",
            () => LastFullLiveBytes());
    }

    /// <summary>
    /// The heap after the newer of the last blocking and the last background full collection, less its free space: what
    /// survived it. Together with <c>dotnet_gc_committed_bytes</c> it shows the collector's slack (committed beyond the
    /// live heap), which <c>dotnet_gc_heap_bytes</c> cannot, as that also counts garbage not yet collected.
    /// </summary>
    private static long LastFullLiveBytes()
    {
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var last = background.Index > blocking.Index ? background : blocking;
        return last.Index == 0 ? 0 : last.HeapSizeBytes - last.FragmentedBytes;
    }
}
