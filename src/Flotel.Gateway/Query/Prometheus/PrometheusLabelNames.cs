namespace Flotel.Gateway.Query.Prometheus;

/// <summary>How the Prometheus API spells stored label names outside <c>[a-zA-Z_][a-zA-Z0-9_]*</c> (<c>query.prometheus.labelNames</c>).</summary>
public enum PrometheusLabelNames
{
    /// <summary>As stored (<c>metric-source</c>): what Prometheus 3 answers; Go clients before 3 refuse such answers.</summary>
    Utf8,

    /// <summary>
    /// Sanitised in answers (<c>metric_source</c>) and accepted so spelled in queries: what every classic client
    /// parses. See <see cref="LabelNameView"/>.
    /// </summary>
    Sanitize,
}
