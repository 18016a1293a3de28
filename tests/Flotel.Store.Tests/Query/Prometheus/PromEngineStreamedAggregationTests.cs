using System.Globalization;
using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>
/// Instant aggregations read from the store in batches of series (<see cref="PromEngine.StreamBatchSeries"/>) against the
/// same query over the whole selection at once (a batch size of 0): the same groups in the same order, the same values bit
/// for bit, the same errors — for every streamed operator, with and without by/without, over series spread across many
/// batches, with stale markers, NaN, gaps, series with no sample in range and label values that sort differently as
/// UTF-8 and as UTF-16.
/// </summary>
public sealed class PromEngineStreamedAggregationTests
{
    private const long EndMs = 200 * 15_000L;

    private static readonly string[] Operators = ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"];

    private static readonly string[] Groupings =
    [
        "", " by (mode)", " by (cpu, mode)", " by ()", " without (series)", " without (cpu)", " without ()", " by (__name__)",
        " by (nothing)", " without (__name__, mode)",
    ];

    private static readonly string[] Inputs =
    [
        "c", "g", "{__name__=~\"c|g|d\"}", "rate(c[5m])", "increase(c[5m])", "delta(g[3m])", "irate(c[2m])", "idelta(g[2m])",
        "deriv(g[5m])", "changes(g[5m])", "resets(c[5m])", "avg_over_time(g[10m])", "min_over_time(g[4m])", "max_over_time(g[4m])",
        "sum_over_time(g[4m])", "count_over_time({__name__=~\".+\"}[15m])", "last_over_time({__name__=~\"c|d\"}[4m])",
        "present_over_time(g[1m])", "stddev_over_time(g[5m])", "stdvar_over_time(g[5m])", "rate(c[5m] offset 7m)", "(rate((c[5m])))",
        "g @ 1500", "count_over_time(g[1m] @ 2000)", "rate({mode=\"user\"}[5m])",
    ];

    private static readonly Gen<double> Step = Gen.OneOf<double>(Gen.Int[0, 50].Select(i => (double)i), Gen.Double[-5, 5]);

    /// <summary>One series: missing sample positions, value steps, stale marker and NaN positions, where it may stop.</summary>
    private static readonly Gen<(int[] Gaps, double[] Steps, int[] Stale, int[] NaN, int Until)> Series =
        Gen.Select(Gen.Int[0, 200].Array[0, 30], Step.Array[200], Gen.Int[0, 200].Array[0, 2], Gen.Int[0, 200].Array[0, 1], Gen.Int[1, 200]);

    [Fact]
    public void Instant_StreamedAggregations_SameAsTheWholeSelection()
    {
        Series.Array[25, 40].Sample(
            data =>
            {
                using var fixture = new StoreFixture();
                using var store = fixture.Open();
                Fill(store, data);
                var batches = 0L;
                foreach (var op in Operators)
                {
                    foreach (var grouping in Groupings)
                    {
                        foreach (var input in Inputs)
                        {
                            batches += AssertStreamedMatchesWhole(store, op + grouping + " (" + input + ")", batchSeries: 3);
                        }
                    }
                }

                // Every query but the few that group by the name a function drops read several batches of three.
                Assert.True(batches > Operators.Length * Groupings.Length * Inputs.Length, batches + " batches");
            },
            iter: 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(40)]
    [InlineData(PromEngine.DefaultStreamBatchSeries)]
    public void Instant_AnyBatchSize_SameAsTheWholeSelection(int batchSeries)
    {
        Series.Array[40].Sample(
            data =>
            {
                using var fixture = new StoreFixture();
                using var store = fixture.Open();
                Fill(store, data);
                foreach (var query in new[] { "sum(rate(c[5m]))", "avg by (mode) (g)", "stddev without (series) (avg_over_time(g[10m]))", "count(g)" })
                {
                    AssertStreamedMatchesWhole(store, query, batchSeries);
                }
            },
            iter: 2);
    }

    [Fact]
    public void Instant_SeriesOverManyBatches_ReadsOneBatchAtATime()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 50);
        var engine = new PromEngine(store) { StreamBatchSeries = 8 };

        var value = (VectorValue)engine.Instant(PromParser.Parse("sum(count_over_time(g[10m]))"), 600_000);

        Assert.Equal(50 * 11, Assert.Single(value.Samples).Value);
        Assert.Equal(7, engine.StreamedBatches); // 50 series, 8 at a time
    }

    [Theory]
    [InlineData("sum(g) + 1")]
    [InlineData("sum by (i) (g)")]
    [InlineData("max(g) > bool 1")]
    public void Instant_AggregationInsideAnExpression_Streams(string query)
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        var engine = new PromEngine(store) { StreamBatchSeries = 8 };

        engine.Instant(PromParser.Parse(query), 600_000);

        Assert.Equal(3, engine.StreamedBatches);
        AssertStreamedMatchesWhole(store, query, batchSeries: 8);
    }

    [Theory]
    [InlineData("topk(2, g)")]
    [InlineData("quantile(0.5, g)")]
    [InlineData("count_values(\"v\", g)")]
    [InlineData("sum(g * 2)")]
    [InlineData("sum(quantile_over_time(0.5, g[5m]))")]
    [InlineData("sum(absent_over_time(g[5m]))")]
    [InlineData("sum by (__name__) (rate(g[5m]))")]
    [InlineData("max_over_time(sum(g)[5m:1m])")]
    public void Instant_AggregationThatNeedsMoreThanItsGroups_ReadsTheWholeSelection(string query)
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        var engine = new PromEngine(store) { StreamBatchSeries = 8 };

        engine.Instant(PromParser.Parse(query), 600_000);

        Assert.Equal(0, engine.StreamedBatches);
    }

    [Fact]
    public void Range_Aggregation_IsNotStreamed()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        var engine = new PromEngine(store) { StreamBatchSeries = 8 };

        engine.Range(PromParser.Parse("sum(g)"), 0, 600_000, 60_000);

        Assert.Equal(0, engine.StreamedBatches);
    }

    [Theory]
    [InlineData("sum(g)", 10)]
    [InlineData("sum(count_over_time(g[10m]))", 10)]
    [InlineData("count by (i) (rate(g[5m]))", 1)]
    public void Instant_SampleLimitPassedMidStream_FailsWithTheSameErrorAsTheWholeSelection(string query, int maxSamples)
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        var expr = PromParser.Parse(query);

        var streamed = new PromEngine(store) { StreamBatchSeries = 8, MaxSamples = maxSamples };
        var whole = Assert.Throws<PromQueryException>(() => new PromEngine(store) { StreamBatchSeries = 0, MaxSamples = maxSamples }.Instant(expr, 600_000));
        var ex = Assert.Throws<PromQueryException>(() => streamed.Instant(expr, 600_000));

        Assert.Equal(whole.Message, ex.Message);
        Assert.Equal("samples", ex.Limit);
        Assert.InRange(streamed.StreamedBatches, 1, 2); // refused at the batch that passed the limit: 3 batches hold the 20 series
        Assert.NotEmpty(((VectorValue)new PromEngine(store) { StreamBatchSeries = 8, MaxSamples = 20 }.Instant(expr, 600_000)).Samples);
    }

    [Fact]
    public void Instant_SeriesLimitPassed_FailsBeforeAnyBatchIsRead()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        var expr = PromParser.Parse("count(g)");

        var streamed = new PromEngine(store) { StreamBatchSeries = 8, MaxSeries = 19 };
        var whole = Assert.Throws<PromQueryException>(() => new PromEngine(store) { StreamBatchSeries = 0, MaxSeries = 19 }.Instant(expr, 600_000));
        var ex = Assert.Throws<PromQueryException>(() => streamed.Instant(expr, 600_000));

        Assert.Equal(whole.Message, ex.Message);
        Assert.Equal(0, streamed.StreamedBatches);
        Assert.Equal(20, ((VectorValue)new PromEngine(store) { StreamBatchSeries = 8, MaxSeries = 20 }.Instant(expr, 600_000)).Samples[0].Value);
    }

    [Fact]
    public void Instant_StoppedToken_EndsAStreamedAggregation()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        AppendSeries(store, 20);
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();
        var engine = new PromEngine(store, stopped.Token) { StreamBatchSeries = 8 };

        Assert.Throws<OperationCanceledException>(() => engine.Instant(PromParser.Parse("sum(count_over_time(g[10m]))"), 600_000));
        Assert.Equal(0, engine.SamplesLoaded);
    }

    [Fact]
    public void Instant_LabelValuesThatSortDifferentlyAsUtf8_GroupInTheOrderOfTheWholeSelection()
    {
        // U+FF5E sorts after U+1F600 as UTF-8 (code points) but before it as UTF-16 (0xFF5E < 0xD83D): the store orders
        // series as the engine's label comparison does (v before the unique z decides), so the first group seen, and the
        // sum's rounding, are the same.
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        string[] values = ["a", "\uFF5E", "\U0001F600", "\u00E9", "e", "\uFF5Ex", "\U0001F600a", ""];
        for (var i = 0; i < values.Length * 3; i++)
        {
            var labels = values[i % values.Length].Length == 0
                ? LabelSet.Of("__name__", "g", "z", i.ToString(CultureInfo.InvariantCulture))
                : LabelSet.Of("__name__", "g", "v", values[i % values.Length], "z", i.ToString(CultureInfo.InvariantCulture));
            store.Append(labels, [new Sample(590_000, 0.1 * (i + 1)), new Sample(600_000, 1e16 / (i + 1))]);
        }

        foreach (var query in new[] { "sum(g)", "sum without (z) (g)", "avg by (v) (g)", "group without (z) (g)", "stddev(g)" })
        {
            AssertStreamedMatchesWhole(store, query, batchSeries: 2, timeMs: 600_000);
        }
    }

    private static void AppendSeries(MetricStore store, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var samples = new Sample[11];
            for (var k = 0; k < samples.Length; k++)
            {
                samples[k] = new Sample(k * 60_000L, (i * 10) + k);
            }

            store.Append(LabelSet.Of("__name__", "g", "i", i.ToString(CultureInfo.InvariantCulture)), samples);
        }
    }

    private static void Fill(MetricStore store, (int[] Gaps, double[] Steps, int[] Stale, int[] NaN, int Until)[] data)
    {
        string[] names = ["c", "g", "d"];
        for (var s = 0; s < data.Length; s++)
        {
            var (gaps, steps, stale, nan, until) = data[s];
            var missing = new HashSet<int>(gaps);
            var samples = new List<Sample>();
            var value = 0.0;
            // A quarter of the series stop early: one that stops long before the query's time has no sample in its windows.
            for (var i = 0; i < (s % 4 == 3 ? until : steps.Length); i++)
            {
                if (stale.Contains(i) || nan.Contains(i))
                {
                    samples.Add(new Sample(i * 15_000L, stale.Contains(i) ? Sample.StaleMarker : double.NaN));
                    continue;
                }

                value = s % 3 == 0 && i % 37 == 36 ? Math.Abs(steps[i]) : value + (s % 3 == 0 ? Math.Abs(steps[i]) : steps[i]);
                if (!missing.Contains(i))
                {
                    samples.Add(new Sample((i * 15_000L) + (i % 3), value));
                }
            }

            var labels = LabelSet.Of(
                "__name__", names[s % 3], "cpu", (s % 2).ToString(CultureInfo.InvariantCulture), "mode", s % 5 < 2 ? "user" : "idle",
                "series", s.ToString(CultureInfo.InvariantCulture));
            store.Append(labels, samples.ToArray());
        }
    }

    /// <returns>The batches the streamed query read.</returns>
    private static long AssertStreamedMatchesWhole(MetricStore store, string query, int batchSeries, long timeMs = EndMs)
    {
        var expr = PromParser.Parse(query);
        var streamedEngine = new PromEngine(store) { StreamBatchSeries = batchSeries };
        PromValue whole;
        try
        {
            whole = new PromEngine(store) { StreamBatchSeries = 0 }.Instant(expr, timeMs);
        }
        catch (PromQueryException ex)
        {
            Assert.Equal(ex.Message, Assert.Throws<PromQueryException>(() => streamedEngine.Instant(expr, timeMs)).Message);
            return streamedEngine.StreamedBatches;
        }

        var streamed = streamedEngine.Instant(expr, timeMs);
        if (whole is ScalarValue scalar)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(scalar.Value), BitConverter.DoubleToInt64Bits(((ScalarValue)streamed).Value));
            return streamedEngine.StreamedBatches;
        }

        var want = ((VectorValue)whole).Samples;
        var got = ((VectorValue)streamed).Samples;
        Assert.True(want.Count == got.Count, query + ": " + want.Count + " series whole, " + got.Count + " streamed");
        for (var i = 0; i < want.Count; i++)
        {
            Assert.True(want[i].Labels.Equals(got[i].Labels), query + ": series " + i + " is " + want[i].Labels + " whole, " + got[i].Labels + " streamed");
            Assert.True(
                BitConverter.DoubleToInt64Bits(want[i].Value) == BitConverter.DoubleToInt64Bits(got[i].Value),
                query + " " + want[i].Labels + ": " + want[i].Value + " whole, " + got[i].Value + " streamed");
        }

        return streamedEngine.StreamedBatches;
    }
}
