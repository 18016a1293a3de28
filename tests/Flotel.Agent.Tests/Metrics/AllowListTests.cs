using System.Text;
using Flotel.Agent.Metrics;
using Flotel.Model.Manifests;

namespace Flotel.Agent.Tests.Metrics;

// Ported from DW internal/metrics/allow-list_test.go (docs/reference/flotta-device-worker.md §5.8).
public sealed class AllowListTests
{
    [Fact]
    public void Restrictive_ExactNames_KeepsOnlyThoseNames()
    {
        var list = AllowList.Of(["node_memory_Mapped_bytes", "node_disk_io_now"]);
        Assert.True(list.Allows("node_memory_Mapped_bytes"));
        Assert.True(list.Allows("node_disk_io_now"u8));
        Assert.False(list.Allows("node_memory_Mapped_bytes_total"));
        Assert.False(list.Allows("node_memory_mapped_bytes")); // exact, case-sensitive
        Assert.False(list.Allows("node_disk_io_now_seconds"u8));
    }

    [Fact]
    public void Restrictive_EmptyList_BlocksEverything()
    {
        var list = AllowList.Of([]);
        Assert.False(list.Allows("up"));
        Assert.False(list.Allows("node_cpu_frequency_hertz"u8));
        Assert.False(list.AllowsAll);
    }

    [Fact]
    public void Permissive_NullList_KeepsEverything()
    {
        var list = AllowList.OfOrAll(null);
        Assert.True(list.AllowsAll);
        Assert.True(list.Allows(Guid.NewGuid().ToString("N")));
    }

    [Fact]
    public void DefaultSystemList_EachDefaultName_PassesAndOthersAreBlocked()
    {
        var list = AllowList.Of(FlottaDefaults.SystemAllowList);
        Assert.Equal(12, FlottaDefaults.SystemAllowList.Count);
        foreach (var name in FlottaDefaults.SystemAllowList)
        {
            Assert.True(list.Allows(Encoding.UTF8.GetBytes(name)), name);
        }

        Assert.False(list.Allows(Guid.NewGuid().ToString("N")));
    }

    [Fact]
    public void Equality_SameNamesInAnyOrder_AreEqual()
    {
        Assert.Equal(AllowList.Of(["a", "b"]), AllowList.Of(["b", "a"]));
        Assert.NotEqual(AllowList.Of(["a"]), AllowList.Of(["a", "b"]));
        Assert.NotEqual(AllowList.All, AllowList.Of([]));
    }
}
