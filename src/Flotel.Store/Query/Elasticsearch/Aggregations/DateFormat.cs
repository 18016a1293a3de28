using System.Globalization;
using System.Text;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// Formats bucket keys as <c>key_as_string</c>: Elasticsearch's named date formats that clients send (<c>epoch_millis</c>,
/// <c>epoch_second</c>, <c>strict_date_optional_time</c>, <c>date_time</c>, <c>date</c>, …) and Java
/// <c>DateTimeFormatter</c> patterns made of the letters <c>y M d H h m s S a E Z X x</c>, quoted text and punctuation.
/// With <c>a||b</c> alternatives the first formats (Elasticsearch parses with all, prints with the first).
/// </summary>
public sealed class DateFormat
{
    private static readonly Dictionary<string, string> Named = new(StringComparer.Ordinal)
    {
        ["strict_date_optional_time"] = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        ["date_optional_time"] = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        ["strict_date_optional_time_nanos"] = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX",
        ["date_time"] = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        ["strict_date_time"] = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        ["date_time_no_millis"] = "yyyy-MM-dd'T'HH:mm:ssXXX",
        ["strict_date_time_no_millis"] = "yyyy-MM-dd'T'HH:mm:ssXXX",
        ["date"] = "yyyy-MM-dd",
        ["strict_date"] = "yyyy-MM-dd",
        ["basic_date"] = "yyyyMMdd",
        ["basic_date_time"] = "yyyyMMdd'T'HHmmss.SSSX",
        ["date_hour"] = "yyyy-MM-dd'T'HH",
        ["strict_date_hour"] = "yyyy-MM-dd'T'HH",
        ["date_hour_minute"] = "yyyy-MM-dd'T'HH:mm",
        ["strict_date_hour_minute"] = "yyyy-MM-dd'T'HH:mm",
        ["date_hour_minute_second"] = "yyyy-MM-dd'T'HH:mm:ss",
        ["strict_date_hour_minute_second"] = "yyyy-MM-dd'T'HH:mm:ss",
        ["date_hour_minute_second_millis"] = "yyyy-MM-dd'T'HH:mm:ss.SSS",
        ["strict_date_hour_minute_second_millis"] = "yyyy-MM-dd'T'HH:mm:ss.SSS",
        ["hour_minute"] = "HH:mm",
        ["strict_hour_minute"] = "HH:mm",
        ["hour_minute_second"] = "HH:mm:ss",
        ["strict_hour_minute_second"] = "HH:mm:ss",
        ["year_month_day"] = "yyyy-MM-dd",
        ["strict_year_month_day"] = "yyyy-MM-dd",
        ["year_month"] = "yyyy-MM",
        ["strict_year_month"] = "yyyy-MM",
        ["year"] = "yyyy",
        ["strict_year"] = "yyyy",
    };

    private readonly Kind _kind;
    private readonly List<(char Letter, int Count, string? Literal)> _tokens = [];

    private DateFormat(string text, Kind kind)
    {
        Text = text;
        _kind = kind;
    }

    private enum Kind
    {
        EpochMillis,
        EpochSecond,
        Pattern,
    }

    /// <summary>Elasticsearch's default for a <c>date</c> field.</summary>
    public static DateFormat Default { get; } = Parse("strict_date_optional_time");

    /// <summary>The format as the request wrote it.</summary>
    public string Text { get; }

    /// <exception cref="ElasticsearchException">400 for a format or pattern letter this gateway cannot print.</exception>
    public static DateFormat Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string first = text.Split("||")[0].Trim();
        if (first == "epoch_millis")
        {
            return new DateFormat(text, Kind.EpochMillis);
        }

        if (first == "epoch_second")
        {
            return new DateFormat(text, Kind.EpochSecond);
        }

        var format = new DateFormat(text, Kind.Pattern);
        format.Tokenize(Named.GetValueOrDefault(first) ?? first);
        return format;
    }

    private void Tokenize(string pattern)
    {
        for (int i = 0; i < pattern.Length;)
        {
            char c = pattern[i];
            if (c == '\'')
            {
                int end = pattern.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw Invalid("unterminated quote");
                }

                _tokens.Add(('\0', 0, end == i + 1 ? "'" : pattern[(i + 1)..end]));
                i = end + 1;
            }
            else if (char.IsAsciiLetter(c))
            {
                if ("yuMdHhmsSaEZXx".IndexOf(c, StringComparison.Ordinal) < 0)
                {
                    throw Invalid($"unsupported pattern letter [{c}]");
                }

                int count = 1;
                while (i + count < pattern.Length && pattern[i + count] == c)
                {
                    count++;
                }

                _tokens.Add((c, count, null));
                i += count;
            }
            else
            {
                _tokens.Add(('\0', 0, c.ToString()));
                i++;
            }
        }

        ElasticsearchException Invalid(string why) =>
            ElasticsearchException.IllegalArgument($"Invalid format: [{Text}]: {why} (supported: epoch_millis, epoch_second, the strict_/date_* named formats, and patterns of y M d H h m s S a E Z X)");
    }

    /// <summary>The instant <paramref name="utcMs"/> as local time in <paramref name="zone"/>, in this format.</summary>
    public string Format(long utcMs, DateZone zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        switch (_kind)
        {
            case Kind.EpochMillis:
                return utcMs.ToString(CultureInfo.InvariantCulture);
            case Kind.EpochSecond:
                return Math.Floor(utcMs / 1000.0).ToString(CultureInfo.InvariantCulture);
        }

        long offset = zone.OffsetAt(utcMs);
        var local = new DateTime(DateTime.UnixEpoch.Ticks + ((utcMs + offset) * TimeSpan.TicksPerMillisecond), DateTimeKind.Unspecified);
        var text = new StringBuilder(32);
        foreach ((char letter, int count, string? literal) in _tokens)
        {
            if (literal is not null)
            {
                text.Append(literal);
                continue;
            }

            switch (letter)
            {
                case 'y' or 'u':
                    text.Append(count == 2 ? (local.Year % 100).ToString("00", CultureInfo.InvariantCulture) : local.Year.ToString(new string('0', Math.Max(count, 1)), CultureInfo.InvariantCulture));
                    break;
                case 'M':
                    text.Append(count switch
                    {
                        1 => local.Month.ToString(CultureInfo.InvariantCulture),
                        2 => local.Month.ToString("00", CultureInfo.InvariantCulture),
                        3 => CultureInfo.InvariantCulture.DateTimeFormat.GetAbbreviatedMonthName(local.Month),
                        _ => CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(local.Month),
                    });
                    break;
                case 'd':
                    Number(local.Day);
                    break;
                case 'H':
                    Number(local.Hour);
                    break;
                case 'h':
                    Number(local.Hour % 12 == 0 ? 12 : local.Hour % 12);
                    break;
                case 'm':
                    Number(local.Minute);
                    break;
                case 's':
                    Number(local.Second);
                    break;
                case 'S':
                    // Fraction of the second, to `count` digits (milliseconds padded with zeros beyond three).
                    string fraction = (local.Ticks % TimeSpan.TicksPerSecond).ToString("0000000", CultureInfo.InvariantCulture) + "00";
                    text.Append(fraction.AsSpan(0, Math.Min(count, 9)));
                    break;
                case 'a':
                    text.Append(local.Hour < 12 ? "AM" : "PM");
                    break;
                case 'E':
                    text.Append(count >= 4 ? local.DayOfWeek.ToString() : local.DayOfWeek.ToString()[..3]);
                    break;
                case 'Z' or 'X' or 'x':
                    AppendOffset(text, letter, count, offset);
                    break;
            }

            void Number(int value) => text.Append(value.ToString(count >= 2 ? "00" : "0", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    // Java: X prints "Z" for zero, x never; X/x: +HH (1), +HHmm (2), +HH:mm (3+); Z: +HHmm (1-3), +HH:mm (5).
    private static void AppendOffset(StringBuilder text, char letter, int count, long offsetMs)
    {
        if (offsetMs == 0 && letter == 'X')
        {
            text.Append('Z');
            return;
        }

        long minutes = Math.Abs(offsetMs) / 60_000;
        text.Append(offsetMs < 0 ? '-' : '+').Append((minutes / 60).ToString("00", CultureInfo.InvariantCulture));
        bool colon = letter == 'Z' ? count >= 4 : count >= 3;
        if (letter != 'Z' && count == 1)
        {
            if (minutes % 60 != 0)
            {
                text.Append((minutes % 60).ToString("00", CultureInfo.InvariantCulture));
            }

            return;
        }

        text.Append(colon ? ":" : string.Empty).Append((minutes % 60).ToString("00", CultureInfo.InvariantCulture));
    }
}
