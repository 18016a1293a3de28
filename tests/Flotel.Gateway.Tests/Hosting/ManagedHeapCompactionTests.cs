using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Hosting;

public sealed class ManagedHeapCompactionTests
{
    private const long MiB = 1024 * 1024;

    private readonly FakeTimeProvider _time = new();
    private long _heap = 100 * MiB;
    private long _afterCompaction = 100 * MiB;
    private int _compactions;

    private ManagedHeapCompaction Create() => new(_time, () => _heap, () =>
    {
        _compactions++;
        _heap = _afterCompaction;
    });

    [Fact]
    public void ABurstThatEnded_IsCompactedOnce()
    {
        var compaction = Create();
        _heap = 400 * MiB; // the burst: grew by 300 MiB since the start
        Assert.False(compaction.CheckNow()); // still growing fast at this check
        _heap = 410 * MiB; // calm now
        _afterCompaction = 250 * MiB;

        Assert.True(compaction.CheckNow());

        Assert.Equal(1, _compactions);
        _time.Advance(TimeSpan.FromHours(1));
        _heap = 260 * MiB; // 10 MiB above what stayed live: nothing to do
        Assert.False(compaction.CheckNow());
        Assert.Equal(1, _compactions);
    }

    [Fact]
    public void GrowthBelowTheThreshold_IsLeftToTheCollector()
    {
        var compaction = Create();
        _heap = 150 * MiB; // +50 MiB: under the 64 MiB minimum
        Assert.False(compaction.CheckNow());
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.False(compaction.CheckNow());

        Assert.Equal(0, _compactions);
    }

    [Fact]
    public void ALargeHeap_NeedsAQuarterOfItselfToGrow()
    {
        _heap = _afterCompaction = 1000 * MiB;
        var compaction = Create();
        _heap = 1200 * MiB; // +200 MiB: over 64 MiB, under a quarter
        _ = compaction.CheckNow();
        Assert.False(compaction.CheckNow());
        _heap = 1260 * MiB; // +260 MiB
        _ = compaction.CheckNow();
        _heap = 1270 * MiB;

        Assert.True(compaction.CheckNow());
    }

    [Fact]
    public void Compactions_AreSpacedByTheMinimum()
    {
        var compaction = Create();
        _heap = 300 * MiB;
        _ = compaction.CheckNow();
        Assert.True(compaction.CheckNow());
        _afterCompaction = 100 * MiB;
        _heap = 300 * MiB; // grew again at once (another burst)
        _ = compaction.CheckNow();
        _time.Advance(ManagedHeapCompaction.MinimumSpacing - TimeSpan.FromSeconds(1));
        Assert.False(compaction.CheckNow());
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(compaction.CheckNow());
        Assert.Equal(2, compaction.Compactions);
    }

    [Fact]
    public void TheRealCompaction_CollectsTheOldestGeneration()
    {
        var before = GC.CollectionCount(GC.MaxGeneration);

        ManagedHeapCompaction.CompactNow();

        Assert.True(GC.CollectionCount(GC.MaxGeneration) > before);
    }

    [Fact]
    public void ACompactionFromTheQuietTrigger_IsCountedAndRestartsTheGrowthCount()
    {
        var compaction = Create();
        _heap = 300 * MiB;
        _afterCompaction = 120 * MiB;

        _ = compaction.CompactCounted();

        Assert.Equal(1, _compactions);
        Assert.Equal(1, compaction.Compactions);
        _time.Advance(TimeSpan.FromHours(1));
        _heap = 130 * MiB; // 10 MiB above what the quiet trigger's compaction left
        Assert.False(compaction.CheckNow());
        _heap = 130 * MiB;
        Assert.False(compaction.CheckNow());
    }
}
