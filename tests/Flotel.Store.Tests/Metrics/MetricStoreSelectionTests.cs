using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;

namespace Flotel.Store.Tests.Metrics;

/// <summary>A selection read in batches (<see cref="MetricStore.SelectSeries"/>, <see cref="MetricStore.SelectBatch"/>) against one read of it all.</summary>
public sealed class MetricStoreSelectionTests : IDisposable
{
    private static readonly LabelMatcher[] Everything = [new(LabelMatchType.RegexMatch, Label.MetricNameLabel, ".+")];

    private readonly StoreFixture _fixture = new();
    private readonly MetricStore _store;

    public MetricStoreSelectionTests()
    {
        _store = _fixture.Open();
        string[] values = ["b", "a", "\uFF5E", "\U0001F600", "\u00E9z", "\u00E9", "aa", "B"];
        for (var i = 0; i < 30; i++)
        {
            var labels = LabelSet.Of(
                "__name__", i % 3 == 0 ? "x" : "y", "v", values[i % values.Length], "z", i.ToString(CultureInfo.InvariantCulture));
            _store.Append(labels, [new Sample(i * 1_000L, i)]);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _fixture.Dispose();
    }

    [Fact]
    public void SelectBatch_AllLabels_SameSeriesInTheEngineLabelOrderAsOneRead()
    {
        var whole = _store.SelectChunks(Everything, 5_000, 100_000)!.Select(s => s.Labels).ToList();
        whole.Sort(PromEngine.CompareLabels);
        var selection = _store.SelectSeries(Everything, 5_000, 100_000, int.MaxValue, CancellationToken.None)!;

        var batched = new List<SeriesChunks>();
        for (var start = 0; start < selection.Count; start += 4)
        {
            _store.SelectBatch(selection, start, Math.Min(4, selection.Count - start), null, batched, CancellationToken.None);
        }

        Assert.Equal(25, whole.Count);
        Assert.Equal(whole, batched.Select(s => s.Labels));
    }

    [Fact]
    public void SelectBatch_NamedLabels_CarriesOnlyThose()
    {
        var selection = _store.SelectSeries(Everything, 0, 100_000, int.MaxValue, CancellationToken.None)!;
        var named = new List<SeriesChunks>();
        var none = new List<SeriesChunks>();

        _store.SelectBatch(selection, 0, selection.Count, ["v", "missing"], named, CancellationToken.None);
        _store.SelectBatch(selection, 0, selection.Count, [], none, CancellationToken.None);

        Assert.All(named, s => Assert.Equal("v", Assert.Single(s.Labels).Name));
        Assert.All(none, s => Assert.Empty(s.Labels));
        Assert.Equal(30, none.Count);
    }

    [Fact]
    public async Task SelectBatch_SelectionLargerThanTheCacheHolds_ReadsItsRowsWithoutCachingThem()
    {
        // Room for 8 small entries: 12 flushed series are read from their rows and not cached, 5 of them are.
        using var fixture = new StoreFixture();
        using var store = fixture.Open(configure: o => o.ChunkCacheBytes = 8 * MetricStore.StreamedSeriesCacheBytes);
        for (var i = 0; i < 12; i++)
        {
            var labels = LabelSet.Of("__name__", "m", "i", i.ToString(CultureInfo.InvariantCulture));
            store.Append(labels, [.. Enumerable.Range(0, 20).Select(k => new Sample(k * 15_000L, k))]);
        }

        await store.FlushAsync();
        var all = store.SelectSeries([new(LabelMatchType.Equal, "__name__", "m")], 0, 300_000, int.MaxValue, CancellationToken.None)!;
        var few = store.SelectSeries([new(LabelMatchType.RegexMatch, "i", "[0-4]")], 0, 300_000, int.MaxValue, CancellationToken.None)!;
        var read = new List<SeriesChunks>();

        store.SelectBatch(all, 0, all.Count, [], read, CancellationToken.None);
        var afterAll = store.ChunkCacheStatistics();
        store.SelectBatch(few, 0, few.Count, [], read, CancellationToken.None);

        Assert.False(all.FillsCache);
        Assert.True(few.FillsCache);
        Assert.Equal((0, 12), (afterAll.Series, afterAll.Misses));
        Assert.Equal(5, store.ChunkCacheStatistics().Series);
        Assert.All(read, s => Assert.Equal(20, s.Decode().Length));
    }

    [Fact]
    public void SelectSeries_OverTheSeriesLimit_IsNull()
    {
        Assert.Null(_store.SelectSeries(Everything, 0, 100_000, 29, CancellationToken.None));
        Assert.Equal(30, _store.SelectSeries(Everything, 0, 100_000, 30, CancellationToken.None)!.Count);
    }
}
