namespace Flotel.Store.Metrics;

/// <summary>
/// The series a selector matched (<see cref="MetricStore.SelectSeries"/>), in label order, for a query to read in batches
/// with <see cref="MetricStore.SelectBatch"/>: one reference per series (8 bytes) where a whole selection's label sets and
/// chunk copies cost about half a kilobyte per series.
/// </summary>
internal sealed class SeriesSelection
{
    internal SeriesSelection(List<MemSeries> series, long minT, long maxT)
    {
        Series = series;
        MinT = minT;
        MaxT = maxT;
    }

    /// <summary>Series selected: at most the query's series limit.</summary>
    public int Count => Series.Count;

    /// <summary>Start of the range read (ms, inclusive).</summary>
    public long MinT { get; }

    /// <summary>End of the range read (ms, inclusive).</summary>
    public long MaxT { get; }

    /// <summary>Whether the rows read for it are put into the chunk cache (see <see cref="MetricStore.SelectSeries"/>).</summary>
    public bool FillsCache { get; init; }

    internal List<MemSeries> Series { get; }
}
