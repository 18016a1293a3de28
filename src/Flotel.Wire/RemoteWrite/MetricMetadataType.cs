namespace Flotel.Wire.RemoteWrite;

/// <summary><c>prometheus.MetricMetadata.MetricType</c> (prompb types.proto); values are the wire numbers.</summary>
public enum MetricMetadataType
{
    /// <summary>UNKNOWN = 0.</summary>
    Unknown = 0,

    /// <summary>COUNTER = 1.</summary>
    Counter = 1,

    /// <summary>GAUGE = 2.</summary>
    Gauge = 2,

    /// <summary>HISTOGRAM = 3.</summary>
    Histogram = 3,

    /// <summary>GAUGEHISTOGRAM = 4.</summary>
    GaugeHistogram = 4,

    /// <summary>SUMMARY = 5.</summary>
    Summary = 5,

    /// <summary>INFO = 6.</summary>
    Info = 6,

    /// <summary>STATESET = 7.</summary>
    StateSet = 7,
}
