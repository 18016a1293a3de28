using System.Diagnostics;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Gives the garbage collector's free pages back to the system once the gateway went quiet after a burst of
/// allocation. Between two collections the collector lets the program allocate its whole first-generation budget
/// (16 MiB, docs/benchmarks.md "Gateway memory"), and the pages it allocated into stay resident after the collection
/// for the next round. A busy gateway reuses them at once; after a burst that ends in silence (a fleet connecting and
/// then idling: thousands of connections that each sent a line) they are only cost: at 5,000 idle syslog connections
/// they were most of the gateway's growth (docs/benchmarks.md "Idle syslog connections"). When the process allocated
/// at least <see cref="BurstBytes"/> since the last release and less than <see cref="QuietBytes"/> over the last
/// <see cref="Every"/>, one blocking, compacting collection that decommits what it can (<see cref="GCCollectionMode.Aggressive"/>)
/// runs, followed by a trim of the C heap (<see cref="NativeHeapTrim"/>). Its pauses are kept to about 1 % of the time:
/// after a release taking T, the next one waits at least 100 T. A gateway under steady load never qualifies as quiet;
/// its heap is compacted by the other trigger, <see cref="ManagedHeapCompaction"/>, which the same loop runs.
/// </summary>
internal sealed class ManagedHeapRelease
{
    /// <summary>How often allocation is looked at.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(2);

    /// <summary>Allocated over one <see cref="Every"/> below which the process is quiet (0.5 MiB/s).</summary>
    public const long QuietBytes = 1024 * 1024;

    /// <summary>Allocated since the last release from which a release is worth it: the first-generation budget.</summary>
    public const long BurstBytes = 16 * 1024 * 1024;

    /// <summary>The next release waits at least this many times as long as the last one took.</summary>
    public const int SpacingPerPause = 100;

    private long _allocatedAtRelease;
    private long _allocatedAtCheck = -1;
    private long _notBefore = long.MinValue;

    /// <summary>Releases done so far.</summary>
    public int Releases { get; private set; }

    /// <summary>
    /// Decides from the bytes allocated since start (<paramref name="allocated"/>) and the clock
    /// (<paramref name="now"/>, in the clock's timestamps) whether to release now.
    /// </summary>
    public bool ShouldRelease(long allocated, long now)
    {
        var previous = _allocatedAtCheck;
        _allocatedAtCheck = allocated;
        if (previous < 0)
        {
            _allocatedAtRelease = allocated;
            return false; // the first look only starts the count
        }

        return allocated - previous < QuietBytes && allocated - _allocatedAtRelease >= BurstBytes && now >= _notBefore;
    }

    /// <summary>Records a release that ended at <paramref name="now"/> after <paramref name="took"/> timestamp ticks.</summary>
    public void Released(long allocated, long now, long took)
    {
        Releases++;
        _allocatedAtRelease = allocated;
        _allocatedAtCheck = allocated;
        _notBefore = now + (took * SpacingPerPause);
    }

    /// <summary>
    /// Looks every <see cref="Every"/> until <paramref name="stopping"/>: releases when the process went quiet after a
    /// burst (this class), and every <see cref="ManagedHeapCompaction.Every"/> lets <paramref name="compaction"/> compact
    /// a heap that grew a lot and stopped growing. Both go through <paramref name="compaction"/>, which counts them
    /// (<c>flotel_gc_compactions_total</c>) and restarts its growth count after either.
    /// </summary>
    public static async Task RunAsync(ManagedHeapCompaction compaction, TimeProvider time, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(compaction);
        var release = new ManagedHeapRelease();
        var checksPerGrowthLook = Math.Max(1, (int)(ManagedHeapCompaction.Every / Every));
        for (long check = 1; !stopping.IsCancellationRequested; check++)
        {
            try
            {
                await Task.Delay(Every, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            long took;
            if (release.ShouldRelease(GC.GetTotalAllocatedBytes(), time.GetTimestamp()))
            {
                took = compaction.CompactCounted();
            }
            else if (check % checksPerGrowthLook == 0)
            {
                var before = compaction.CompactingSeconds;
                if (!compaction.CheckNow())
                {
                    continue;
                }

                took = (long)((compaction.CompactingSeconds - before) * Stopwatch.Frequency);
            }
            else
            {
                continue;
            }

            release.Released(GC.GetTotalAllocatedBytes(), time.GetTimestamp(), took * time.TimestampFrequency / Stopwatch.Frequency);
        }
    }
}
