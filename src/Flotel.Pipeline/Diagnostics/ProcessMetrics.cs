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
    }
}
