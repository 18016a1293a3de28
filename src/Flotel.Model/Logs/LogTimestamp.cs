using System.Globalization;

namespace Flotel.Model.Logs;

/// <summary>The <c>@timestamp</c> text form of architecture §5: UTC, <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
public static class LogTimestamp
{
    /// <summary>Length in characters (and UTF-8 bytes) of a formatted timestamp.</summary>
    public const int Length = 24;

    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Formats <paramref name="utc"/> (converted to UTC when it is not already).</summary>
    public static string ToText(DateTime utc) =>
        ToUniversal(utc).ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Writes the 24 UTF-8 bytes of the timestamp; false when <paramref name="destination"/> is too short.</summary>
    public static bool TryFormatUtf8(DateTime utc, Span<byte> destination, out int written) =>
        ToUniversal(utc).TryFormat(destination, out written, Format, CultureInfo.InvariantCulture);

    private static DateTime ToUniversal(DateTime value) =>
        value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
