namespace Flotel.Store.Metrics;

/// <summary>What one append did with its samples (Prometheus's accounting: late samples are dropped, not errors).</summary>
/// <param name="Appended">Samples stored.</param>
/// <param name="OutOfOrder">Samples older than the series' last timestamp, dropped.</param>
/// <param name="Duplicate">Samples with exactly the series' last timestamp (a redelivery), dropped.</param>
/// <param name="NewSeries">Series seen for the first time.</param>
/// <param name="RefusedSeries">New series not created because the store holds <see cref="MetricStoreOptions.MaxSeries"/>.</param>
/// <param name="RefusedSamples">Samples of refused series, dropped.</param>
public readonly record struct AppendResult(int Appended, int OutOfOrder, int Duplicate, int NewSeries, int RefusedSeries = 0, int RefusedSamples = 0);
