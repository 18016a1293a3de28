using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>A stopped query (client gone, time up) ends evaluation instead of finishing it.</summary>
public sealed class PromEngineCancellationTests : IDisposable
{
    private readonly StoreFixture _fixture = new();
    private readonly MetricStore _store;

    public PromEngineCancellationTests()
    {
        _store = _fixture.Open();
        for (var i = 0; i < 10; i++)
        {
            _store.Append(LabelSet.Of("__name__", "g", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), [new Sample(0, i), new Sample(60_000, i)]);
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _fixture.Dispose();
    }

    [Theory]
    [InlineData("g")]
    [InlineData("sum(rate(g[5m]))")]
    [InlineData("1 + 1")]
    public void Range_WithAStoppedToken_ThrowsOperationCanceled(string query)
    {
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();

        Assert.Throws<OperationCanceledException>(() => new PromEngine(_store, stopped.Token).Range(PromParser.Parse(query), 0, 120_000, 15_000));
    }

    [Fact]
    public void Instant_WithAStoppedToken_ThrowsBeforeReadingTheStore()
    {
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();
        var engine = new PromEngine(_store, stopped.Token);

        Assert.Throws<OperationCanceledException>(() => engine.Instant(PromParser.Parse("g"), 60_000));
        Assert.Equal(0, engine.SamplesLoaded);
    }

    [Fact]
    public void Range_WithATokenThatNeverFires_AnswersAsWithout()
    {
        using var live = new CancellationTokenSource();

        var result = new PromEngine(_store, live.Token).Range(PromParser.Parse("g"), 0, 120_000, 15_000);

        Assert.Equal(10, result.Count);
    }
}
