using Flotel.Wire.RemoteWrite;

namespace Flotel.Store.Metrics;

/// <summary>
/// What an ingest path may ask the metric store before it queues a request: whether the store is at its series limit
/// and, only then, whether a series already exists. Lets remote write answer a clear 4xx at ingest although the store
/// sees the samples later, through the durable queue.
/// </summary>
public interface ISeriesAdmission
{
    /// <summary>The limit (<see cref="MetricStoreOptions.MaxSeries"/>; 0 = none).</summary>
    int MaxSeries { get; }

    /// <summary>True while the store holds <see cref="MaxSeries"/> series: new ones are refused. Lock-free.</summary>
    bool AtSeriesLimit { get; }

    /// <summary>Whether a series with exactly these labels is held (takes the store's lock: ask only when at the limit).</summary>
    bool HasSeries(SeriesLabels labels);
}
