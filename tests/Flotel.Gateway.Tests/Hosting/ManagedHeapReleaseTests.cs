using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Hosting;

public sealed class ManagedHeapReleaseTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void ABurstThenQuiet_IsReleasedOnce()
    {
        var release = new ManagedHeapRelease();
        Assert.False(release.ShouldRelease(100 * MiB, now: 0)); // the first look starts the count
        Assert.False(release.ShouldRelease(140 * MiB, now: 2)); // the burst: 40 MiB in one look, not quiet
        Assert.True(release.ShouldRelease(140 * MiB + 1000, now: 4)); // quiet after 40 MiB

        release.Released(141 * MiB, now: 5, took: 0);
        Assert.False(release.ShouldRelease(141 * MiB + 1000, now: 7)); // nothing allocated since
        Assert.False(release.ShouldRelease(142 * MiB, now: 9));
    }

    [Fact]
    public void SteadyAllocation_IsNeverQuiet()
    {
        var release = new ManagedHeapRelease();
        var allocated = 0L;
        for (var now = 0; now < 1000; now += 2)
        {
            allocated += ManagedHeapRelease.QuietBytes; // 0.5 MiB/s: the least a gateway under load allocates is more
            Assert.False(release.ShouldRelease(allocated, now));
        }
    }

    [Fact]
    public void SmallAllocationWhileQuiet_WaitsForABudgetsWorth()
    {
        var release = new ManagedHeapRelease();
        Assert.False(release.ShouldRelease(0, now: 0));
        var allocated = 0L;
        var now = 0L;
        while (allocated + (MiB / 2) < ManagedHeapRelease.BurstBytes)
        {
            allocated += MiB / 2;
            now += 2;
            Assert.False(release.ShouldRelease(allocated, now));
        }

        Assert.True(release.ShouldRelease(allocated + (MiB / 2), now + 2)); // a budget's worth since the start of the count
    }

    [Fact]
    public void ALongRelease_SpacesTheNextOne()
    {
        var release = new ManagedHeapRelease();
        Assert.False(release.ShouldRelease(0, now: 0));
        Assert.False(release.ShouldRelease(50 * MiB, now: 2));
        Assert.True(release.ShouldRelease(50 * MiB, now: 4));
        release.Released(50 * MiB, now: 5, took: 1); // the next one not before 5 + 100 × 1

        Assert.False(release.ShouldRelease(100 * MiB, now: 7));
        Assert.False(release.ShouldRelease(100 * MiB, now: 9)); // quiet after a burst, but too soon
        Assert.False(release.ShouldRelease(100 * MiB, now: 104));
        Assert.True(release.ShouldRelease(100 * MiB, now: 105));
    }

    [Fact]
    public async Task TheLoop_EndsWhenStopped()
    {
        using var stopping = new CancellationTokenSource();
        var time = new FakeTimeProvider();
        var compaction = new ManagedHeapCompaction(time, () => 0, () => { });
        var loop = ManagedHeapRelease.RunAsync(compaction, time, stopping.Token);
        time.Advance(ManagedHeapRelease.Every * 3);

        await stopping.CancelAsync();

        await loop.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(loop.IsCompletedSuccessfully);
    }
}
