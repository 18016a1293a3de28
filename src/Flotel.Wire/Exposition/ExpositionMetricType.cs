namespace Flotel.Wire.Exposition;

/// <summary>The type named by a <c># TYPE</c> line (text format 0.0.4 plus the OpenMetrics-only types).</summary>
public enum ExpositionMetricType
{
    /// <summary><c>untyped</c> (0.0.4) or <c>unknown</c> (OpenMetrics).</summary>
    Untyped,

    /// <summary><c>counter</c>.</summary>
    Counter,

    /// <summary><c>gauge</c>.</summary>
    Gauge,

    /// <summary><c>histogram</c>: the samples are <c>_bucket</c>, <c>_sum</c>, <c>_count</c> lines.</summary>
    Histogram,

    /// <summary><c>summary</c>: the samples are quantile lines, <c>_sum</c>, <c>_count</c>.</summary>
    Summary,

    /// <summary><c>gaugehistogram</c> (OpenMetrics).</summary>
    GaugeHistogram,

    /// <summary><c>info</c> (OpenMetrics).</summary>
    Info,

    /// <summary><c>stateset</c> (OpenMetrics).</summary>
    StateSet,
}
