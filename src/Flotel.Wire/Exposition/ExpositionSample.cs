using Flotel.Model.Metrics;

namespace Flotel.Wire.Exposition;

/// <summary>One parsed sample line as a model object (the convenience API; the visitor API allocates nothing).</summary>
/// <param name="Labels">The labels with <c>__name__</c> set to the metric name.</param>
/// <param name="Value">The value.</param>
/// <param name="TimestampMs">The explicit timestamp in ms, or null when the line has none (scrape time applies).</param>
public sealed record ExpositionSample(LabelSet Labels, double Value, long? TimestampMs)
{
    /// <summary>The metric name (<c>__name__</c>).</summary>
    public string MetricName => Labels.MetricName ?? string.Empty;
}
