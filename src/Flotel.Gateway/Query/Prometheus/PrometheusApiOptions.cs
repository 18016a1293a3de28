using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;

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

    /// <summary><c>query.maxSamples</c>: <see cref="PromEngine.MaxSamples"/> of every PromQL query.</summary>
    public long MaxSamples { get; init; } = PromEngine.DefaultMaxSamples;

    /// <summary>
    /// <c>query.maxSeries</c>: <see cref="PromEngine.MaxSeries"/> of every PromQL query, and the most series one
    /// <c>/api/v1/series</c> answers.
    /// </summary>
    public int MaxSeries { get; init; } = PromEngine.DefaultMaxSeries;

    /// <summary><c>runtimeinfo.storageRetention</c>, in Prometheus's spelling (<c>15d</c>).</summary>
    public string StorageRetention { get; init; } = string.Empty;
}
