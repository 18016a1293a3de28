namespace Flotel.Wire.Exposition;

/// <summary>Everything <see cref="ExpositionParser.ParseAll"/> read: good samples kept, bad lines listed.</summary>
public sealed class ExpositionResult
{
    internal ExpositionResult(List<ExpositionSample> samples, List<ExpositionError> errors, Dictionary<string, ExpositionMetricType> types, Dictionary<string, string> help)
    {
        Samples = samples;
        Errors = errors;
        Types = types;
        Help = help;
    }

    /// <summary>Sample lines in input order.</summary>
    public IReadOnlyList<ExpositionSample> Samples { get; }

    /// <summary>Rejected lines.</summary>
    public IReadOnlyList<ExpositionError> Errors { get; }

    /// <summary>Metric family name → type from <c># TYPE</c> lines.</summary>
    public IReadOnlyDictionary<string, ExpositionMetricType> Types { get; }

    /// <summary>Metric family name → HELP text (escapes <c>\\</c> and <c>\n</c> resolved).</summary>
    public IReadOnlyDictionary<string, string> Help { get; }
}
