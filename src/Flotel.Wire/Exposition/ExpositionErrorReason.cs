namespace Flotel.Wire.Exposition;

/// <summary>Why a line of an exposition was not understood. The line is skipped and counted; parsing goes on.</summary>
public enum ExpositionErrorReason
{
    /// <summary>The metric name does not match <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>.</summary>
    InvalidMetricName,

    /// <summary>A label name does not match <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, or <c>=</c>/<c>"</c> is missing.</summary>
    InvalidLabelName,

    /// <summary>A label value has no closing quote, or the label list no closing brace.</summary>
    UnterminatedLabels,

    /// <summary>A label value has an escape other than <c>\\</c>, <c>\"</c>, <c>\n</c>.</summary>
    InvalidEscape,

    /// <summary>A label value is not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>A label name appears twice on one line.</summary>
    DuplicateLabelName,

    /// <summary>The sample has no value.</summary>
    MissingValue,

    /// <summary>The value is not a float, <c>NaN</c>, <c>+Inf</c> or <c>-Inf</c>.</summary>
    InvalidValue,

    /// <summary>The timestamp is not an integer (ms; or float seconds in OpenMetrics).</summary>
    InvalidTimestamp,

    /// <summary>Unexpected text after the timestamp (or exemplar).</summary>
    TrailingCharacters,

    /// <summary>A <c># HELP</c> or <c># TYPE</c> line without a valid metric name.</summary>
    InvalidMetadataLine,

    /// <summary>A <c># TYPE</c> line naming an unknown type.</summary>
    UnknownType,

    /// <summary>A line longer than the parser's limit (discarded up to the next newline).</summary>
    LineTooLong,

    /// <summary>Content after OpenMetrics <c># EOF</c>.</summary>
    ContentAfterEof,
}
