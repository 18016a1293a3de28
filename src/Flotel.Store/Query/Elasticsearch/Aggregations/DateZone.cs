using System.Globalization;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// A date histogram's <c>time_zone</c>: a fixed offset (<c>+01:00</c>, <c>-0530</c>, <c>Z</c>, <c>UTC</c>) or an IANA zone
/// (<c>Europe/Berlin</c>) read from the system's time zone database. Offsets at an instant are cached per quarter hour
/// (every zone changes offset on a quarter-hour boundary), so a histogram over a million events asks the zone rules only
/// a few hundred times. Not thread-safe: one per aggregation run.
/// </summary>
public sealed class DateZone
{
    private const long SlotMs = 15 * 60_000;

    private readonly TimeZoneInfo? _zone;
    private readonly long _fixedOffsetMs;
    private long _cachedSlot = long.MinValue;
    private long _cachedOffset;

    private DateZone(string id, TimeZoneInfo? zone, long fixedOffsetMs)
    {
        Id = id;
        _zone = zone;
        _fixedOffsetMs = fixedOffsetMs;
    }

    public static DateZone Utc { get; } = new("Z", null, 0);

    /// <summary>The zone as the request named it.</summary>
    public string Id { get; }

    /// <summary>Whether the offset never changes (UTC or a fixed offset).</summary>
    public bool IsFixed => _zone is null;

    /// <summary>Reads a <c>time_zone</c> value; null when it is neither an offset nor a known zone id.</summary>
    public static DateZone? TryParse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text is "Z" or "UTC" or "utc" or "Etc/UTC" or "GMT" or "Etc/GMT" or "+00:00" or "-00:00")
        {
            return Utc;
        }

        if (text.Length >= 2 && text[0] is '+' or '-' && TryParseOffset(text.AsSpan(1), out long ms))
        {
            return new DateZone(text, null, text[0] == '-' ? -ms : ms);
        }

        try
        {
            TimeZoneInfo zone = TimeZoneInfo.FindSystemTimeZoneById(text);
            return zone.GetAdjustmentRules().Length == 0 && zone.BaseUtcOffset == TimeSpan.Zero && zone.Id is "UTC" or "Etc/UTC"
                ? Utc
                : new DateZone(text, zone, 0);
        }
        catch (TimeZoneNotFoundException)
        {
            return null;
        }
        catch (InvalidTimeZoneException)
        {
            return null;
        }
    }

    // "01", "1", "0100", "01:00", "05:30" (Java's ZoneOffset.of forms).
    private static bool TryParseOffset(ReadOnlySpan<char> text, out long ms)
    {
        ms = 0;
        int hours;
        int minutes = 0;
        if (text.Length is 1 or 2)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out hours))
            {
                return false;
            }
        }
        else if (text.Length == 4 && int.TryParse(text[..2], NumberStyles.None, CultureInfo.InvariantCulture, out hours)
            && int.TryParse(text[2..], NumberStyles.None, CultureInfo.InvariantCulture, out minutes))
        {
        }
        else if (text.Length == 5 && text[2] == ':' && int.TryParse(text[..2], NumberStyles.None, CultureInfo.InvariantCulture, out hours)
            && int.TryParse(text[3..], NumberStyles.None, CultureInfo.InvariantCulture, out minutes))
        {
        }
        else
        {
            return false;
        }

        if (hours > 18 || minutes > 59)
        {
            return false;
        }

        ms = (hours * 3_600_000L) + (minutes * 60_000L);
        return true;
    }

    /// <summary>The zone's offset from UTC at the instant <paramref name="utcMs"/>, in milliseconds.</summary>
    public long OffsetAt(long utcMs)
    {
        if (_zone is null)
        {
            return _fixedOffsetMs;
        }

        long slot = Math.DivRem(utcMs, SlotMs, out long rem) - (rem < 0 ? 1 : 0);
        if (slot != _cachedSlot)
        {
            _cachedSlot = slot;
            _cachedOffset = (long)_zone.GetUtcOffset(DateTimeOffset.FromUnixTimeMilliseconds(Clamp(utcMs))).TotalMilliseconds;
        }

        return _cachedOffset;
    }

    /// <summary>
    /// The instant of local wall-clock time <paramref name="localMs"/> (milliseconds since 1970-01-01T00:00 local). A time
    /// the zone skips (spring forward) is moved past the gap; a time it shows twice (fall back) is the first of the two,
    /// as Elasticsearch rounds.
    /// </summary>
    public long ToUtc(long localMs)
    {
        if (_zone is null)
        {
            return localMs - _fixedOffsetMs;
        }

        var local = new DateTime(DateTime.UnixEpoch.Ticks + (Clamp(localMs) * TimeSpan.TicksPerMillisecond), DateTimeKind.Unspecified);
        if (_zone.IsInvalidTime(local))
        {
            // In the gap: the first instant after it, where the later offset applies.
            long before = OffsetAt(localMs - _fixedOffsetMs - 86_400_000);
            long guess = localMs - before;
            return guess;
        }

        if (_zone.IsAmbiguousTime(local))
        {
            TimeSpan[] offsets = _zone.GetAmbiguousTimeOffsets(local);
            long largest = (long)offsets.Max().TotalMilliseconds;
            return localMs - largest;
        }

        return localMs - (long)_zone.GetUtcOffset(local).TotalMilliseconds;
    }

    // DateTimeOffset covers years 1 to 9999; instants outside are clamped for the zone lookup only.
    private static long Clamp(long ms) => Math.Clamp(ms, -62_135_596_800_000L + 86_400_000, 253_402_300_799_999L - 86_400_000);
}
