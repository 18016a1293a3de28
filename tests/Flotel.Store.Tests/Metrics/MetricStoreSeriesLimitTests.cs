using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Store.Tests.Metrics;

/// <summary><see cref="MetricStoreOptions.MaxSeries"/>: new series beyond it are refused and counted, held ones keep flowing.</summary>
public sealed class MetricStoreSeriesLimitTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void AppendRemoteWriteBody_150SeriesWithALimitOf100_First100StoredTheRestRefusedAndCounted()
    {
        using var store = _fixture.Open(configure: o => o.MaxSeries = 100);

        var r = store.AppendRemoteWriteBody(Body(0, 150, T0));

        Assert.Equal(new AppendResult(Appended: 100, OutOfOrder: 0, Duplicate: 0, NewSeries: 100, RefusedSeries: 50, RefusedSamples: 50), r);
        Assert.Equal(100, store.SeriesCount);
        Assert.True(store.AtSeriesLimit);
        Assert.Equal(50, store.RefusedSeriesTotal);
        Assert.Equal(50, store.RefusedSamplesTotal);
        Assert.Empty(store.Select([new LabelMatcher(LabelMatchType.Equal, "i", "120")], long.MinValue, long.MaxValue));
    }

    [Fact]
    public void Append_AtTheLimit_ExistingSeriesStillAcceptedNewOnesRefused()
    {
        using var store = _fixture.Open(configure: o => o.MaxSeries = 100);
        _ = store.AppendRemoteWriteBody(Body(0, 100, T0));

        var existing = store.AppendRemoteWriteBody(Body(0, 100, T0 + 15_000));
        var fresh = store.Append(LabelSet.Of("__name__", "limited", "i", "new"), [new Sample(T0, 1)]);

        Assert.Equal(100, existing.Appended);
        Assert.Equal(0, existing.RefusedSeries);
        Assert.Equal(new AppendResult(0, 0, 0, 0, RefusedSeries: 1, RefusedSamples: 1), fresh);
        Assert.Equal(100, store.SeriesCount);
        Assert.Equal(2, store.Select([new LabelMatcher(LabelMatchType.Equal, "i", "7")], long.MinValue, long.MaxValue)[0].Samples.Length);
    }

    [Fact]
    public void HasSeries_KnownAndUnknownLabels_AnsweredFromTheIndex()
    {
        using var store = _fixture.Open(configure: o => o.MaxSeries = 10);
        _ = store.AppendRemoteWriteBody(Body(0, 10, T0));
        var probe = new SeriesProbe(store);

        _ = RemoteWriteCodec.Decode(Body(5, 12, T0), probe);

        Assert.Equal([true, true, true, true, true, false, false], probe.Known);
    }

    [Fact]
    public async Task Reopen_MoreSeriesOnDiskThanALoweredLimit_AllKeptNewOnesRefused()
    {
        using (var store = _fixture.Open(configure: o => o.MaxSeries = 0))
        {
            _ = store.AppendRemoteWriteBody(Body(0, 20, T0));
            await store.FlushAsync();
        }

        using var reopened = _fixture.Open(configure: o => o.MaxSeries = 10);

        Assert.Equal(20, reopened.SeriesCount);
        Assert.True(reopened.AtSeriesLimit);
        Assert.Equal(1, reopened.AppendRemoteWriteBody(Body(20, 21, T0)).RefusedSeries);
        Assert.Equal(20, reopened.AppendRemoteWriteBody(Body(0, 20, T0 + 15_000)).Appended);
    }

    /// <summary>A remote-write body with series <c>limited{i="from"}</c> … <c>limited{i="to-1"}</c>, one sample each.</summary>
    internal static byte[] Body(int from, int to, long timestampMs)
    {
        var series = new List<TimeSeries>();
        for (var i = from; i < to; i++)
        {
            series.Add(new TimeSeries(LabelSet.Of("__name__", "limited", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), [new Sample(timestampMs, i)]));
        }

        return RemoteWriteCodec.Encode(new WriteRequest(series));
    }

    private sealed class SeriesProbe(ISeriesAdmission admission) : IWriteRequestVisitor
    {
        public List<bool> Known { get; } = [];

        public void BeginSeries(SeriesLabels labels) => Known.Add(admission.HasSeries(labels));

        public void Sample(long timestampMs, double value)
        {
        }

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }
}
