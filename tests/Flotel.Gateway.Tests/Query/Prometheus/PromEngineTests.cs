using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Store.Metrics;
using Flotel.Gateway.Tests.Store.Metrics;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>Evaluator results against values computed by hand from Prometheus's documented semantics.</summary>
public sealed class PromEngineTests : IDisposable
{
    private readonly StoreFixture _fixture = new();
    private readonly MetricStore _store;

    public PromEngineTests() => _store = _fixture.Open();

    public void Dispose()
    {
        _store.Dispose();
        _fixture.Dispose();
    }

    private void Add(LabelSet labels, params (double Seconds, double Value)[] samples) =>
        _store.Append(labels, samples.Select(s => new Sample((long)(s.Seconds * 1000), s.Value)).ToArray());

    private PromValue Eval(string query, double atSeconds) => new PromEngine(_store).Instant(PromParser.Parse(query), (long)(atSeconds * 1000));

    private List<VectorSample> Vector(string query, double atSeconds) => Assert.IsType<VectorValue>(Eval(query, atSeconds)).Samples;

    private double Single(string query, double atSeconds) => Assert.Single(Vector(query, atSeconds)).Value;

    [Theory]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("-2 ^ 2", -4)]
    [InlineData("10 % 3", 1)]
    [InlineData("-7 % 3", -1)]
    [InlineData("(1 + 2) * 3 / 4", 2.25)]
    [InlineData("2 > bool 1", 1)]
    [InlineData("2 == bool 1", 0)]
    public void Instant_ScalarArithmetic_FollowsPrecedence(string query, double expected)
    {
        Assert.Equal(expected, Assert.IsType<ScalarValue>(Eval(query, 0)).Value);
    }

    [Fact]
    public void Instant_Selector_LooksBackFiveMinutesInclusive()
    {
        Add(LabelSet.Of("__name__", "g"), (100, 7));
        Assert.Equal(7, Single("g", 100));
        Assert.Equal(7, Single("g", 400));
        Assert.Empty(Vector("g", 400.001));
        Assert.Empty(Vector("g", 99.999));
    }

    [Fact]
    public void Instant_StaleMarker_EndsTheSeries()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1), (15, Sample.StaleMarker), (60, 2));
        Assert.Equal(1, Single("g", 14));
        Assert.Empty(Vector("g", 30));
        Assert.Equal(2, Single("g", 61));
        Assert.Equal(2, Single("count_over_time(g[1m])", 60));
    }

    [Fact]
    public void Rate_SamplesCoverWholeRange_IsPlainSlope()
    {
        Add(LabelSet.Of("__name__", "c_total", "job", "x"), (0, 0), (15, 15), (30, 30), (45, 45), (60, 60));
        Assert.Equal(1, Single("rate(c_total[1m])", 60), 12);
        Assert.Equal(60, Single("increase(c_total[1m])", 60), 12);
    }

    [Fact]
    public void Increase_CounterReset_AddsValueBeforeReset()
    {
        // 10 → 20 → 5 → 15: difference 5, plus 20 lost at the reset = 25 over exactly the range.
        Add(LabelSet.Of("__name__", "c_total"), (0, 10), (15, 20), (30, 5), (45, 15));
        Assert.Equal(25, Single("increase(c_total[45s])", 45), 12);
        Assert.Equal(25.0 / 45, Single("rate(c_total[45s])", 45), 12);
    }

    [Fact]
    public void Increase_GapsBelowThreshold_ExtrapolateToBoundariesButNotBelowZero()
    {
        // Samples at 10, 20, 30 s (10, 20, 30); range (0, 40]: 10 s gaps to both ends < 1.1 × 10 s average,
        // and the counter would reach zero exactly at 0 s: 20 × 40/20 = 40.
        Add(LabelSet.Of("__name__", "c_total"), (10, 10), (20, 20), (30, 30));
        Assert.Equal(40, Single("increase(c_total[40s])", 40), 12);
    }

    [Fact]
    public void Increase_GapsAboveThreshold_ExtrapolateHalfAnInterval()
    {
        // Samples at 30 and 40 s (100, 110); range [0, 60]: gaps 30 s and 20 s ≥ 11 s, so each side adds 5 s:
        // 10 × 20/10 = 20.
        Add(LabelSet.Of("__name__", "c_total"), (30, 100), (40, 110));
        Assert.Equal(20, Single("increase(c_total[1m])", 60), 12);
        Assert.Equal(20.0 / 60, Single("rate(c_total[1m])", 60), 12);
    }

    [Fact]
    public void Rate_OneSampleInRange_HasNoResult()
    {
        Add(LabelSet.Of("__name__", "c_total"), (30, 100));
        Assert.Empty(Vector("rate(c_total[1m])", 60));
    }

    [Fact]
    public void Irate_LastTwoSamples_WithResetAsRestartFromZero()
    {
        Add(LabelSet.Of("__name__", "c_total"), (0, 1), (30, 5), (45, 15));
        Assert.Equal(10.0 / 15, Single("irate(c_total[1m])", 50), 12);
        Add(LabelSet.Of("__name__", "c_total"), (60, 3));
        Assert.Equal(3.0 / 15, Single("irate(c_total[1m])", 60), 12);
    }

    [Theory]
    [InlineData("avg_over_time(g[1m])", 3)]
    [InlineData("min_over_time(g[1m])", 1)]
    [InlineData("max_over_time(g[1m])", 5)]
    [InlineData("sum_over_time(g[1m])", 9)]
    [InlineData("count_over_time(g[1m])", 3)]
    [InlineData("last_over_time(g[1m])", 3)]
    public void OverTime_ThreeSamples_AggregatesTheWindow(string query, double expected)
    {
        Add(LabelSet.Of("__name__", "g"), (0, 100), (10, 1), (20, 5), (30, 3));
        Assert.Equal(expected, Single(query, 69.5));
    }

    [Fact]
    public void Functions_DropMetricName_ExceptLastOverTime()
    {
        Add(LabelSet.Of("__name__", "g", "k", "v"), (0, 1), (10, 2));
        Assert.Equal(LabelSet.Of("k", "v"), Assert.Single(Vector("max_over_time(g[1m])", 10)).Labels);
        Assert.Equal(LabelSet.Of("__name__", "g", "k", "v"), Assert.Single(Vector("last_over_time(g[1m])", 10)).Labels);
        Assert.Equal(LabelSet.Of("k", "v"), Assert.Single(Vector("g * 2", 10)).Labels);
        Assert.Equal(LabelSet.Of("__name__", "g", "k", "v"), Assert.Single(Vector("g > 1", 10)).Labels);
        Assert.Equal(LabelSet.Of("k", "v"), Assert.Single(Vector("g > bool 1", 10)).Labels);
    }

    [Fact]
    public void Aggregations_ByAndWithout_GroupLikePrometheus()
    {
        Add(LabelSet.Of("__name__", "m", "job", "a", "i", "1"), (0, 1));
        Add(LabelSet.Of("__name__", "m", "job", "a", "i", "2"), (0, 4));
        Add(LabelSet.Of("__name__", "m", "job", "b", "i", "1"), (0, 10));
        string Show(string q) => string.Join(" ", Vector(q, 1).OrderBy(s => s.Labels.ToString(), StringComparer.Ordinal).Select(s => s.Labels + "=" + s.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal("{job=\"a\"}=5 {job=\"b\"}=10", Show("sum by (job) (m)"));
        Assert.Equal("{job=\"a\"}=5 {job=\"b\"}=10", Show("sum without (i) (m)"));
        Assert.Equal("{i=\"1\"}=5.5 {i=\"2\"}=4", Show("avg(m) by (i)"));
        Assert.Equal("{}=1", Show("min(m)"));
        Assert.Equal("{}=10", Show("max(m)"));
        Assert.Equal("{i=\"1\"}=2 {i=\"2\"}=1", Show("count without (job) (m)"));
    }

    [Fact]
    public void VectorVector_OneToOne_MatchesOnLabelsWithoutName()
    {
        Add(LabelSet.Of("__name__", "a", "k", "1"), (0, 6));
        Add(LabelSet.Of("__name__", "a", "k", "2"), (0, 8));
        Add(LabelSet.Of("__name__", "b", "k", "1"), (0, 3));
        var r = Assert.Single(Vector("a / b", 1));
        Assert.Equal(LabelSet.Of("k", "1"), r.Labels);
        Assert.Equal(2, r.Value);
        Assert.Equal(2, Vector("a - a offset 0s", 1).Count);
    }

    [Fact]
    public void Offset_ShiftsTheEvaluationTime()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1), (600, 2));
        Assert.Equal(1, Single("g offset 10m", 600));
        Assert.Equal(2, Single("g", 600));
    }

    [Fact]
    public void Range_EvaluatesEveryStepAndOmitsMissingPoints()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1), (60, 2));
        var result = new PromEngine(_store).Range(PromParser.Parse("g * 10"), 0, 420_000, 60_000);
        var (labels, points) = Assert.Single(result);
        Assert.Equal(LabelSet.Empty, labels);
        Assert.Equal([0L, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000], points.Select(p => p.TimestampMs));
        Assert.Equal([10.0, 20, 20, 20, 20, 20, 20], points.Select(p => p.Value));
    }

    [Fact]
    public void AggregationOverARangeFunction_KeepsNamesUntilGrouping_LikePrometheus3()
    {
        // Prometheus 2 fails here ("same labelset" once count_over_time drops the names); grouping by labels that do
        // not include __name__ gives the same answer as dropping them first, so the engine keeps them until then.
        Add(LabelSet.Of("__name__", "a", "dev", "1"), (0, 1), (10, 1), (20, 1));
        Add(LabelSet.Of("__name__", "b", "dev", "1"), (0, 2), (10, 2));
        Add(LabelSet.Of("__name__", "c", "dev", "2"), (0, 3));
        var result = Vector("sum by (dev) (count_over_time({dev!=\"\"}[1m]))", 30);
        Assert.Equal([("1", 5.0), ("2", 1.0)], result.Select(r => (r.Labels.TryGetValue("dev", out var d) ? d : "", r.Value)).OrderBy(x => x.Item1));
        Assert.Equal(3.0, Single("count without (dev) (count_over_time({dev!=\"\"}[1m]))", 30));
        Assert.Throws<PromQueryException>(() => Eval("count_over_time({dev=\"1\"}[1m])", 30));
    }

    [Fact]
    public void DuplicateLabelsetAfterDroppingName_IsAnExecutionError()
    {
        Add(LabelSet.Of("__name__", "a", "k", "1"), (0, 1));
        Add(LabelSet.Of("__name__", "b", "k", "1"), (0, 2));
        var ex = Assert.Throws<PromQueryException>(() => Eval("{k=\"1\"} * 2", 1));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal("vector cannot contain metrics with the same labelset", ex.Message);
    }
}
