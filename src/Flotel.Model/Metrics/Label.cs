namespace Flotel.Model.Metrics;

/// <summary>
/// One Prometheus label. Names are ASCII (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>, <c>__name__</c> holds the metric
/// name); values are any UTF-8 text. An empty value means "label absent" (Prometheus data model).
/// </summary>
/// <param name="Name">The label name.</param>
/// <param name="Value">The label value.</param>
public readonly record struct Label(string Name, string Value)
{
    /// <summary>The reserved label that carries the metric name.</summary>
    public const string MetricNameLabel = "__name__";

    /// <inheritdoc />
    public override string ToString() => Name + "=\"" + Value + "\"";
}
