namespace Flotel.Wire.Exposition;

/// <summary>Which text format a scrape returned; it changes only how timestamps are read.</summary>
public enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4 (<c>text/plain; version=0.0.4</c>): timestamps are integer milliseconds.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0 text (<c>application/openmetrics-text</c>): timestamps are float seconds; <c># EOF</c> ends the body.</summary>
    OpenMetrics,
}
