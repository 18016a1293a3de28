namespace Flotel.Store.Metrics;

/// <summary>One metadata entry of a metric family, as <c>/api/v1/metadata</c> writes it.</summary>
/// <param name="Type">Prometheus's type name (<c>counter</c>, <c>gauge</c>, …, <c>unknown</c>).</param>
/// <param name="Help">The HELP text.</param>
/// <param name="Unit">The UNIT (often empty).</param>
public readonly record struct MetricMetadataEntry(string Type, string Help, string Unit);
