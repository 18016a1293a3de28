using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Flotel.Wire.Syslog;

/// <summary>
/// An index-name pattern in Logstash's sprintf syntax, compiled once: literal text plus <c>%{+FORMAT}</c> parts whose
/// FORMAT is a Joda-Time pattern applied to <c>@timestamp</c> in UTC (architecture §5; default
/// <see cref="Default"/>). Rendering never reparses, and the last name is reused while the time stays in the same
/// day (or hour, minute… — the finest field the pattern prints).
/// </summary>
/// <remarks>
/// Joda letters (org.joda.time.format.DateTimeFormat): <c>y</c> year, <c>Y</c> year of era (so <c>YYYY</c> is the
/// calendar year, never the ISO week-year as in .NET or Java's <c>DateTimeFormatter</c>), <c>x</c> ISO week-year,
/// <c>w</c> ISO week, <c>M</c> month (3+ letters: name), <c>d</c> day of month, <c>D</c> day of year, <c>e</c>
/// day of week 1–7, <c>E</c> day name, <c>H</c> hour 0–23, <c>k</c> 1–24, <c>h</c> 1–12, <c>a</c> AM/PM,
/// <c>m</c>, <c>s</c>, <c>S</c> fraction, <c>Z</c>/<c>z</c> zone (always UTC). Two <c>y</c>/<c>Y</c>/<c>x</c> give a
/// two-digit year; text in single quotes is literal. References to event fields (<c>%{[field]}</c>) are not
/// supported: such a pattern is rejected when it is compiled.
/// </remarks>
public sealed class LogstashIndexPattern
{
    /// <summary>Logstash's default index pattern (logstash-output-elasticsearch).</summary>
    public const string Default = "logstash-%{+YYYY.MM.dd}";

    private static readonly string[] ShortMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] LongMonths = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] ShortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] LongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private readonly Part[] _parts;
    private readonly long _periodTicks;

    // The last rendered name and the period it is valid for; replaced as a whole, so reads need no lock.
    private RenderedName? _last;

    private LogstashIndexPattern(string pattern, Part[] parts, long periodTicks)
    {
        Pattern = pattern;
        _parts = parts;
        _periodTicks = periodTicks;
    }

    /// <summary>The pattern text as configured.</summary>
    public string Pattern { get; }

    /// <summary>True when the pattern has no date part (every event goes to the same index).</summary>
    public bool IsConstant => Array.TrueForAll(_parts, p => p.Letter == '\0');

    /// <summary>Compiles <paramref name="pattern"/>; throws <see cref="FormatException"/> with the reason when invalid.</summary>
    public static LogstashIndexPattern Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (!TryParse(pattern, out LogstashIndexPattern? compiled, out string? error))
        {
            throw new FormatException(error);
        }

        return compiled;
    }

    /// <summary>Compiles <paramref name="pattern"/>; false with a one-line <paramref name="error"/> when invalid.</summary>
    public static bool TryParse(string pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LogstashIndexPattern? compiled, out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        compiled = null;
        error = null;
        var parts = new List<Part>();
        var literal = new StringBuilder();
        long period = TimeSpan.TicksPerDay;
        int i = 0;
        while (i < pattern.Length)
        {
            int open = pattern.IndexOf("%{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                literal.Append(pattern, i, pattern.Length - i);
                break;
            }

            literal.Append(pattern, i, open - i);
            int close = pattern.IndexOf('}', open + 2);
            if (close < 0)
            {
                error = $"index pattern \"{pattern}\": \"%{{\" at offset {open} is not closed";
                return false;
            }

            if (pattern[open + 2] != '+')
            {
                error = $"index pattern \"{pattern}\": only date parts %{{+FORMAT}} are supported, not \"{pattern[open..(close + 1)]}\"";
                return false;
            }

            if (!TryCompileJoda(pattern.AsSpan(open + 3, close - open - 3), parts, literal, ref period, out string? jodaError))
            {
                error = $"index pattern \"{pattern}\": {jodaError}";
                return false;
            }

            i = close + 1;
        }

        FlushLiteral(parts, literal);
        if (parts.Count == 0)
        {
            error = "index pattern is empty";
            return false;
        }

        compiled = new LogstashIndexPattern(pattern, [.. parts], period);
        return true;
    }

    /// <summary>The index name for an event whose <c>@timestamp</c> is <paramref name="timestamp"/> (taken as UTC).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string Render(DateTime timestamp)
    {
        DateTime utc = timestamp.Kind == DateTimeKind.Local ? timestamp.ToUniversalTime() : timestamp;
        long periodStart = _periodTicks > 0 ? utc.Ticks - (utc.Ticks % _periodTicks) : utc.Ticks;
        RenderedName? last = _last;
        if (last is not null && last.PeriodStart == periodStart)
        {
            return last.Name;
        }

        Span<char> buffer = stackalloc char[256];
        string name = TryRender(utc, buffer, out int written) ? new string(buffer[..written]) : RenderSlow(utc);
        if (_periodTicks > 0)
        {
            _last = new RenderedName(periodStart, name);
        }

        return name;
    }

    /// <summary>Writes the index name into <paramref name="destination"/>; false when it is too short.</summary>
    public bool TryRender(DateTime timestamp, Span<char> destination, out int written)
    {
        DateTime utc = timestamp.Kind == DateTimeKind.Local ? timestamp.ToUniversalTime() : timestamp;
        written = 0;
        foreach (Part part in _parts)
        {
            if (!part.TryWrite(utc, destination[written..], out int n))
            {
                written = 0;
                return false;
            }

            written += n;
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Pattern;

    private string RenderSlow(DateTime utc)
    {
        char[] buffer = new char[64 * 1024];
        return TryRender(utc, buffer, out int written) ? new string(buffer, 0, written) : throw new InvalidOperationException("index name longer than 64 Ki characters");
    }

    private static bool TryCompileJoda(ReadOnlySpan<char> format, List<Part> parts, StringBuilder literal, ref long period, out string? error)
    {
        error = null;
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c == '\'')
            {
                int end = format[(i + 1)..].IndexOf('\'');
                if (end < 0)
                {
                    error = "unterminated quote in date format";
                    return false;
                }

                // '' is a literal quote (Joda).
                literal.Append(end == 0 ? "'" : format.Slice(i + 1, end));
                i += end + 2;
                continue;
            }

            if (!char.IsAsciiLetter(c))
            {
                literal.Append(c);
                i++;
                continue;
            }

            int count = 1;
            while (i + count < format.Length && format[i + count] == c)
            {
                count++;
            }

            long fieldPeriod = c switch
            {
                'y' or 'Y' or 'x' or 'w' or 'M' or 'd' or 'D' or 'e' or 'E' or 'Z' or 'z' or 'G' or 'C' => TimeSpan.TicksPerDay,
                'H' or 'k' or 'h' or 'K' or 'a' => TimeSpan.TicksPerHour,
                'm' => TimeSpan.TicksPerMinute,
                's' => TimeSpan.TicksPerSecond,
                'S' => 0,
                _ => -1,
            };
            if (fieldPeriod < 0)
            {
                error = $"date format letter '{c}' is not supported";
                return false;
            }

            period = fieldPeriod == 0 || period == 0 ? 0 : Math.Min(period, fieldPeriod);
            FlushLiteral(parts, literal);
            parts.Add(new Part(c, count, null));
            i += count;
        }

        return true;
    }

    private static void FlushLiteral(List<Part> parts, StringBuilder literal)
    {
        if (literal.Length > 0)
        {
            parts.Add(new Part('\0', 0, literal.ToString()));
            literal.Clear();
        }
    }

    private sealed record RenderedName(long PeriodStart, string Name);

    private readonly record struct Part(char Letter, int Count, string? Literal)
    {
        public bool TryWrite(DateTime t, Span<char> destination, out int written)
        {
            written = 0;
            return Letter switch
            {
                '\0' => TryText(Literal!, destination, out written),
                'y' or 'Y' => TryYear(t.Year, destination, out written),
                'x' => TryYear(ISOWeek.GetYear(t), destination, out written),
                'w' => TryNumber(ISOWeek.GetWeekOfYear(t), destination, out written),
                'M' => Count >= 4 ? TryText(LongMonths[t.Month - 1], destination, out written)
                    : Count == 3 ? TryText(ShortMonths[t.Month - 1], destination, out written)
                    : TryNumber(t.Month, destination, out written),
                'd' => TryNumber(t.Day, destination, out written),
                'D' => TryNumber(t.DayOfYear, destination, out written),
                'e' => TryNumber(t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek, destination, out written),
                'E' => TryText(Count >= 4 ? LongDays[(int)t.DayOfWeek] : ShortDays[(int)t.DayOfWeek], destination, out written),
                'H' => TryNumber(t.Hour, destination, out written),
                'k' => TryNumber(t.Hour == 0 ? 24 : t.Hour, destination, out written),
                'h' => TryNumber(t.Hour % 12 == 0 ? 12 : t.Hour % 12, destination, out written),
                'K' => TryNumber(t.Hour % 12, destination, out written),
                'a' => TryText(t.Hour < 12 ? "AM" : "PM", destination, out written),
                'm' => TryNumber(t.Minute, destination, out written),
                's' => TryNumber(t.Second, destination, out written),
                'S' => TryFraction(t, destination, out written),
                'Z' => TryText(Count == 1 ? "+0000" : Count == 2 ? "+00:00" : "UTC", destination, out written),
                'z' => TryText("UTC", destination, out written),
                'G' => TryText("AD", destination, out written),
                'C' => TryNumber(t.Year / 100, destination, out written),
                _ => false,
            };
        }

        private bool TryYear(int year, Span<char> destination, out int written) =>
            Count == 2 ? TryPadded(year % 100, 2, destination, out written) : TryNumber(year, destination, out written);

        private bool TryNumber(int value, Span<char> destination, out int written) => TryPadded(value, Count, destination, out written);

        private bool TryFraction(DateTime t, Span<char> destination, out int written)
        {
            // Joda prints the fraction truncated to Count digits (milliseconds precision, zero-filled beyond).
            int millis = t.Millisecond;
            written = 0;
            if (destination.Length < Count)
            {
                return false;
            }

            int digits = Math.Min(Count, 3);
            int value = millis / (int)Math.Pow(10, 3 - digits);
            if (!TryPadded(value, digits, destination, out written))
            {
                return false;
            }

            for (int i = digits; i < Count; i++)
            {
                destination[written++] = '0';
            }

            return true;
        }

        private static bool TryPadded(int value, int minDigits, Span<char> destination, out int written)
        {
            Span<char> format = ['D', (char)('0' + Math.Min(minDigits, 9))];
            return value.TryFormat(destination, out written, format, CultureInfo.InvariantCulture);
        }

        private static bool TryText(string text, Span<char> destination, out int written)
        {
            written = 0;
            if (!text.TryCopyTo(destination))
            {
                return false;
            }

            written = text.Length;
            return true;
        }
    }
}
