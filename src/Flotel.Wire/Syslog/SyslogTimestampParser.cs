namespace Flotel.Wire.Syslog;

/// <summary>
/// Allocation-free readers for the two header time forms: RFC 3339 (RFC 5424 §6.2.3, also sent in RFC 3164
/// headers by Flotta, Go and rsyslog) and the BSD form <c>Mmm dd hh:mm:ss</c> (RFC 3164 §4.1.2) with rsyslog's
/// leniencies (<c>runtime/datetime.c</c>): any-case month, space-padded or 1-digit day, a year after the day
/// (Cisco) or before the month (Brocade), fractional seconds, a trailing <c>:</c> (Cisco).
/// </summary>
internal static class SyslogTimestampParser
{
    /// <summary>
    /// Reads <c>YYYY-MM-DD(T|t|SP)HH:MM:SS[.frac][Z|±HH:MM|±HHMM]</c> at <paramref name="pos"/>. The wall-clock
    /// time goes to <paramref name="value"/>; <paramref name="hasOffset"/> says whether an offset was given (a
    /// leap second 60 is read as 59).
    /// </summary>
    public static bool TryReadRfc3339(ReadOnlySpan<byte> s, int pos, out int end, out DateTime value, out bool hasOffset, out TimeSpan offset)
    {
        end = pos;
        value = default;
        hasOffset = false;
        offset = default;
        ReadOnlySpan<byte> t = s[pos..];
        if (t.Length < 19 || t[4] != '-' || t[7] != '-' || t[10] is not ((byte)'T' or (byte)'t' or (byte)' ') || t[13] != ':' || t[16] != ':')
        {
            return false;
        }

        if (!TryDigits(t, 0, 4, out int year) || !TryDigits(t, 5, 2, out int month) || !TryDigits(t, 8, 2, out int day)
            || !TryDigits(t, 11, 2, out int hour) || !TryDigits(t, 14, 2, out int minute) || !TryDigits(t, 17, 2, out int second))
        {
            return false;
        }

        int i = 19;
        long fraction = ReadFraction(t, ref i);
        if (fraction < 0)
        {
            return false;
        }

        if (i < t.Length)
        {
            byte z = t[i];
            if (z is (byte)'Z' or (byte)'z')
            {
                hasOffset = true;
                i++;
            }
            else if (z is (byte)'+' or (byte)'-')
            {
                int oh;
                int om;
                if (i + 6 <= t.Length && t[i + 3] == ':' && TryDigits(t, i + 1, 2, out oh) && TryDigits(t, i + 4, 2, out om))
                {
                    i += 6;
                }
                else if (i + 5 <= t.Length && TryDigits(t, i + 1, 2, out oh) && TryDigits(t, i + 3, 2, out om))
                {
                    i += 5;
                }
                else
                {
                    return false;
                }

                if (oh > 23 || om > 59)
                {
                    return false;
                }

                hasOffset = true;
                offset = new TimeSpan(oh, om, 0);
                if (z == '-')
                {
                    offset = -offset;
                }
            }
        }

        if (!TryBuild(year, month, day, hour, minute, second, fraction, out value))
        {
            return false;
        }

        end = pos + i;
        return true;
    }

    /// <summary>
    /// Reads a BSD timestamp at <paramref name="pos"/>. <paramref name="year"/> is 0 when the text has none;
    /// <paramref name="textEnd"/> excludes a Cisco trailing <c>:</c>, <paramref name="end"/> includes it.
    /// </summary>
    public static bool TryReadBsd(ReadOnlySpan<byte> s, int pos, out int textEnd, out int end, out int year, out int month, out int day, out long timeOfDayTicks)
    {
        textEnd = end = pos;
        year = month = day = 0;
        timeOfDayTicks = 0;
        int i = pos;

        // Brocade: "2022 Oct 11 22:14:15".
        if (i + 5 <= s.Length && s[i + 4] == ' ' && TryDigits(s, i, 4, out int leadingYear))
        {
            year = leadingYear;
            i += 5;
        }

        if (i + 3 > s.Length || (month = Month(s[i], s[i + 1], s[i + 2])) == 0)
        {
            return false;
        }

        i += 3;
        if (!SkipSpaces(s, ref i))
        {
            return false;
        }

        if (i < s.Length && IsDigit(s[i]))
        {
            day = s[i++] - '0';
            if (i < s.Length && IsDigit(s[i]))
            {
                day = (day * 10) + (s[i++] - '0');
            }
        }
        else
        {
            return false;
        }

        if (!SkipSpaces(s, ref i))
        {
            return false;
        }

        // Cisco: "Oct 11 2022 22:14:15".
        if (year == 0 && i + 5 <= s.Length && s[i + 4] == ' ' && TryDigits(s, i, 4, out int trailingYear))
        {
            year = trailingYear;
            i += 5;
        }

        if (i + 8 > s.Length || s[i + 2] != ':' || s[i + 5] != ':'
            || !TryDigits(s, i, 2, out int hour) || !TryDigits(s, i + 3, 2, out int minute) || !TryDigits(s, i + 6, 2, out int second))
        {
            return false;
        }

        i += 8;
        long fraction = ReadFraction(s, ref i);
        if (fraction < 0 || hour > 23 || minute > 59 || second > 60 || day < 1 || day > 31)
        {
            return false;
        }

        textEnd = i;
        if (i < s.Length && s[i] == ':' && (i + 1 == s.Length || s[i + 1] == ' '))
        {
            i++;
        }

        if (i < s.Length && s[i] != ' ')
        {
            return false;
        }

        end = i;
        timeOfDayTicks = (((hour * 3600L) + (minute * 60L) + Math.Min(second, 59)) * TimeSpan.TicksPerSecond) + fraction;
        return true;
    }

    /// <summary>Builds a date, rejecting impossible ones (Feb 30, Feb 29 in a common year).</summary>
    public static bool TryBuild(int year, int month, int day, long timeOfDayTicks, out DateTime value)
    {
        value = default;
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        value = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified).AddTicks(timeOfDayTicks);
        return true;
    }

    private static bool TryBuild(int year, int month, int day, int hour, int minute, int second, long fraction, out DateTime value)
    {
        value = default;
        if (hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        long ticks = (((hour * 3600L) + (minute * 60L) + Math.Min(second, 59)) * TimeSpan.TicksPerSecond) + fraction;
        return TryBuild(year, month, day, ticks, out value);
    }

    // ".d+" → ticks (digits after the 7th are read and ignored); 0 when absent; -1 for a '.' without digits.
    private static long ReadFraction(ReadOnlySpan<byte> s, ref int i)
    {
        if (i >= s.Length || s[i] != '.')
        {
            return 0;
        }

        int start = ++i;
        long ticks = 0;
        int scale = 7;
        while (i < s.Length && IsDigit(s[i]))
        {
            if (scale > 0)
            {
                ticks = (ticks * 10) + (s[i] - '0');
                scale--;
            }

            i++;
        }

        if (i == start)
        {
            return -1;
        }

        while (scale-- > 0)
        {
            ticks *= 10;
        }

        return ticks;
    }

    private static bool SkipSpaces(ReadOnlySpan<byte> s, ref int i)
    {
        int start = i;
        while (i < s.Length && s[i] == ' ')
        {
            i++;
        }

        return i > start;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool TryDigits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        if (start + count > s.Length)
        {
            return false;
        }

        for (int i = start; i < start + count; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + (int)d;
        }

        return true;
    }

    // Case-insensitive English month abbreviation (RFC 3164 §4.1.2; rsyslog accepts any case) → 1..12, else 0.
    private static int Month(byte a, byte b, byte c)
    {
        int key = ((a | 0x20) << 16) | ((b | 0x20) << 8) | (c | 0x20);
        return key switch
        {
            ('j' << 16) | ('a' << 8) | 'n' => 1,
            ('f' << 16) | ('e' << 8) | 'b' => 2,
            ('m' << 16) | ('a' << 8) | 'r' => 3,
            ('a' << 16) | ('p' << 8) | 'r' => 4,
            ('m' << 16) | ('a' << 8) | 'y' => 5,
            ('j' << 16) | ('u' << 8) | 'n' => 6,
            ('j' << 16) | ('u' << 8) | 'l' => 7,
            ('a' << 16) | ('u' << 8) | 'g' => 8,
            ('s' << 16) | ('e' << 8) | 'p' => 9,
            ('o' << 16) | ('c' << 8) | 't' => 10,
            ('n' << 16) | ('o' << 8) | 'v' => 11,
            ('d' << 16) | ('e' << 8) | 'c' => 12,
            _ => 0,
        };
    }
}
