using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

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
    public void AtStartAndEnd_InARangeQuery_PinEveryStepToTheQueryBounds()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1), (60, 2), (120, 3), (180, 4));
        var query = PromParser.Parse("g @ start() + g @ end() * 10");
        var (_, points) = Assert.Single(new PromEngine(_store).Range(query, 60_000, 180_000, 60_000));
        Assert.Equal([42.0, 42, 42], points.Select(p => p.Value));
    }

    [Fact]
    public void Subquery_InARangeQuery_GivesEachStepTheInstantAnswer()
    {
        var samples = Enumerable.Range(0, 60).Select(i => (i * 15.0, (double)(i * i))).ToArray();
        Add(LabelSet.Of("__name__", "c"), samples);
        var query = PromParser.Parse("max_over_time(rate(c[1m])[5m:30s])");
        var (_, points) = Assert.Single(new PromEngine(_store).Range(query, 300_000, 840_000, 60_000));
        foreach (var p in points)
        {
            Assert.Equal(Single("max_over_time(rate(c[1m])[5m:30s])", p.TimestampMs / 1000.0), p.Value, 9);
        }

        Assert.Equal(10, points.Count);
    }

    [Fact]
    public void Subquery_WithMoreStepsThanTheLimit_IsAnExecutionError()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1));
        var ex = Assert.Throws<PromQueryException>(() => Eval("max_over_time(g[1d:1s])", 60));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal(1.0, Single("max_over_time(g[3h:1s])", 60));
    }

    [Fact]
    public void Subquery_HoldingMoreSamplesThanTheLimit_IsAnExecutionError()
    {
        for (var i = 0; i < 1_001; i++)
        {
            Add(LabelSet.Of("__name__", "g", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), (0, 1));
        }

        // 1,001 series × 10,001 steps: over ten million samples in one window.
        var ex = Assert.Throws<PromQueryException>(() => Eval("count_over_time(last_over_time(g[1d])[10000s:1s])", 10_000));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal(1_001, Vector("count_over_time(last_over_time(g[1d])[100s:1s])", 10_000).Count);
    }

    [Theory]
    [InlineData("year(vector(1e20))")]
    [InlineData("month(vector(-1e20))")]
    [InlineData("hour(vector(NaN))")]
    public void DateFunction_OfATimeOutOfRange_IsNaN(string query) => Assert.True(double.IsNaN(Single(query, 0)));

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

    private string Show(string query, double atSeconds) => string.Join(" ", Vector(query, atSeconds)
        .Select(s => s.Labels + "=" + s.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private string ShowSorted(string query, double atSeconds) => string.Join(" ", Vector(query, atSeconds)
        .OrderBy(s => s.Labels.ToString(), StringComparer.Ordinal)
        .Select(s => s.Labels + "=" + s.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private void AddJobs()
    {
        Add(LabelSet.Of("__name__", "req", "job", "api", "instance", "a"), (0, 10));
        Add(LabelSet.Of("__name__", "req", "job", "db", "instance", "a"), (0, 20));
        Add(LabelSet.Of("__name__", "req", "job", "api", "instance", "b"), (0, 30));
        Add(LabelSet.Of("__name__", "info", "instance", "a", "version", "1.0"), (0, 1));
        Add(LabelSet.Of("__name__", "info", "instance", "b", "version", "2.0"), (0, 1));
    }

    [Fact]
    public void SetOperators_AndOrUnless_MatchOnLabelsAndKeepNames()
    {
        AddJobs();
        Assert.Equal("{__name__=\"req\", instance=\"a\", job=\"api\"}=10 {__name__=\"req\", instance=\"a\", job=\"db\"}=20", ShowSorted("req and on (instance) info{version=\"1.0\"}", 1));
        Assert.Equal("{__name__=\"req\", instance=\"b\", job=\"api\"}=30", ShowSorted("req unless on (instance) info{version=\"1.0\"}", 1));
        Assert.Equal("{__name__=\"req\", instance=\"a\", job=\"db\"}=20 {__name__=\"req\", instance=\"b\", job=\"api\"}=30", Show("req{job=\"db\"} or on (instance) req", 1));
        // on () puts every element in one match group: vector(0) only fills in when the left side is empty.
        Assert.Equal("{__name__=\"req\", instance=\"b\", job=\"api\"}=30", Show("req{instance=\"b\"} or on () vector(0)", 1));
        Assert.Equal("{}=0", Show("req{instance=\"z\"} or on () vector(0)", 1));
        Assert.Empty(Vector("req and req{job=\"none\"}", 1));
        Assert.Equal(3, Vector("req unless req{job=\"none\"}", 1).Count);

        // and/unless bind tighter than or: a or (b and c).
        Assert.Equal(3, Vector("req{job=\"api\"} or req{job=\"db\"} and req{instance=\"a\"}", 1).Count);
        Assert.Equal(2, Vector("(req{job=\"api\"} or req{job=\"db\"}) and req{instance=\"a\"}", 1).Count);
    }

    [Fact]
    public void GroupLeft_IncludeLabels_AreCopiedFromTheOneSide()
    {
        AddJobs();
        Assert.Equal(
            "{instance=\"a\", job=\"api\", version=\"1.0\"}=10 {instance=\"a\", job=\"db\", version=\"1.0\"}=20 {instance=\"b\", job=\"api\", version=\"2.0\"}=30",
            ShowSorted("req * on (instance) group_left (version) info", 1));
        Assert.Equal(
            "{instance=\"a\", job=\"api\"}=10 {instance=\"a\", job=\"db\"}=20 {instance=\"b\", job=\"api\"}=30",
            ShowSorted("info * on (instance) group_right req", 1));

        // A comparison filters the "many" side and keeps its name; the include label is still added.
        Assert.Equal("{__name__=\"req\", instance=\"b\", job=\"api\", version=\"2.0\"}=30", ShowSorted("req > on (instance) group_left (version) (info * 25)", 1));
    }

    [Fact]
    public void GroupLeft_DuplicateSeriesOnTheOneSide_IsManyToManyExecutionError()
    {
        AddJobs();
        var ex = Assert.Throws<PromQueryException>(() => Eval("info * on (instance) group_left req", 1));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal(422, ex.HttpStatusCode);
        Assert.StartsWith("found duplicate series for the match group {instance=\"a\"} on the right hand-side of the operation: [", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("];many-to-many matching not allowed: matching labels must be unique on one side", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<PromQueryException>(() => Eval("req * on (instance) group_right info", 1));
        Assert.Contains("on the left hand-side of the operation", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OneToOne_SeveralLeftSeriesMatchOne_IsExecutionErrorAskingForGroupLeft()
    {
        AddJobs();
        var ex = Assert.Throws<PromQueryException>(() => Eval("req * on (instance) info", 1));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)", ex.Message);
    }

    [Fact]
    public void GroupLeft_ResultLabelsNotUnique_IsExecutionError()
    {
        AddJobs();
        var ex = Assert.Throws<PromQueryException>(() => Eval("req * on (instance) group_left (job) label_replace(info, \"job\", \"x\", \"\", \"\")", 1));
        Assert.Equal("multiple matches for labels: grouping labels must ensure unique matches", ex.Message);
    }

    [Fact]
    public void VectorMatching_OneSideEmpty_IsEmptyWithoutCheckingTheOther()
    {
        AddJobs();
        Assert.Empty(Vector("info{instance=\"none\"} * on (instance) req", 1));
    }

    [Fact]
    public void Topk_Ties_KeepTheFirstSeriesInLabelOrder()
    {
        AddJobs();
        Assert.Equal("{__name__=\"info\", instance=\"a\", version=\"1.0\"}=1", Show("topk(1, info)", 1));
        Assert.Equal("{__name__=\"info\", instance=\"a\", version=\"1.0\"}=1", Show("bottomk(1, info)", 1));
        Assert.Equal("{__name__=\"req\", instance=\"b\", job=\"api\"}=30 {__name__=\"req\", instance=\"a\", job=\"db\"}=20", Show("topk(2.9, req)", 1));
        Assert.Equal("{__name__=\"req\", instance=\"a\", job=\"api\"}=10 {__name__=\"req\", instance=\"a\", job=\"db\"}=20", Show("bottomk by (job) (1, req)", 1));
        Assert.Empty(Vector("topk(0.5, req)", 1));
    }

    [Theory]
    [InlineData("quantile(0.5, req)", 20)]
    [InlineData("quantile(0.75, req)", 25)]
    [InlineData("quantile(0, req)", 10)]
    [InlineData("quantile(1.5, req)", double.PositiveInfinity)]
    [InlineData("quantile(-1, req)", double.NegativeInfinity)]
    [InlineData("stdvar(req)", 200.0 / 3)]
    [InlineData("group(req)", 1)]
    public void Aggregation_WithParameterOrStatistic_MatchesTheDocumentedDefinition(string query, double expected)
    {
        AddJobs();
        Assert.Equal(expected, Single(query, 1), 12);
    }

    [Fact]
    public void CountValues_CountsEachValueUnderTheNamedLabel()
    {
        AddJobs();
        Add(LabelSet.Of("__name__", "req", "job", "db", "instance", "b"), (0, 10));
        Assert.Equal("{v=\"10\"}=2 {v=\"20\"}=1 {v=\"30\"}=1", ShowSorted("count_values(\"v\", req)", 1));
        Assert.Equal("{job=\"api\", v=\"10\"}=1 {job=\"api\", v=\"30\"}=1 {job=\"db\", v=\"10\"}=1 {job=\"db\", v=\"20\"}=1", ShowSorted("count_values by (job) (\"v\", req)", 1));
        var ex = Assert.Throws<PromQueryException>(() => Eval("count_values(\"1bad\", req)", 1));
        Assert.Equal("execution", ex.ErrorType);
    }

    [Theory]
    [InlineData("round(g, 0.5)", 2.5)]
    [InlineData("round(g)", 2)]
    [InlineData("round(g + 0.1)", 3)]
    [InlineData("ceil(g)", 3)]
    [InlineData("floor(g)", 2)]
    [InlineData("abs(-g)", 2.4)]
    [InlineData("clamp(g, 0, 1)", 1)]
    [InlineData("clamp_min(g, 5)", 5)]
    [InlineData("clamp_max(g, 1)", 1)]
    [InlineData("sqrt(g * g)", 2.4)]
    [InlineData("log2(g * 0 + 8)", 3)]
    [InlineData("timestamp(g)", 5)]
    [InlineData("timestamp(g * 1)", 100)]
    public void MathFunctions_ApplyToEachElementAndDropTheName(string query, double expected)
    {
        Add(LabelSet.Of("__name__", "g", "k", "v"), (5, 2.4));
        var r = Assert.Single(Vector(query, 100));
        Assert.Equal(expected, r.Value, 12);
        Assert.Equal(LabelSet.Of("k", "v"), r.Labels);
    }

    [Fact]
    public void Clamp_MinAboveMax_SelectsNothing()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1));
        Assert.Empty(Vector("clamp(g, 2, 1)", 1));
    }

    [Fact]
    public void ScalarTimeVector_ConvertBetweenTypes()
    {
        Add(LabelSet.Of("__name__", "g", "k", "1"), (0, 4));
        Assert.Equal(4, Assert.IsType<ScalarValue>(Eval("scalar(g)", 1)).Value);
        Assert.True(double.IsNaN(Assert.IsType<ScalarValue>(Eval("scalar(nothing)", 1)).Value));
        Assert.Equal(12.5, Assert.IsType<ScalarValue>(Eval("time()", 12.5)).Value);
        Assert.Equal("{}=12.5", Show("vector(time())", 12.5));
        Assert.Equal("{k=\"1\"}=8", Show("g * scalar(g) / 2", 1));
    }

    [Fact]
    public void Absent_EmptyInput_TakesLabelsFromEqualityMatchers()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 4));
        Assert.Empty(Vector("absent(g)", 1));
        Assert.Equal("{job=\"x\"}=1", Show("absent(nothing{job=\"x\", instance=~\"a.*\"})", 1));
        Assert.Equal("{}=1", Show("absent(nothing{job=\"x\", job=\"y\"})", 1));
        Assert.Equal("{job=\"x\"}=1", Show("absent((nothing{job=\"x\"}))", 1));
        Assert.Equal("{}=1", Show("absent(sum(nothing{job=\"x\"}))", 1));
    }

    [Fact]
    public void LabelReplace_GoTemplateSyntax_ExpandsGroupsByNumberAndName()
    {
        Add(LabelSet.Of("__name__", "g", "instance", "host-1:9100"), (0, 1));
        string Label(string query, string name) => Assert.Single(Vector(query, 1)).Labels.TryGetValue(name, out var v) ? v : "<none>";

        Assert.Equal("host-1", Label("label_replace(g, \"host\", \"$1\", \"instance\", \"(.*):.*\")", "host"));
        Assert.Equal("9100/host", Label("label_replace(g, \"x\", \"${port}/$h\", \"instance\", \"(?P<h>[a-z]+)-(\\\\d):(?P<port>\\\\d+)\")", "x"));
        Assert.Equal("1-", Label("label_replace(g, \"x\", \"$2-$1x\", \"instance\", \"(host)-(\\\\d).*\")", "x"));
        Assert.Equal("$", Label("label_replace(g, \"x\", \"$$\", \"instance\", \".*\")", "x"));
        Assert.Equal("<none>", Label("label_replace(g, \"x\", \"$1\", \"instance\", \"no(.*)\")", "x"));
        Assert.Equal("g", Label("label_replace(g, \"x\", \"$1\", \"instance\", \"no(.*)\")", "__name__"));
        Assert.Equal("<none>", Label("label_replace(g, \"instance\", \"\", \"instance\", \".*\")", "instance"));
        var ex = Assert.Throws<PromQueryException>(() => Eval("label_replace(g, \"x\", \"\", \"instance\", \"(\")", 1));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal("invalid regular expression in label_replace(): (", ex.Message);
        ex = Assert.Throws<PromQueryException>(() => Eval("label_replace(g, \"bad-name\", \"\", \"instance\", \".*\")", 1));
        Assert.Equal("invalid destination label name in label_replace(): bad-name", ex.Message);
    }

    [Fact]
    public void LabelJoin_JoinsSourcesWithSeparator()
    {
        Add(LabelSet.Of("__name__", "g", "a", "x", "b", "y"), (0, 1));
        Assert.Equal("{__name__=\"g\", a=\"x\", ab=\"x-y-\", b=\"y\"}=1", Show("label_join(g, \"ab\", \"-\", \"a\", \"b\", \"c\")", 1));
    }

    [Fact]
    public void Sort_OrdersByValueAndKeepsNames()
    {
        AddJobs();
        Assert.Equal([10.0, 20, 30], Vector("sort(req)", 1).Select(s => s.Value));
        Assert.Equal([30.0, 20, 10], Vector("sort_desc(req)", 1).Select(s => s.Value));
        Assert.All(Vector("sort(req)", 1), s => Assert.Equal("req", s.Labels.MetricName));
    }

    [Fact]
    public void HistogramQuantile_ClassicBuckets_InterpolatesLikeTheDocumentation()
    {
        // 10 observations: 4 ≤ 0.1, 8 ≤ 0.5, 10 ≤ +Inf.
        Add(LabelSet.Of("__name__", "h_bucket", "job", "x", "le", "0.1"), (0, 4));
        Add(LabelSet.Of("__name__", "h_bucket", "job", "x", "le", "0.5"), (0, 8));
        Add(LabelSet.Of("__name__", "h_bucket", "job", "x", "le", "+Inf"), (0, 10));
        Assert.Equal("{job=\"x\"}=0.05", Show("histogram_quantile(0.2, h_bucket)", 1));           // lowest bucket: from 0
        Assert.Equal(0.3, Single("histogram_quantile(0.6, h_bucket)", 1), 12);                  // 0.1 + 0.4 × (2/4)
        Assert.Equal(0.5, Single("histogram_quantile(0.95, h_bucket)", 1), 12);                 // +Inf bucket: second highest bound
        Assert.Equal(double.PositiveInfinity, Single("histogram_quantile(1.01, h_bucket)", 1));
        Assert.Equal(double.NegativeInfinity, Single("histogram_quantile(-1, h_bucket)", 1));
        Assert.True(double.IsNaN(Single("histogram_quantile(0.5, h_bucket{le!=\"+Inf\"})", 1)));
        Assert.True(double.IsNaN(Single("histogram_quantile(0.5, h_bucket * 0)", 1)));
    }

    [Fact]
    public void HistogramQuantile_NonMonotonicBuckets_AreRepaired()
    {
        Add(LabelSet.Of("__name__", "h_bucket", "le", "1"), (0, 6));
        Add(LabelSet.Of("__name__", "h_bucket", "le", "2"), (0, 5));
        Add(LabelSet.Of("__name__", "h_bucket", "le", "+Inf"), (0, 6));
        Assert.Equal(0.5, Single("histogram_quantile(0.5, h_bucket)", 1), 12);
    }

    [Theory]
    [InlineData("delta(g[1m])", 20)]
    [InlineData("idelta(g[1m])", -10)]
    [InlineData("changes(g[1m])", 3)]
    [InlineData("resets(g[1m])", 1)]
    [InlineData("present_over_time(g[1m])", 1)]
    [InlineData("quantile_over_time(0.5, g[1m])", 15)]
    [InlineData("stdvar_over_time(g[1m])", 125)]
    public void RangeFunctions_FourSamples_MatchTheDocumentedDefinitions(string query, double expected)
    {
        // Samples 0, 10, 30, 20 at 0, 20, 40, 60 s span the whole range [0, 60], so delta needs no extrapolation.
        Add(LabelSet.Of("__name__", "g"), (0, 0), (20, 10), (40, 30), (60, 20));
        Assert.Equal(expected, Single(query, 60), 9);
    }

    [Fact]
    public void DerivAndPredictLinear_LinearSeries_FollowTheLine()
    {
        Add(LabelSet.Of("__name__", "g"), (0, 1), (10, 3), (20, 5), (30, 7));
        Assert.Equal(0.2, Single("deriv(g[1m])", 30), 12);
        Assert.Equal(7 + (0.2 * 100), Single("predict_linear(g[1m], 100)", 30), 9);
        Add(LabelSet.Of("__name__", "c"), (0, 4), (10, 4), (20, 4));
        Assert.Equal(0, Single("deriv(c[1m])", 20));
    }

    [Fact]
    public void Window_ForwardBackwardAndJumpingWindowsWithCursor_SameSamplesAsASearchEachTime()
    {
        // 2,000 samples 15 s apart with some stale markers; windows moving forward by small and large steps, backward,
        // and past both ends: the cursor's short scans must give exactly what two binary searches and a filter give.
        var rng = new Random(11);
        var samples = Enumerable.Range(0, 2000)
            .Select(i => new Sample(1_000_000 + (i * 15_000L), rng.Next(50) == 0 ? Sample.StaleMarker : i))
            .ToArray();
        var cursor = 0;
        var minT = 900_000L;
        for (var round = 0; round < 5000; round++)
        {
            minT += rng.Next(10) switch
            {
                0 => -rng.Next(3_000_000),
                1 => rng.Next(10_000_000),
                _ => rng.Next(120_000),
            };
            var maxT = minT + rng.Next(1, 600_000);
            var expected = samples.Where(x => x.TimestampMs >= minT && x.TimestampMs <= maxT && !x.IsStaleMarker).ToArray();
            Assert.Equal(expected, PromEngine.Window(samples, minT, maxT, ref cursor).ToArray());
        }
    }

    [Fact]
    public void LastAtOrBefore_ForwardBackwardAndJumpingTimesWithCursor_SameIndexAsASearchEachTime()
    {
        var rng = new Random(12);
        var samples = Enumerable.Range(0, 2000).Select(i => new Sample(1_000_000 + (i * 15_000L), i)).ToArray();
        var cursor = 0;
        var t = 900_000L;
        for (var round = 0; round < 5000; round++)
        {
            t += rng.Next(10) switch
            {
                0 => -rng.Next(3_000_000),
                1 => rng.Next(10_000_000),
                _ => rng.Next(120_000),
            };
            var expected = Array.FindLastIndex(samples, x => x.TimestampMs <= t);
            Assert.Equal(expected, PromEngine.LastAtOrBefore(samples, t, ref cursor));
        }

        var none = 0;
        Assert.Equal(-1, PromEngine.LastAtOrBefore([], 5, ref none));
        Assert.Equal(-1, PromEngine.LastAtOrBefore([], 5, ref none));
    }
}
