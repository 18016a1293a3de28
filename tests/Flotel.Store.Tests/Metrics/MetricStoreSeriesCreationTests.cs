using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Metrics;

/// <summary>Series creation and the compact in-memory series: interned labels, no key copy, flushes of changed heads only.</summary>
public sealed class MetricStoreSeriesCreationTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static LabelMatcher Eq(string name, string value) => new(LabelMatchType.Equal, name, value);

    private static LabelSet Device(int device, int metric) => LabelSet.Of(
        "__name__", "fleet_metric_" + metric.ToString(CultureInfo.InvariantCulture),
        "edgedeviceid", "dev-" + device.ToString("D4", CultureInfo.InvariantCulture),
        "job", "node");

    /// <summary>One remote-write protobuf: every device's metrics, one sample each at <paramref name="t"/>.</summary>
    private static byte[] Request(int devices, int metrics, long t)
    {
        var series = new List<TimeSeries>();
        for (var d = 0; d < devices; d++)
        {
            for (var m = 0; m < metrics; m++)
            {
                series.Add(new TimeSeries(Device(d, m), [new Sample(t, (d * 1000) + m)]));
            }
        }

        return WriteRequestEncoder.Encode(new WriteRequest(series));
    }

    [Fact]
    public void Append_SeriesFromSeparateRequests_ShareOneStringPerLabelNameAndValue()
    {
        using var store = _fixture.Open();
        store.Append(Request(devices: 2, metrics: 3, T0));
        store.Append(WriteRequestEncoder.Encode(new WriteRequest([new TimeSeries(Device(7, 0), [new Sample(T0, 1)])])));

        var all = store.Select([Eq("job", "node")], long.MinValue, long.MaxValue);
        Assert.Equal(7, all.Count);
        var first = all[0].Labels;
        foreach (var s in all)
        {
            for (var i = 0; i < s.Labels.Count; i++)
            {
                Assert.Same(first[i].Name, s.Labels[i].Name);
            }

            Assert.Same(first[2].Value, s.Labels[2].Value); // job="node"
        }

        // 3 names, 3 metric names, 3 device ids, "node".
        Assert.Equal(10, store.InternedStrings);
    }

    [Fact]
    public void Append_SameSeriesAgain_FindsItWithoutAKeyCopy_AsciiNonAsciiAndLongValues()
    {
        using var store = _fixture.Open();
        LabelSet[] sets =
        [
            LabelSet.Of("__name__", "m", "site", "Zürich"),
            LabelSet.Of("__name__", "m", "site", "Zurich"),
            LabelSet.Of("__name__", "m", "site", "東京-" + new string('é', 400)),
            LabelSet.Of("__name__", "m", "site", "東京-" + new string('é', 399) + "e"),
            LabelSet.Of("__name__", "m", "site", "plain"),
            LabelSet.Of("__name__", "m", "site", "plai"),
            LabelSet.Of("__name__", "m", "site", "plain", "x", "1"),
        ];
        for (var round = 0; round < 3; round++)
        {
            var series = new List<TimeSeries>();
            foreach (var labels in sets)
            {
                series.Add(new TimeSeries(labels, [new Sample(T0 + (round * 15_000L), round)]));
            }

            var r = store.Append(WriteRequestEncoder.Encode(new WriteRequest(series)));
            Assert.Equal(round == 0 ? sets.Length : 0, r.NewSeries);
            Assert.Equal(sets.Length, r.Appended);
        }

        Assert.Equal(sets.Length, store.SeriesCount);
        foreach (var labels in sets)
        {
            Assert.True(labels.TryGetValue("site", out var site));
            var s = Assert.Single(store.Select([Eq("site", site)], long.MinValue, long.MaxValue), x => x.Labels.Equals(labels));
            Assert.Equal([0.0, 1, 2], s.Samples.Select(x => x.Value));
        }
    }

    [Fact]
    public async Task Flush_WritesOnlyTheHeadsThatTookSamplesSinceTheLastFlush()
    {
        using var store = _fixture.Open();
        store.Append(Request(devices: 50, metrics: 20, T0));
        await store.FlushAsync();
        Assert.Equal(1000, store.FlushedHeadsTotal);

        await store.FlushAsync();
        Assert.Equal(1000, store.FlushedHeadsTotal);

        store.Append(Device(3, 4), [new Sample(T0 + 60_000, 1)]);
        store.Append(Device(9, 9), [new Sample(T0 + 60_000, 2)]);
        await store.FlushAsync();
        Assert.Equal(1002, store.FlushedHeadsTotal);
    }

    [Fact]
    public async Task Reopen_AfterFlushesOfSomeHeads_ReadsTheSameSamplesAndAppendsToTheSameSeries()
    {
        const int devices = 40, metrics = 25;
        Dictionary<LabelSet, Sample[]> expected;
        using (var store = _fixture.Open(configure: o => o.MaxSamplesPerChunk = 4))
        {
            store.Append(Request(devices, metrics, T0));
            await store.FlushAsync();
            // Some series take more samples (closing a chunk of 4 on the way), the others stay as flushed.
            for (var k = 1; k <= 6; k++)
            {
                store.Append(Device(k, k), [new Sample(T0 + (k * 60_000L), k)]);
                store.Append(Device(1, 1), [new Sample(T0 + (k * 60_000L) + 1, -k)]);
            }

            await store.FlushAsync();
            expected = store.Select([Eq("job", "node")], long.MinValue, long.MaxValue).ToDictionary(s => s.Labels, s => s.Samples);
            Assert.Equal(devices * metrics, expected.Count);
        }

        using (var store = _fixture.Open(configure: o => o.MaxSamplesPerChunk = 4))
        {
            Assert.Equal(devices * metrics, store.SeriesCount);
            var read = store.Select([Eq("job", "node")], long.MinValue, long.MaxValue);
            Assert.Equal(expected.Count, read.Count);
            foreach (var s in read)
            {
                Assert.Equal(expected[s.Labels], s.Samples);
            }

            var r = store.Append(Request(devices, metrics, T0 + 3_600_000));
            Assert.Equal(0, r.NewSeries);
            Assert.Equal(devices * metrics, r.Appended);
            Assert.Equal(devices * metrics, store.SeriesCount);
            Assert.Equal(3 + devices + metrics + 1, store.InternedStrings); // names, device ids, metric names, "node"
        }
    }

    [Fact]
    public void ApplyRetention_DeletedSeries_ReleaseTheirLabelStrings()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0));
        using var store = _fixture.Open(time, o => o.RetentionAge = TimeSpan.FromHours(1));
        store.Append(Device(1, 1), [new Sample(T0 - 7_200_000, 1)]);
        store.Append(LabelSet.Of("__name__", "fleet_metric_1", "edgedeviceid", "dev-0002", "job", "node"), [new Sample(T0, 1)]);
        Assert.Equal(7, store.InternedStrings); // 3 names, the metric name, 2 device ids, "node"
        Assert.Equal(1, store.ApplyRetention().SeriesDeleted);

        Assert.Equal(1, store.SeriesCount);
        Assert.Equal(6, store.InternedStrings); // dev-0001 went with its only series
    }

    [Fact]
    public void ApplyRetention_HalfOfManySeries_LookupsAndPostingsOfTheRestStayRight()
    {
        // 3,000 series grow the series hash table twice; "n" is unique per series, "group" shared by a thousand.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0));
        using var store = _fixture.Open(time, o => o.RetentionAge = TimeSpan.FromHours(1));
        static LabelSet Numbered(int n) =>
            LabelSet.Of("__name__", "m", "group", "g" + (n % 3).ToString(CultureInfo.InvariantCulture), "n", n.ToString(CultureInfo.InvariantCulture));
        for (var n = 0; n < 3000; n++)
        {
            store.Append(Numbered(n), [new Sample(n % 2 == 0 ? T0 - 7_200_000 : T0, n)]);
        }

        Assert.Equal(1500, store.ApplyRetention().SeriesDeleted);

        Assert.Equal(1500, store.SeriesCount);
        for (var g = 0; g < 3; g++)
        {
            Assert.Equal(500, store.Series([Eq("group", "g" + g.ToString(CultureInfo.InvariantCulture))], long.MinValue, long.MaxValue).Count);
        }

        for (var n = 0; n < 3000; n++)
        {
            var found = store.Series([Eq("n", n.ToString(CultureInfo.InvariantCulture))], long.MinValue, long.MaxValue);
            if (n % 2 == 0)
            {
                Assert.Empty(found);
            }
            else
            {
                Assert.Equal(Numbered(n), Assert.Single(found));
                Assert.Equal(0, store.Append(Numbered(n), [new Sample(T0 + 1, n)]).NewSeries);
            }
        }

        Assert.Equal(1, store.Append(Numbered(0), [new Sample(T0, 0)]).NewSeries);
        Assert.Equal(1501, store.SeriesCount);
    }

    [Fact]
    public void Open_StoreWithTheFormerPostingsTable_DropsItAndLoadsEverySeries()
    {
        using (var store = _fixture.Open())
        {
            store.Append(Request(devices: 3, metrics: 2, T0));
        }

        var path = Path.Combine(_fixture.DataDirectory, "metrics.db");
        using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "CREATE TABLE postings (name TEXT NOT NULL, value TEXT NOT NULL, series_id INTEGER NOT NULL, "
                + "PRIMARY KEY (name, value, series_id)) WITHOUT ROWID;"
                + "INSERT INTO postings SELECT '__name__', name, id FROM series;";
            cmd.ExecuteNonQuery();
        }

        using (var store = _fixture.Open())
        {
            Assert.Equal(6, store.Select([Eq("job", "node")], long.MinValue, long.MaxValue).Count);
        }

        using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'postings'";
            Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
        }
    }

    [Fact]
    public void LabelNamesAndValues_ReadFromThePairs_HonourMatchersAndRange()
    {
        using var store = _fixture.Open();
        store.Append(LabelSet.Of("__name__", "up", "job", "node", "zone", "a"), [new Sample(T0, 1)]);
        store.Append(LabelSet.Of("__name__", "up", "job", "api"), [new Sample(T0 + 10_000, 1)]);
        store.Append(LabelSet.Of("__name__", "down", "job", "node", "rack", "r1"), [new Sample(T0 + 20_000, 1)]);

        Assert.Equal(["__name__", "job", "rack", "zone"], store.LabelNames([], long.MinValue, long.MaxValue));
        Assert.Equal(["__name__", "job", "zone"], store.LabelNames([Eq("__name__", "up")], long.MinValue, long.MaxValue));
        Assert.Equal(["__name__", "job", "zone"], store.LabelNames([], T0, T0 + 10_000));
        Assert.Equal(["api", "node"], store.LabelValues("job", [], long.MinValue, long.MaxValue));
        Assert.Equal(["a"], store.LabelValues("zone", [], long.MinValue, long.MaxValue));
        Assert.Equal(["node"], store.LabelValues("job", [new LabelMatcher(LabelMatchType.Equal, "zone", "")], T0 + 15_000, long.MaxValue));
        Assert.Empty(store.LabelValues("nothere", [], long.MinValue, long.MaxValue));
        Assert.Empty(store.LabelNames([Eq("job", "none")], long.MinValue, long.MaxValue));
    }
}
