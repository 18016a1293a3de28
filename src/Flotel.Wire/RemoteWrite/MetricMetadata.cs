namespace Flotel.Wire.RemoteWrite;

/// <summary><c>prometheus.MetricMetadata</c>: type=1, metric_family_name=2, help=4, unit=5 (prompb types.proto).</summary>
/// <param name="Type">The metric type; unknown wire numbers are kept as their integer value.</param>
/// <param name="MetricFamilyName">The family name (e.g. <c>node_cpu_seconds_total</c>).</param>
/// <param name="Help">The HELP text.</param>
/// <param name="Unit">The unit (often empty).</param>
public sealed record MetricMetadata(MetricMetadataType Type, string MetricFamilyName, string Help, string Unit);
