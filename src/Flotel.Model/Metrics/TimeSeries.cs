namespace Flotel.Model.Metrics;

/// <summary>One series: its label set (including <c>__name__</c>) and its float samples in timestamp order.</summary>
public sealed class TimeSeries
{
    /// <summary>Creates a series.</summary>
    public TimeSeries(LabelSet labels, IReadOnlyList<Sample> samples)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(samples);
        Labels = labels;
        Samples = samples;
    }

    /// <summary>The labels, sorted by name.</summary>
    public LabelSet Labels { get; }

    /// <summary>The samples, oldest first (remote-write spec: "samples MUST be in timestamp order" per series).</summary>
    public IReadOnlyList<Sample> Samples { get; }

    /// <inheritdoc />
    public override string ToString() => Labels + " x" + Samples.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
