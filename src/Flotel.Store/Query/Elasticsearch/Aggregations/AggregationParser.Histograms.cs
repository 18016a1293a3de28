using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

// date_histogram and histogram: intervals, offsets, bounds (see AggregationParser.cs for the limits and value readers).
public static partial class AggregationParser
{
    private static DateHistogramAggregation ParseDateHistogram(string name, JsonElement body)
    {
        string? field = null;
        DateInterval? interval = null;
        DateZone zone = DateZone.Utc;
        DateFormat format = DateFormat.Default;
        string? offsetText = null;
        long minDocCount = 0;
        (long, long)? extended = null;
        (long?, long?)? hard = null;
        bool keyed = false;
        long? missing = null;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "fixed_interval":
                    interval = Once(interval, ParseFixedInterval(Text(p.Value, name, p.Name), name), name);
                    break;
                case "calendar_interval":
                    interval = Once(interval, ParseCalendarInterval(Text(p.Value, name, p.Name), name)
                        ?? throw ElasticsearchException.IllegalArgument(
                            $"The supplied interval [{p.Value}] could not be parsed as a calendar interval."), name);
                    break;
                case "interval":
                    // Legacy: a calendar unit ("1d", "month") is calendar, anything else (or a number of ms) fixed.
                    string legacy = p.Value.ValueKind == JsonValueKind.Number
                        ? Long(p.Value, name, p.Name).ToString(CultureInfo.InvariantCulture) + "ms"
                        : Text(p.Value, name, p.Name);
                    interval = Once(interval, ParseCalendarInterval(legacy, name) ?? ParseFixedInterval(legacy, name), name);
                    break;
                case "time_zone":
                    string zoneText = Text(p.Value, name, p.Name);
                    zone = DateZone.TryParse(zoneText) ?? throw ElasticsearchException.IllegalArgument($"Unknown time-zone ID: {zoneText}");
                    break;
                case "format":
                    format = DateFormat.Parse(Text(p.Value, name, p.Name));
                    break;
                case "offset":
                    offsetText = p.Value.ValueKind == JsonValueKind.Number
                        ? Long(p.Value, name, p.Name).ToString(CultureInfo.InvariantCulture) + "ms"
                        : Text(p.Value, name, p.Name);
                    break;
                case "min_doc_count":
                    minDocCount = NonNegative(p.Value, name, p.Name);
                    break;
                case "extended_bounds":
                    (long? min, long? max) = DateBounds(p.Value, name, p.Name);
                    extended = (min ?? throw Bad(name, "extended_bounds.min is required"), max ?? throw Bad(name, "extended_bounds.max is required"));
                    break;
                case "hard_bounds":
                    hard = DateBounds(p.Value, name, p.Name);
                    break;
                case "keyed":
                    keyed = Bool(p.Value, name, p.Name);
                    break;
                case "missing":
                    missing = DateValue(p.Value, name, p.Name);
                    break;
                case "order":
                    // Elasticsearch's default and the only order Grafana and Kibana send for histograms.
                    if (!IsKeyAscending(p.Value))
                    {
                        throw Bad(name, "only \"order\": {\"_key\": \"asc\"} is supported for date_histogram");
                    }

                    break;
                default:
                    throw Unknown("date_histogram", name, p.Name);
            }
        }

        if (interval is null)
        {
            throw ElasticsearchException.IllegalArgument("Invalid interval specified, must be non-null and non-empty");
        }

        if (extended is { } e && e.Item1 > e.Item2)
        {
            throw ElasticsearchException.IllegalArgument(
                $"[extended_bounds.min][{e.Item1}] cannot be greater than [extended_bounds.max][{e.Item2}] for histogram aggregation [{name}]");
        }

        long offset = offsetText is null ? 0 : ParseOffset(offsetText, name);
        return new DateHistogramAggregation(
            name, Require(field, "date_histogram", name), interval, zone, format, offset, minDocCount, extended, hard, keyed, missing);
    }

    private static DateInterval Once(DateInterval? existing, DateInterval next, string name) =>
        existing is null
            ? next
            : throw ElasticsearchException.IllegalArgument($"Cannot use more than one of [interval], [fixed_interval], [calendar_interval] in [{name}]");

    private static DateInterval ParseFixedInterval(string text, string name)
    {
        long ms = ParseDuration(text) ?? throw ElasticsearchException.IllegalArgument(
            $"failed to parse setting [date_histogram.fixedInterval] with value [{text}] as a time value: unit is missing or unrecognized");
        return ms > 0
            ? new DateInterval(ms, CalendarUnit.None)
            : throw ElasticsearchException.IllegalArgument($"[interval] must be 1 or greater for aggregation [{name}]");
    }

    // Elasticsearch's DateHistogramInterval calendar units: "1m"/"minute" … "1y"/"year"; quantities other than 1 are fixed.
    private static DateInterval? ParseCalendarInterval(string text, string name)
    {
        _ = name;
        CalendarUnit unit = text switch
        {
            "1m" or "minute" => CalendarUnit.Minute,
            "1h" or "hour" => CalendarUnit.Hour,
            "1d" or "day" => CalendarUnit.Day,
            "1w" or "week" => CalendarUnit.Week,
            "1M" or "month" => CalendarUnit.Month,
            "1q" or "quarter" => CalendarUnit.Quarter,
            "1y" or "year" => CalendarUnit.Year,
            _ => CalendarUnit.None,
        };
        return unit == CalendarUnit.None ? null : new DateInterval(0, unit);
    }

    /// <summary>A time value (<c>10s</c>, <c>1000ms</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>) in milliseconds; null when malformed.</summary>
    internal static long? ParseDuration(string text)
    {
        (string Unit, long Ms)[] units = [("nanos", 0), ("micros", 0), ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach ((string unit, long ms) in units)
        {
            if (text.EndsWith(unit, StringComparison.Ordinal))
            {
                if (ms == 0
                    || !long.TryParse(text.AsSpan(0, text.Length - unit.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
                    || n > long.MaxValue / ms / 4)
                {
                    return null;
                }

                return n * ms;
            }
        }

        return null;
    }

    private static long ParseOffset(string text, string name)
    {
        bool negative = text.StartsWith('-');
        string magnitude = text.TrimStart('+', '-');
        long ms = ParseDuration(magnitude) ?? throw Bad(name, $"[offset] [{text}] is not a time value such as \"+6h\" or \"-1d\"");
        return negative ? -ms : ms;
    }

    private static (long?, long?) DateBounds(JsonElement value, string name, string key)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad(name, $"[{key}] must be an object with [min] and [max]");
        }

        long? min = null, max = null;
        foreach (JsonProperty p in value.EnumerateObject())
        {
            switch (p.Name)
            {
                case "min":
                    min = p.Value.ValueKind == JsonValueKind.Null ? null : DateValue(p.Value, name, key + ".min");
                    break;
                case "max":
                    max = p.Value.ValueKind == JsonValueKind.Null ? null : DateValue(p.Value, name, key + ".max");
                    break;
                default:
                    throw Unknown(key, name, p.Name);
            }
        }

        return (min, max);
    }

    // Unix milliseconds as a number or digits, or an ISO-8601 date/time (UTC unless it carries an offset).
    private static long DateValue(JsonElement value, string name, string key)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.TryGetInt64(out long l) ? l : (long)value.GetDouble();
        }

        string text = Text(value, name, key);
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms))
        {
            return ms;
        }

        const DateTimeStyles utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, utc, out DateTimeOffset date)
            ? date.ToUnixTimeMilliseconds()
            : throw Bad(name, $"[{key}] [{text}] is neither Unix milliseconds nor an ISO-8601 date (date math such as now-1h is not supported)");
    }

    private static bool IsKeyAscending(JsonElement order) =>
        order.ValueKind == JsonValueKind.Object && order.TryGetProperty("_key", out JsonElement direction)
        && direction.ValueKind == JsonValueKind.String && direction.GetString() == "asc";

    private static HistogramAggregation ParseHistogram(string name, JsonElement body)
    {
        string? field = null;
        double? interval = null;
        double offset = 0;
        long minDocCount = 0;
        (double, double)? extended = null;
        (double?, double?)? hard = null;
        bool keyed = false;
        double? missing = null;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "interval":
                    interval = Double(p.Value, name, p.Name);
                    break;
                case "offset":
                    offset = Double(p.Value, name, p.Name);
                    break;
                case "min_doc_count":
                    minDocCount = NonNegative(p.Value, name, p.Name);
                    break;
                case "extended_bounds":
                    (double? min, double? max) = NumberBounds(p.Value, name, p.Name);
                    extended = (min ?? throw Bad(name, "extended_bounds.min is required"), max ?? throw Bad(name, "extended_bounds.max is required"));
                    break;
                case "hard_bounds":
                    hard = NumberBounds(p.Value, name, p.Name);
                    break;
                case "keyed":
                    keyed = Bool(p.Value, name, p.Name);
                    break;
                case "missing":
                    missing = Double(p.Value, name, p.Name);
                    break;
                case "order":
                    if (!IsKeyAscending(p.Value))
                    {
                        throw Bad(name, "only \"order\": {\"_key\": \"asc\"} is supported for histogram");
                    }

                    break;
                default:
                    throw Unknown("histogram", name, p.Name);
            }
        }

        if (interval is not ({ } i and > 0) || double.IsInfinity(i))
        {
            throw ElasticsearchException.IllegalArgument($"[interval] must be >0 for histogram aggregation [{name}]");
        }

        return new HistogramAggregation(name, Require(field, "histogram", name), i, offset, minDocCount, extended, hard, keyed, missing);
    }

    private static (double?, double?) NumberBounds(JsonElement value, string name, string key)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad(name, $"[{key}] must be an object with [min] and [max]");
        }

        double? min = null, max = null;
        foreach (JsonProperty p in value.EnumerateObject())
        {
            switch (p.Name)
            {
                case "min":
                    min = Double(p.Value, name, key + ".min");
                    break;
                case "max":
                    max = Double(p.Value, name, key + ".max");
                    break;
                default:
                    throw Unknown(key, name, p.Name);
            }
        }

        return (min, max);
    }
}
