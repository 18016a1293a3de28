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
    public void SelectSeries_OverTheSeriesLimit_IsNull()
    {
        Assert.Null(_store.SelectSeries(Everything, 0, 100_000, 29, CancellationToken.None));
        Assert.Equal(30, _store.SelectSeries(Everything, 0, 100_000, 30, CancellationToken.None)!.Count);
    }
}
