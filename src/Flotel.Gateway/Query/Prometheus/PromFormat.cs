using System.Globalization;
using System.Text;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>Number and time text exactly as Prometheus's HTTP API writes and reads them.</summary>
internal static class PromFormat
{
    /// <summary>
    /// Go's <c>strconv.FormatFloat(v, 'f', -1, 64)</c>: the shortest digits that round-trip, never in exponent
    /// form; <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.
    /// </summary>
    public static string FormatFloat(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsPositiveInfinity(v))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(v))
        {
            return "-Inf";
        }

        // "R" is the shortest round-trip form; it switches to exponent notation for large and small magnitudes.
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = r[..e];
        var negative = mantissa.StartsWith('-');
        if (negative)
        {
            mantissa = mantissa[1..];
        }

        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointPos = (dot < 0 ? mantissa.Length : dot) + exponent;
        var sb = new StringBuilder();
        if (negative)
        {
            sb.Append('-');
        }

        if (pointPos <= 0)
        {
            sb.Append("0.").Append('0', -pointPos).Append(digits);
        }
        else if (pointPos >= digits.Length)
        {
            sb.Append(digits).Append('0', pointPos - digits.Length);
        }
        else
        {
            sb.Append(digits, 0, pointPos).Append('.').Append(digits, pointPos, digits.Length - pointPos);
        }

        return sb.ToString();
    }

    /// <summary>
    /// <see cref="FormatFloat"/> into UTF-8 without a string, when the round-trip digits need no exponent (nearly
    /// always); false otherwise (NaN, ±Inf, very large or small magnitudes: use <see cref="FormatFloat"/>). A range
    /// query's answer formats a value per point (1.44 M for a 24 h panel over 1,000 series).
    /// </summary>
    public static bool TryFormatFloatUtf8(double v, Span<byte> destination, out int written)
    {
        if (double.IsFinite(v) && v.TryFormat(destination, out written, "R", CultureInfo.InvariantCulture)
            && destination[..written].IndexOf((byte)'E') < 0)
        {
            return true;
        }

        written = 0;
        return false;
    }

    /// <summary><see cref="FormatTimestamp"/> into UTF-8 without a string (at most 21 bytes).</summary>
    public static int FormatTimestampUtf8(long ms, Span<byte> destination)
    {
        var n = 0;
        if (ms < 0)
        {
            destination[n++] = (byte)'-';
            ms = -ms;
        }

        _ = (ms / 1000).TryFormat(destination[n..], out var written, default, CultureInfo.InvariantCulture);
        n += written;
        var fraction = ms % 1000;
        if (fraction != 0)
        {
            destination[n++] = (byte)'.';
            _ = fraction.TryFormat(destination[n..], out written, "D3", CultureInfo.InvariantCulture);
            n += written;
        }

        return n;
    }

    /// <summary>Prometheus's jsonutil.MarshalTimestamp: seconds, then <c>.mmm</c> when the milliseconds are not zero.</summary>
    public static string FormatTimestamp(long ms)
    {
        Span<byte> text = stackalloc byte[32];
        return Encoding.ASCII.GetString(text[..FormatTimestampUtf8(ms, text)]);
    }

    /// <summary>
    /// Latest and earliest time accepted, in ms: Prometheus's API MinTime/MaxTime (±292 million years). Beyond them a
    /// time did not fit in a long once in milliseconds, and the answer's timestamps were not valid JSON numbers.
    /// </summary>
    public const long MaxTimeMs = 9223372036854775L;

    /// <summary>Prometheus's API parseTime: Unix seconds with a fraction, or RFC 3339. Result in milliseconds.</summary>
    public static bool TryParseTime(string text, out long ms)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)
            && Math.Abs(seconds * 1000) <= MaxTimeMs)
        {
            ms = (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var dto) && text.Contains('T', StringComparison.Ordinal))
        {
            ms = dto.ToUnixTimeMilliseconds();
            return true;
        }

        ms = 0;
        return false;
    }

    /// <summary>Prometheus's API parseDuration: seconds with a fraction, or a PromQL duration (<c>1m30s</c>).</summary>
    public static bool TryParseDuration(string text, out long ms)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)
            && Math.Abs(seconds * 1000) <= PromLexer.MaxDurationMs)
        {
            ms = (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
            return true;
        }

        try
        {
            var tokens = PromLexer.Tokenize(text);
            if (tokens.Count == 2 && tokens[0].Kind == TokenKind.Duration)
            {
                ms = tokens[0].DurationMs;
                return true;
            }
        }
        catch (PromQueryException)
        {
        }

        ms = 0;
        return false;
    }
}
