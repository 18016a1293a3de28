using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>
/// The per-query memory limits (<see cref="PromEngine.MaxSamples"/>, Prometheus's <c>--query.max-samples</c>, and
/// <see cref="PromEngine.MaxSeries"/>) over ten series of 41 samples each, one every 15 s from 0 to 600 s.
/// </summary>
public sealed class PromEngineLimitsTests : IDisposable
{
    private const int Series = 10;
    private const int SamplesPerSeries = 41;
    private const long EndMs = 600_000;
    private const string TooManySamples = "query processing would load too many samples into memory in query execution";

    private readonly StoreFixture _fixture = new();
    private readonly MetricStore _store;

    public PromEngineLimitsTests()
    {
        _store = _fixture.Open();
        for (var i = 0; i < Series; i++)
        {
            var samples = new Sample[SamplesPerSeries];
            for (var k = 0; k < samples.Length; k++)
            {
                samples[k] = new Sample(k * 15_000L, (i * 100) + k);
            }

            _store.Append(LabelSet.Of("__name__", "g", "i", i.ToString(CultureInfo.InvariantCulture)), samples);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _fixture.Dispose();
    }

    private PromEngine Engine(long maxSamples = PromEngine.DefaultMaxSamples, int maxSeries = PromEngine.DefaultMaxSeries) =>
        new(_store) { MaxSamples = maxSamples, MaxSeries = maxSeries };

    [Fact]
    public void Instant_RangeSelectorOverTheSampleLimit_FailsWithPrometheusExecutionError()
    {
        // g[10m] holds every sample of every series: 410.
        var ex = Assert.Throws<PromQueryException>(() => Engine(maxSamples: (Series * SamplesPerSeries) - 1).Instant(PromParser.Parse("g[10m]"), EndMs));

        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal(422, ex.HttpStatusCode);
        Assert.Equal(TooManySamples, ex.Message);
        Assert.Equal("samples", ex.Limit);
    }

    [Fact]
    public void Instant_RangeSelectorAtTheSampleLimit_Answers()
    {
        var value = (MatrixValue)Engine(maxSamples: Series * SamplesPerSeries).Instant(PromParser.Parse("g[10m]"), EndMs);

        Assert.Equal(Series * SamplesPerSeries, value.Series.Sum(s => s.Samples.Length));
    }

    [Fact]
    public void Instant_RollupOverEverySeries_HoldsOneResultPerSeriesNotTheirSamples()
    {
        // The function reads one series' window at a time, as Prometheus does: ten results are held, not 410 samples.
        var value = (VectorValue)Engine(maxSamples: Series).Instant(PromParser.Parse("sum(count_over_time(g[10m]))"), EndMs);

        Assert.Equal(Series * SamplesPerSeries, Assert.Single(value.Samples).Value);
        Assert.Throws<PromQueryException>(() => Engine(maxSamples: Series - 1).Instant(PromParser.Parse("sum(count_over_time(g[10m]))"), EndMs));
    }

    [Fact]
    public void Instant_RollupDecodedOnceAndStreamed_GiveTheSameValues()
    {
        // Alone, the function is evaluated once and decodes series by series; inside a subquery (evaluated at each of
        // its steps, the last one at the query's time) it reads the selector decoded once for all steps.
        var streamed = (VectorValue)Engine().Instant(PromParser.Parse("sum_over_time(g[10m])"), EndMs);
        var decoded = (VectorValue)Engine().Instant(PromParser.Parse("last_over_time((sum_over_time(g[10m]))[1m:1m])"), EndMs);

        Assert.Equal(Series, streamed.Samples.Count);
        Assert.Equal(
            streamed.Samples.OrderBy(s => s.Labels.ToString(), StringComparer.Ordinal),
            decoded.Samples.OrderBy(s => s.Labels.ToString(), StringComparer.Ordinal));
    }

    [Fact]
    public void Range_StepByStepEvaluation_CountsThePointsOfTheAnswer()
    {
        // g * 2 at 41 steps: 410 samples decoded, then 410 points of the answer accumulate. The instant query holds only
        // the samples in its lookback window.
        var limit = (Series * SamplesPerSeries) + 100;

        var ex = Assert.Throws<PromQueryException>(() => Engine(maxSamples: limit).Range(PromParser.Parse("g * 2"), 0, EndMs, 15_000));
        Assert.Equal(TooManySamples, ex.Message);
        Assert.Equal(Series, ((VectorValue)Engine(maxSamples: limit).Instant(PromParser.Parse("g * 2"), EndMs)).Samples.Count);
        Assert.Equal(Series, Engine(maxSamples: 2 * Series * SamplesPerSeries).Range(PromParser.Parse("g * 2"), 0, EndMs, 15_000).Count);
    }

    [Fact]
    public void Range_RollupColumns_CountEveryCell()
    {
        // rate(g[1m]) at 41 steps: one column cell per series and step.
        var cells = Series * SamplesPerSeries;

        Assert.Throws<PromQueryException>(() => Engine(maxSamples: cells - 1).Range(PromParser.Parse("rate(g[1m])"), 0, EndMs, 15_000));
        Assert.Equal(Series, Engine(maxSamples: cells).Range(PromParser.Parse("rate(g[1m])"), 0, EndMs, 15_000).Count);
    }

    [Fact]
    public void Range_Subquery_StepsThatLeaveTheWindowNoLongerCount()
    {
        // max_over_time(g[1m:15s]) at 41 steps caches 41 × 10 subquery results over the query, but at most 5 steps × 10
        // series at once: 410 decoded + at most 60 cached + 410 points of the answer fit in 1,000; 410 + 410 + 410 would not.
        var result = Engine(maxSamples: 1_000).Range(PromParser.Parse("max_over_time(g[1m:15s])"), 0, EndMs, 15_000);

        Assert.Equal(Series, result.Count);
    }

    [Fact]
    public void Instant_SelectorOverTheSeriesLimit_FailsBeforeReadingChunks()
    {
        var ex = Assert.Throws<PromQueryException>(() => Engine(maxSeries: Series - 1).Instant(PromParser.Parse("count(g)"), EndMs));

        Assert.Equal("execution", ex.ErrorType);
        Assert.Equal(422, ex.HttpStatusCode);
        Assert.Equal("query processing would load too many series into memory in query execution", ex.Message);
        Assert.Equal("series", ex.Limit);
    }

    [Fact]
    public void Instant_SelectorAtTheSeriesLimit_Answers()
    {
        var value = (VectorValue)Engine(maxSeries: Series).Instant(PromParser.Parse("count(g)"), EndMs);

        Assert.Equal(Series, Assert.Single(value.Samples).Value);
    }

    [Fact]
    public void Instant_SeriesLimit_CountsEachSelectorApart()
    {
        // Two selectors of five series each: neither is over a limit of five.
        var value = (VectorValue)Engine(maxSeries: 5).Instant(PromParser.Parse("count(g{i=~\"[0-4]\"}) + count(g{i=~\"[5-9]\"})"), EndMs);

        Assert.Equal(Series, Assert.Single(value.Samples).Value);
    }
}
