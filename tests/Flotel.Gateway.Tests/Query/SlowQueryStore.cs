using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Gateway.Tests.Query;

/// <summary>
/// A store whose range queries take seconds: 2,000 series with a sample a minute over three hours, queried at every
/// second (10,800 steps). Loaded once for the class.
/// </summary>
public sealed class SlowQueryStore : IDisposable
{
    public const long T0 = 1_700_000_000_000;
    public const int SeriesCount = 2_000;

    private readonly StoreFixture _fixture = new();

    public SlowQueryStore()
    {
        Store = _fixture.Open();
        var samples = new Sample[180];
        for (var i = 0; i < SeriesCount; i++)
        {
            for (var j = 0; j < samples.Length; j++)
            {
                samples[j] = new Sample(T0 + (j * 60_000L), j * (i + 1));
            }

            Store.Append(LabelSet.Of("__name__", "x", "i", i.ToString(CultureInfo.InvariantCulture)), samples);
        }
    }

    internal MetricStore Store { get; }

    /// <summary>A range query over every step; <paramref name="extra"/> is appended (e.g. <c>&amp;timeout=100ms</c>).</summary>
    public static string RangeQuery(string promql, string extra = "") =>
        "/api/v1/query_range?query=" + Uri.EscapeDataString(promql) + "&start=" + (T0 / 1000) + "&end=" + ((T0 / 1000) + 10_799) + "&step=1" + extra;

    public void Dispose()
    {
        Store.Dispose();
        _fixture.Dispose();
    }
}
