namespace Flotel.Model.Manifests;

/// <summary><c>EdgeDevice.spec.metrics</c> (OP <c>MetricsConfiguration</c>).</summary>
public sealed record DeviceMetricsConfig
{
    public MetricsReceiverConfig? ReceiverConfiguration { get; init; }

    /// <summary><c>system</c>: node_exporter scraping.</summary>
    public ComponentMetricsConfig? System { get; init; }

    /// <summary><c>dataTransfer</c>: read for completeness; Flotel has no data-transfer component.</summary>
    public ComponentMetricsConfig? DataTransfer { get; init; }

    public RetentionConfig? Retention { get; init; }
}
