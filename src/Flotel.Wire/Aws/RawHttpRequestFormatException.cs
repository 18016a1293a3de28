namespace Flotel.Wire.Aws;

/// <summary>A raw HTTP request text is malformed; <see cref="Reason"/> says how.</summary>
internal sealed class RawHttpRequestFormatException : FormatException
{
    public RawHttpRequestFormatException(RawHttpRequestError reason, int line)
        : base($"Malformed raw HTTP request: {reason} at line {line}.")
    {
        Reason = reason;
        Line = line;
    }

    /// <summary>What is wrong.</summary>
    public RawHttpRequestError Reason { get; }

    /// <summary>The 1-based line where it was found.</summary>
    public int Line { get; }
}
