using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>An evaluated PromQL value.</summary>
public abstract class PromValue
{
    public abstract PromType Type { get; }
}

public sealed class ScalarValue(double value) : PromValue
{
    public double Value { get; } = value;

    public override PromType Type => PromType.Scalar;
}

public sealed class StringValue(string value) : PromValue
{
    public string Value { get; } = value;

    public override PromType Type => PromType.String;
}

/// <summary>One element of an instant vector.</summary>
public readonly record struct VectorSample(LabelSet Labels, double Value);

public sealed class VectorValue(List<VectorSample> samples) : PromValue
{
    public List<VectorSample> Samples { get; } = samples;

    public override PromType Type => PromType.Vector;
}

/// <summary>A range vector: the raw samples of each series in its window (stale markers removed).</summary>
public sealed class MatrixValue(List<SeriesSamples> series) : PromValue
{
    public List<SeriesSamples> Series { get; } = series;

    public override PromType Type => PromType.Matrix;
}
