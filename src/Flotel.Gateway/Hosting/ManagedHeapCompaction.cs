using System.Diagnostics;
using System.Runtime;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Compacts the managed heap once it has grown a lot since the last compaction, at most once every
/// <see cref="MinimumSpacing"/>. The gateway allocates little once a fleet is connected (a held long poll allocates
/// nothing while it waits), so the garbage of a burst (thousands of devices enrolling or reconnecting: handshakes,
/// certificates, parsing) is promoted to the oldest generation and stays there, resident, until a full collection
/// runs, and the collector's background collections sweep it into free space that stays committed. Measured at 2,000
/// enrolled devices sending data: ~70 MiB committed beyond the heap in use, given back by one compaction (RSS 435 → 372
/// MiB; docs/benchmarks.md, "Control plane with data").
/// <para>
/// A compacting collection stops the process for as long as it takes to mark and move the live heap (0.22 s for 160 MiB
/// on the 2-core benchmark machine under load); the spacing bounds how often that happens, the growth threshold keeps it
/// from running when the heap merely holds more live data than before.
/// </para>
/// </summary>
internal sealed class ManagedHeapCompaction
{
    /// <summary>How often the heap is looked at (by <see cref="ManagedHeapRelease.RunAsync"/>, which runs both triggers).</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    /// <summary>Least time between two compactions.</summary>
    public static readonly TimeSpan MinimumSpacing = TimeSpan.FromMinutes(2);

    /// <summary>Least growth of the heap in use (live and not yet collected) since the last compaction that starts one.</summary>
    public const long MinimumGrowthBytes = 64L * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly Func<long> _heapBytes;
    private readonly Action _compact;
    private long _baseline;
    private long _previous;
    private DateTimeOffset _last;
    private long _compactions;
    private long _compactingTicks;

    /// <summary>The process's own heap (<see cref="GC.GetTotalMemory(bool)"/>) and collector.</summary>
    public ManagedHeapCompaction(TimeProvider time)
        : this(time, () => GC.GetTotalMemory(forceFullCollection: false), CompactNow)
    {
    }

    /// <summary>For tests: <paramref name="heapBytes"/> reads the heap in use, <paramref name="compact"/> compacts it.</summary>
    internal ManagedHeapCompaction(TimeProvider time, Func<long> heapBytes, Action compact)
    {
        _time = time;
        _heapBytes = heapBytes;
        _compact = compact;
        _baseline = heapBytes();
        _previous = _baseline;
        _last = DateTimeOffset.MinValue;
    }

    /// <summary>Compactions done (<c>flotel_gc_compactions_total</c>).</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>Seconds spent in those compactions, the process paused (<c>flotel_gc_compaction_seconds_total</c>).</summary>
    public double CompactingSeconds => (double)Interlocked.Read(ref _compactingTicks) / Stopwatch.Frequency;

    /// <summary>
    /// Compacts when the heap in use has grown by at least <see cref="MinimumGrowthBytes"/> and by a quarter since the
    /// last compaction (or the start), has grown by less than half of <see cref="MinimumGrowthBytes"/> since the last
    /// check (a burst is over: compacting in its middle would move objects about to die), and
    /// <see cref="MinimumSpacing"/> has passed since the last compaction; true when it did.
    /// </summary>
    public bool CheckNow()
    {
        var now = _time.GetUtcNow();
        var heap = _heapBytes();
        var calm = heap - _previous < MinimumGrowthBytes / 2;
        _previous = heap;
        if (!calm || now - _last < MinimumSpacing || heap - _baseline < Math.Max(MinimumGrowthBytes, _baseline / 4))
        {
            return false;
        }

        _ = CompactCounted();
        return true;
    }

    /// <summary>
    /// Compacts now, whatever the growth (the quiet-after-a-burst trigger of <see cref="ManagedHeapRelease"/>), counts it
    /// and starts the growth count again from the heap left; returns the <see cref="Stopwatch"/> ticks it took.
    /// </summary>
    public long CompactCounted()
    {
        var start = Stopwatch.GetTimestamp();
        _compact();
        var took = Stopwatch.GetTimestamp() - start;
        Interlocked.Add(ref _compactingTicks, took);
        _baseline = _heapBytes();
        _previous = _baseline;
        _last = _time.GetUtcNow();
        Interlocked.Increment(ref _compactions);
        return took;
    }

    /// <summary>
    /// One blocking, compacting collection of every generation and the large-object heap; memory freed goes back to the
    /// OS, and the C heap's free pages after it (<see cref="NativeHeapTrim"/>).
    /// </summary>
    internal static void CompactNow()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _ = NativeHeapTrim.TrimNow();
    }
}
