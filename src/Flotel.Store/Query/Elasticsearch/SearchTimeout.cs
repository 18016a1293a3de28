using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// A search's <c>timeout</c>: the URL parameter, else the body's top-level <c>"timeout"</c> (the URL wins, as in
/// Elasticsearch's RestSearchAction), in Elasticsearch's time units (<c>nanos</c>, <c>micros</c>, <c>ms</c>, <c>s</c>,
/// <c>m</c>, <c>h</c>, <c>d</c>; <c>-1</c> = none). Read apart from <see cref="QueryDslParser"/>, which accepts and
/// otherwise ignores the key.
/// </summary>
public static class SearchTimeout
{
    /// <summary>A year: any longer timeout is capped by <c>query.timeout</c> anyway, and TimeSpan overflows far beyond.</summary>
    private const double MaxMilliseconds = 365 * 86_400_000.0;

    private static readonly (string Unit, double Milliseconds)[] Units =
    [
        ("nanos", 1e-6), ("micros", 1e-3), ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ];

    /// <summary>The requested timeout, or null for none.</summary>
    /// <exception cref="ElasticsearchException">400 <c>parse_exception</c> for a value that is not a time value.</exception>
    public static TimeSpan? Read(ReadOnlySpan<byte> body, Dictionary<string, string> urlParameters)
    {
        ArgumentNullException.ThrowIfNull(urlParameters);
        if (urlParameters.TryGetValue("timeout", out string? text))
        {
            return Parse(text);
        }

        return FromBody(body) is { } bodyText ? Parse(bodyText) : null;
    }

    /// <summary>Elasticsearch's TimeValue.parseTimeValue: a number and a unit, or <c>-1</c> (no timeout).</summary>
    public static TimeSpan? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string value = text.Trim().ToLowerInvariant();
        if (value is "-1")
        {
            return null;
        }

        foreach ((string unit, double ms) in Units)
        {
            // The first unit the text ends with: "ms", "nanos" and "micros" come before "s", "ms" before "m".
            if (value.EndsWith(unit, StringComparison.Ordinal))
            {
                return double.TryParse(value.AsSpan(0, value.Length - unit.Length), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number)
                    ? TimeSpan.FromMilliseconds(Math.Min(number * ms, MaxMilliseconds))
                    : throw Invalid(text);
            }
        }

        throw Invalid(text);
    }

    private static ElasticsearchException Invalid(string text) =>
        new(400, "parse_exception", $"failed to parse setting [timeout] with value [{text}] as a time value: unit is missing or unrecognized");

    /// <summary>The body's top-level <c>timeout</c> as text (a number is taken as written), or null.</summary>
    private static string? FromBody(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return null;
        }

        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isTimeout = reader.ValueTextEquals("timeout"u8);
            reader.Read();
            if (isTimeout)
            {
                return reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString(),
                    JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                    _ => throw new ElasticsearchException(400, "parse_exception", "[timeout] must be a time value such as \"10s\""),
                };
            }

            reader.Skip();
        }

        return null;
    }
}
