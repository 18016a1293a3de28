namespace Flotel.Wire.Exposition;

/// <summary>Receives an exposition line by line as it is parsed, without per-line allocation.</summary>
public interface IExpositionVisitor
{
    /// <summary>A sample line. <paramref name="timestampMs"/> is null when the line has no timestamp.</summary>
    void Sample(ReadOnlySpan<byte> metricName, ExpositionLabels labels, double value, long? timestampMs);

    /// <summary>A <c># TYPE name type</c> line.</summary>
    void Type(ReadOnlySpan<byte> metricName, ExpositionMetricType type);

    /// <summary>A <c># HELP name text</c> line; <paramref name="text"/> is raw (escapes <c>\\</c> and <c>\n</c> unresolved).</summary>
    void Help(ReadOnlySpan<byte> metricName, ReadOnlySpan<byte> text);

    /// <summary>A line that was rejected; parsing continues with the next line.</summary>
    void Error(int line, ExpositionErrorReason reason);
}
