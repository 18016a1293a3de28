using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>
/// Range queries of range-vector functions (computed per series into step columns, and aggregated from them) against
/// the same expression evaluated as an instant query at each step (the step-by-step path): the same series, the same
/// values bit for bit, the same errors — on random counters with resets, gauges below zero, gaps, NaN and stale markers.
/// </summary>
public sealed class PromEngineRollupColumnsTests
{
    private const long StepMs = 60_000;

    private static readonly string[] Queries =
    [
        "rate(c[5m])", "increase(c[5m])", "delta(g[3m])", "irate(c[2m])", "idelta(g[2m])", "deriv(g[5m])", "changes(g[5m])",
        "resets(c[5m])", "avg_over_time(g[10m])", "min_over_time(g[4m])", "max_over_time(g[4m])", "sum_over_time(g[4m])",
        "count_over_time(c[4m])", "last_over_time(g[4m])", "present_over_time(g[1m])", "stddev_over_time(g[5m])",
        "stdvar_over_time(g[5m])", "rate(c[5m] offset 7m)", "(rate((c[5m])))",
        "sum(rate(c[5m]))", "sum by (mode) (rate(c[5m]))", "avg by (cpu) (avg_over_time(g[10m]))", "count(rate(c[5m]))",
        "min without (cpu) (rate(c[5m]))", "max(max_over_time(g[4m]))", "group by (mode) (rate(c[5m]))",
        "stddev by (mode) (rate(c[5m]))", "stdvar(increase(c[5m]))", "topk(3, rate(c[5m]))", "bottomk(2, rate(c[5m]))",
        "topk by (mode) (2, avg_over_time(g[10m]))", "topk(0, rate(c[5m]))", "sum by (__name__) (rate({__name__=~\"c|g\"}[5m]))",
        "rate({__name__=~\"c|g\"}[5m])", "sum(rate({__name__=~\"c|d\"}[5m]))", "topk(2, rate({__name__=~\"c|d\"}[5m]))",
        "last_over_time({__name__=~\"c|d\"}[5m])", "rate(c[5m]) * 2", "sum(rate(c[5m])) / count(rate(c[5m]))",
        "topk(scalar(count(c)), rate(c[5m]))", "quantile(0.5, rate(c[5m]))", "count_values(\"v\", changes(g[5m]))",
        "max_over_time(rate(c[5m])[10m:1m])", "rate(c[5m]) and on (series) rate(g[5m])",
    ];

    private static readonly Gen<double> Step = Gen.OneOf<double>(Gen.Int[0, 50].Select(i => (double)i), Gen.Double[-5, 5]);

    /// <summary>One series: missing sample positions, value steps, resets, stale marker and NaN positions, never decreasing.</summary>
    private static readonly Gen<(int[] Gaps, double[] Steps, bool Resets, int[] Stale, int[] NaN, bool Monotone)> Series =
        Gen.Select(Gen.Int[0, 200].Array[0, 30], Step.Array[200], Gen.Bool, Gen.Int[0, 200].Array[0, 2], Gen.Int[0, 200].Array[0, 1], Gen.Bool);

    [Fact]
    public void Range_OfRollups_SameAsInstantQueryAtEachStep()
    {
        Series.Array[8].Sample(
            data =>
            {
                using var fixture = new StoreFixture();
                using var store = fixture.Open();
                Fill(store, data);
                foreach (var query in Queries)
                {
                    AssertRangeMatchesInstants(store, query, 0, 200 * 15_000L);
                }
            },
            iter: 12);
    }

    [Fact]
    public void Range_SameLabelsAfterNameDropped_FailsLikeInstantQuery()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        var samples = Enumerable.Range(0, 40).Select(i => new Sample(i * 15_000L, i)).ToArray();
        store.Append(LabelSet.Of("__name__", "c", "job", "x"), samples);
        store.Append(LabelSet.Of("__name__", "d", "job", "x"), samples);
        var range = Assert.Throws<PromQueryException>(() => new PromEngine(store).Range(PromParser.Parse("rate({job=\"x\"}[5m])"), 0, 600_000, StepMs));
        var instant = Assert.Throws<PromQueryException>(() => new PromEngine(store).Instant(PromParser.Parse("rate({job=\"x\"}[5m])"), 600_000));
        Assert.Equal(instant.Message, range.Message);
    }

    private static void Fill(MetricStore store, (int[] Gaps, double[] Steps, bool Resets, int[] Stale, int[] NaN, bool Monotone)[] data)
    {
        string[] names = ["c", "g", "d"];
        for (var s = 0; s < data.Length; s++)
        {
            var (gaps, steps, resets, stale, nan, monotone) = data[s];
            var missing = new HashSet<int>(gaps);
            var samples = new List<Sample>();
            var value = 0.0;
            for (var i = 0; i < steps.Length; i++)
            {
                if (stale.Contains(i) || nan.Contains(i))
                {
                    samples.Add(new Sample(i * 15_000L, stale.Contains(i) ? Sample.StaleMarker : double.NaN));
                    continue;
                }

                var step = monotone ? Math.Abs(steps[i]) : steps[i];
                value = resets && i % 37 == 36 ? Math.Abs(step) : value + step;
                if (!missing.Contains(i))
                {
                    samples.Add(new Sample((i * 15_000L) + (i % 3), value));
                }
            }

            var labels = LabelSet.Of("__name__", names[s % 3], "cpu", (s % 2).ToString(System.Globalization.CultureInfo.InvariantCulture), "mode", s < 4 ? "user" : "idle", "series", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
            store.Append(labels, samples.ToArray());
        }
    }

    private static void AssertRangeMatchesInstants(MetricStore store, string query, long startMs, long endMs)
    {
        var expr = PromParser.Parse(query);
        List<(LabelSet Labels, List<Sample> Points)> range;
        try
        {
            range = new PromEngine(store).Range(expr, startMs, endMs, StepMs);
        }
        catch (PromQueryException ex)
        {
            // The step-by-step evaluation meets the same error at some step.
            var failed = false;
            for (var t = startMs; t <= endMs && !failed; t += StepMs)
            {
                try
                {
                    new PromEngine(store).Instant(expr, t);
                }
                catch (PromQueryException instantError)
                {
                    Assert.Equal(instantError.Message, ex.Message);
                    failed = true;
                }
            }

            Assert.True(failed, query + ": the range query failed (" + ex.Message + ") but no instant query did");
            return;
        }

        var expected = new Dictionary<LabelSet, List<Sample>>();
        for (var t = startMs; t <= endMs; t += StepMs)
        {
            var value = new PromEngine(store).Instant(expr, t);
            foreach (var v in ((VectorValue)value).Samples)
            {
                if (!expected.TryGetValue(v.Labels, out var list))
                {
                    expected[v.Labels] = list = [];
                }

                list.Add(new Sample(t, v.Value));
            }
        }

        Assert.True(expected.Count == range.Count, query + ": " + expected.Count + " series step by step, " + range.Count + " in the range query");
        foreach (var (labels, points) in range)
        {
            Assert.True(expected.TryGetValue(labels, out var want), query + ": unexpected series " + labels);
            Assert.True(want.Count == points.Count, query + " " + labels + ": " + want.Count + " points step by step, " + points.Count + " in the range query");
            for (var i = 0; i < points.Count; i++)
            {
                Assert.Equal(want[i].TimestampMs, points[i].TimestampMs);
                Assert.True(
                    BitConverter.DoubleToInt64Bits(want[i].Value) == BitConverter.DoubleToInt64Bits(points[i].Value),
                    query + " " + labels + " at " + points[i].TimestampMs + ": " + want[i].Value + " step by step, " + points[i].Value + " in the range query");
            }
        }
    }
}
