using System.Globalization;

namespace Flotel.Wire.Syslog;

/// <summary>
/// The configured zone of zone-less RFC 3164 times: UTC, a fixed offset, or a system time zone
/// (<see cref="TimeZoneInfo.FindSystemTimeZoneById"/>; tz data works on Linux under InvariantGlobalization).
/// </summary>
internal sealed class SyslogTimeZone
{
    private readonly TimeZoneInfo? _zone;
    private readonly TimeSpan _fixedOffset;

    private SyslogTimeZone(TimeZoneInfo? zone, TimeSpan fixedOffset)
    {
        _zone = zone;
        _fixedOffset = fixedOffset;
    }

    public static SyslogTimeZone Utc { get; } = new(null, TimeSpan.Zero);

    /// <summary>Resolves a <c>timezone</c> option; throws <see cref="ArgumentException"/> naming the key when unknown.</summary>
    public static SyslogTimeZone Resolve(string? timezone)
    {
        if (string.IsNullOrWhiteSpace(timezone) || timezone is "UTC" or "utc" or "Z" or "Etc/UTC" or "GMT")
        {
            return Utc;
        }

        if (timezone[0] is '+' or '-' && TryParseOffset(timezone, out TimeSpan offset))
        {
            return new SyslogTimeZone(null, offset);
        }

        try
        {
            return new SyslogTimeZone(TimeZoneInfo.FindSystemTimeZoneById(timezone), TimeSpan.Zero);
        }
        catch (TimeZoneNotFoundException e)
        {
            throw new ArgumentException($"`timezone` \"{timezone}\" is neither UTC, an offset like -05:00, nor a known time zone id", nameof(timezone), e);
        }
        catch (InvalidTimeZoneException e)
        {
            throw new ArgumentException($"`timezone` \"{timezone}\" has invalid time zone data", nameof(timezone), e);
        }
    }

    /// <summary>Converts a wall-clock time in this zone to UTC (a time in a DST gap takes the standard offset).</summary>
    public DateTime ToUtc(DateTime local)
    {
        TimeSpan offset = _zone is null ? _fixedOffset : _zone.GetUtcOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified));
        return DateTime.SpecifyKind(local - offset, DateTimeKind.Utc);
    }

    /// <summary>Converts a UTC time to this zone's wall clock (used to take the year of RFC 3164 times).</summary>
    public DateTime FromUtc(DateTime utc)
    {
        if (_zone is null)
        {
            return DateTime.SpecifyKind(utc + _fixedOffset, DateTimeKind.Unspecified);
        }

        return TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), _zone);
    }

    private static bool TryParseOffset(string text, out TimeSpan offset)
    {
        offset = default;
        ReadOnlySpan<char> digits = text.AsSpan(1);
        int hours;
        int minutes;
        if (digits.Length == 5 && digits[2] == ':')
        {
            if (!int.TryParse(digits[..2], NumberStyles.None, CultureInfo.InvariantCulture, out hours)
                || !int.TryParse(digits[3..], NumberStyles.None, CultureInfo.InvariantCulture, out minutes))
            {
                return false;
            }
        }
        else if (digits.Length == 4)
        {
            if (!int.TryParse(digits[..2], NumberStyles.None, CultureInfo.InvariantCulture, out hours)
                || !int.TryParse(digits[2..], NumberStyles.None, CultureInfo.InvariantCulture, out minutes))
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (hours > 14 || minutes > 59)
        {
            return false;
        }

        offset = new TimeSpan(hours, minutes, 0);
        if (text[0] == '-')
        {
            offset = -offset;
        }

        return true;
    }
}
