namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// Rounds instants down to date histogram bucket keys (Unix milliseconds, UTC), in the histogram's time zone and shifted
/// by its <c>offset</c>, as Elasticsearch's Rounding does:
/// fixed intervals, minutes and hours are cut on the local clock but counted in elapsed time (a bucket never spans a DST
/// change twice, so the repeated hour of a fall-back night is two buckets); days, weeks (from Monday), months, quarters
/// and years start at local midnight, so a day bucket is 23 or 25 hours long across a DST change.
/// </summary>
internal sealed class DateRounding(DateInterval interval, DateZone zone, long offsetMs)
{
    public DateZone Zone { get; } = zone;

    public long Round(long utcMs)
    {
        long t = utcMs - offsetMs;
        return RoundUnshifted(t) + offsetMs;
    }

    private long RoundUnshifted(long t)
    {
        long local = t + Zone.OffsetAt(t);
        switch (interval.Unit)
        {
            case CalendarUnit.None:
                return t - FloorMod(local, interval.FixedMs);
            case CalendarUnit.Minute:
                return t - FloorMod(local, 60_000);
            case CalendarUnit.Hour:
                return t - FloorMod(local, 3_600_000);
        }

        long day = FloorDiv(local, 86_400_000);
        DateOnly date = DateOnly.FromDayNumber((int)(day + DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber));
        DateOnly start = interval.Unit switch
        {
            CalendarUnit.Day => date,
            CalendarUnit.Week => date.AddDays(-(((int)date.DayOfWeek + 6) % 7)),
            CalendarUnit.Month => new DateOnly(date.Year, date.Month, 1),
            CalendarUnit.Quarter => new DateOnly(date.Year, (((date.Month - 1) / 3) * 3) + 1, 1),
            _ => new DateOnly(date.Year, 1, 1),
        };
        return Zone.ToUtc(LocalMs(start));
    }

    /// <summary>The key of the bucket after the one keyed <paramref name="key"/>.</summary>
    public long Next(long key)
    {
        if (interval.Unit is CalendarUnit.None or CalendarUnit.Minute or CalendarUnit.Hour)
        {
            long step = interval.Unit switch { CalendarUnit.Minute => 60_000, CalendarUnit.Hour => 3_600_000, _ => interval.FixedMs };
            long next = Round(key + step);
            // Across a DST change the local cut can land back on the same bucket: step once more.
            return next > key ? next : Round(key + (2 * step));
        }

        long t = key - offsetMs;
        long local = t + Zone.OffsetAt(t);
        DateOnly date = DateOnly.FromDayNumber((int)(FloorDiv(local, 86_400_000) + DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber));
        DateOnly following = interval.Unit switch
        {
            CalendarUnit.Day => date.AddDays(1),
            CalendarUnit.Week => date.AddDays(7),
            CalendarUnit.Month => date.AddMonths(1),
            CalendarUnit.Quarter => date.AddMonths(3),
            _ => date.AddYears(1),
        };
        return Zone.ToUtc(LocalMs(following)) + offsetMs;
    }

    private static long LocalMs(DateOnly date) => (date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * 86_400_000L;

    internal static long FloorMod(long a, long b)
    {
        long r = a % b;
        return r < 0 ? r + b : r;
    }

    internal static long FloorDiv(long a, long b) => (a - FloorMod(a, b)) / b;
}
