using Flotel.Store.Metrics;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>What the Prometheus API answers beyond the metric store: status, metadata, the spelling of label names.</summary>
public sealed class PrometheusApiOptions
{
    /// <summary>The remote-write metadata kept for <c>/api/v1/metadata</c>; null answers an empty object.</summary>
    public MetricMetadataStore? Metadata { get; init; }

    /// <summary><c>query.prometheus.labelNames</c>; default <see cref="PrometheusLabelNames.Utf8"/> (names as stored).</summary>
    public PrometheusLabelNames LabelNames { get; init; } = PrometheusLabelNames.Utf8;

    /// <summary>When the gateway started (<c>runtimeinfo.startTime</c>, <c>lastConfigTime</c>); null: when the routes were mapped.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary><c>runtimeinfo.storageRetention</c>, in Prometheus's spelling (<c>15d</c>).</summary>
    public string StorageRetention { get; init; } = string.Empty;
}
