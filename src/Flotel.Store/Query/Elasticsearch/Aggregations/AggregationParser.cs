using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// Parses a search body's <c>aggs</c> (or <c>aggregations</c>) object into <see cref="Aggregation"/>s. Anything outside
/// the supported set is a 400 naming the part: an unknown type, an unknown parameter, a bad value. Never ignored.
/// </summary>
public static class AggregationParser
{
    /// <summary>Deepest nesting of sub-aggregations (Grafana nests one level per "group by" plus the date histogram).</summary>
    public const int MaxDepth = 16;

    /// <summary>Most aggregations in one request, counted over the whole tree.</summary>
    public const int MaxAggregations = 256;

    /// <summary>Most keys in one <c>filters</c> or <c>range</c> aggregation and most percents in <c>percentiles</c>.</summary>
    public const int MaxItems = 1024;

    /// <summary>Largest <c>top_hits</c> <c>from + size</c>, as Elasticsearch's <c>index.max_inner_result_window</c>.</summary>
    public const int MaxTopHits = 100;

    // Aggregation types Elasticsearch has and this gateway does not run: named in the error so a user knows why.
    private static readonly HashSet<string> KnownUnsupported = new(StringComparer.Ordinal)
    {
        "date_range", "ip_range", "geohash_grid", "geotile_grid", "geo_bounds", "geo_centroid", "significant_terms",
        "significant_text", "rare_terms", "multi_terms", "composite", "nested", "reverse_nested", "global", "filter",
        "sampler", "diversified_sampler", "adjacency_matrix", "auto_date_histogram", "variable_width_histogram",
        "missing", "weighted_avg", "median_absolute_deviation", "percentile_ranks", "scripted_metric",
        "string_stats", "boxplot", "t_test", "matrix_stats", "top_metrics", "rate", "moving_avg", "moving_fn",
        "derivative", "cumulative_sum", "bucket_script", "bucket_selector", "bucket_sort", "serial_diff",
        "avg_bucket", "sum_bucket", "min_bucket", "max_bucket", "stats_bucket", "extended_stats_bucket",
        "percentiles_bucket",
    };

    private static readonly double[] DefaultPercents = [1, 5, 25, 50, 75, 95, 99];

    /// <summary>Parses the value of <c>aggs</c>.</summary>
    /// <exception cref="ElasticsearchException">400 for anything outside the supported set.</exception>
    public static IReadOnlyList<Aggregation> Parse(JsonElement aggs)
    {
        int count = 0;
        return ParseLevel(aggs, 1, ref count);
    }

    private static List<Aggregation> ParseLevel(JsonElement aggs, int depth, ref int count)
    {
        if (aggs.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[aggs] must be an object of named aggregations");
        }

        if (depth > MaxDepth)
        {
            throw ElasticsearchException.IllegalArgument($"aggregations are nested more than {MaxDepth} levels deep");
        }

        var list = new List<Aggregation>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty entry in aggs.EnumerateObject())
        {
            string name = entry.Name;
            if (name.Length == 0 || name.AsSpan().IndexOfAny("[]>") >= 0)
            {
                throw ElasticsearchException.Parsing($"Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'");
            }

            if (!names.Add(name))
            {
                throw ElasticsearchException.Parsing($"Two sibling aggregations cannot have the same name: [{name}]");
            }

            if (++count > MaxAggregations)
            {
                throw ElasticsearchException.IllegalArgument($"a request may hold at most {MaxAggregations} aggregations");
            }

            if (entry.Value.ValueKind != JsonValueKind.Object)
            {
                throw ElasticsearchException.Parsing($"Expected [START_OBJECT] under [{name}], but got a {entry.Value.ValueKind}");
            }

            string? type = null;
            JsonElement body = default;
            List<Aggregation> subs = [];
            foreach (JsonProperty part in entry.Value.EnumerateObject())
            {
                switch (part.Name)
                {
                    case "aggs" or "aggregations":
                        subs = ParseLevel(part.Value, depth + 1, ref count);
                        break;
                    case "meta":
                        break;
                    default:
                        if (type is not null)
                        {
                            throw ElasticsearchException.Parsing($"Found two aggregation type definitions in [{name}]: [{type}] and [{part.Name}]");
                        }

                        type = part.Name;
                        body = part.Value;
                        break;
                }
            }

            if (type is null)
            {
                throw ElasticsearchException.Parsing($"Missing definition for aggregation [{name}]");
            }

            if (body.ValueKind != JsonValueKind.Object && type != "filters")
            {
                throw ElasticsearchException.Parsing($"[{type}] aggregation [{name}] must be an object");
            }

            Aggregation aggregation = type switch
            {
                "date_histogram" => ParseDateHistogram(name, body),
                "histogram" => ParseHistogram(name, body),
                "terms" => ParseTerms(name, body),
                "filters" => ParseFilters(name, body),
                "range" => ParseRange(name, body),
                "avg" => ParseMetric(name, body, MetricKind.Avg),
                "sum" => ParseMetric(name, body, MetricKind.Sum),
                "min" => ParseMetric(name, body, MetricKind.Min),
                "max" => ParseMetric(name, body, MetricKind.Max),
                "value_count" => ParseMetric(name, body, MetricKind.ValueCount),
                "cardinality" => ParseMetric(name, body, MetricKind.Cardinality),
                "stats" => ParseMetric(name, body, MetricKind.Stats),
                "extended_stats" => ParseMetric(name, body, MetricKind.ExtendedStats),
                "percentiles" => ParsePercentiles(name, body),
                "top_hits" => ParseTopHits(name, body),
                _ when KnownUnsupported.Contains(type) => throw ElasticsearchException.Parsing(
                    $"[{type}] aggregations are not supported by this gateway (supported: date_histogram, histogram, terms, filters, range, avg, sum, min, max, value_count, cardinality, percentiles, stats, extended_stats, top_hits)"),
                _ => throw new ElasticsearchException(400, "parsing_exception", $"Unknown aggregation type [{type}]"),
            };

            bool isMetric = aggregation is MetricAggregation or PercentilesAggregation or TopHitsAggregation;
            if (isMetric && subs.Count > 0)
            {
                throw new ElasticsearchException(400, "aggregation_initialization_exception",
                    $"Aggregator [{name}] of type [{type}] cannot accept sub-aggregations");
            }

            list.Add(aggregation with { SubAggregations = subs });
        }

        return list;
    }

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
                        ?? throw ElasticsearchException.IllegalArgument($"The supplied interval [{p.Value}] could not be parsed as a calendar interval."), name);
                    break;
                case "interval":
                    // Legacy: a calendar unit ("1d", "month") is calendar, anything else (or a number of ms) fixed.
                    string legacy = p.Value.ValueKind == JsonValueKind.Number ? Long(p.Value, name, p.Name).ToString(CultureInfo.InvariantCulture) + "ms" : Text(p.Value, name, p.Name);
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
                    offsetText = p.Value.ValueKind == JsonValueKind.Number ? Long(p.Value, name, p.Name).ToString(CultureInfo.InvariantCulture) + "ms" : Text(p.Value, name, p.Name);
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
            throw ElasticsearchException.IllegalArgument($"[extended_bounds.min][{e.Item1}] cannot be greater than [extended_bounds.max][{e.Item2}] for histogram aggregation [{name}]");
        }

        long offset = offsetText is null ? 0 : ParseOffset(offsetText, name);
        return new DateHistogramAggregation(name, Require(field, "date_histogram", name), interval, zone, format, offset, minDocCount, extended, hard, keyed, missing);
    }

    private static DateInterval Once(DateInterval? existing, DateInterval next, string name) =>
        existing is null ? next : throw ElasticsearchException.IllegalArgument($"Cannot use more than one of [interval], [fixed_interval], [calendar_interval] in [{name}]");

    private static DateInterval ParseFixedInterval(string text, string name)
    {
        long ms = ParseDuration(text) ?? throw ElasticsearchException.IllegalArgument(
            $"failed to parse setting [date_histogram.fixedInterval] with value [{text}] as a time value: unit is missing or unrecognized");
        return ms > 0 ? new DateInterval(ms, CalendarUnit.None) : throw ElasticsearchException.IllegalArgument($"[interval] must be 1 or greater for aggregation [{name}]");
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
                if (ms == 0 || !long.TryParse(text.AsSpan(0, text.Length - unit.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / ms / 4)
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

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset date)
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

    private static TermsAggregation ParseTerms(string name, JsonElement body)
    {
        string? field = null;
        int size = 10;
        long minDocCount = 1;
        List<TermsOrder> order = [new("_count", true), new("_key", false)];
        object? missing = null;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "size":
                    long requested = Long(p.Value, name, p.Name);
                    size = requested > 0 ? (int)Math.Min(requested, int.MaxValue) : throw ElasticsearchException.IllegalArgument($"[size] must be greater than 0. Found [{requested}] in [{name}]");
                    break;
                case "shard_size" or "execution_hint" or "collect_mode" or "show_term_doc_count_error" or "value_type":
                    // Counts are exact here (one shard), so these change nothing.
                    break;
                case "min_doc_count":
                    minDocCount = NonNegative(p.Value, name, p.Name);
                    break;
                case "order":
                    order = ParseTermsOrder(p.Value, name);
                    break;
                case "missing":
                    missing = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Number when p.Value.TryGetInt64(out long l) => l,
                        JsonValueKind.Number => p.Value.GetDouble(),
                        _ => throw Bad(name, "[missing] must be a string or a number"),
                    };
                    break;
                default:
                    throw Unknown("terms", name, p.Name);
            }
        }

        return new TermsAggregation(name, Require(field, "terms", name), size, minDocCount, order, missing);
    }

    private static List<TermsOrder> ParseTermsOrder(JsonElement value, string name)
    {
        var order = new List<TermsOrder>();
        IEnumerable<JsonElement> items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [value];
        foreach (JsonElement item in items)
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Bad(name, "[order] must be an object such as {\"_count\": \"desc\"} or an array of them");
            }

            foreach (JsonProperty p in item.EnumerateObject())
            {
                string direction = Text(p.Value, name, "order");
                bool descending = direction.ToUpperInvariant() switch
                {
                    "DESC" => true,
                    "ASC" => false,
                    _ => throw Bad(name, $"Unknown terms order direction [{direction}]"),
                };
                order.Add(new TermsOrder(p.Name == "_term" ? "_key" : p.Name, descending));
            }
        }

        // Ties are broken by key ascending, as Elasticsearch does.
        if (!order.Exists(o => o.Key == "_key"))
        {
            order.Add(new TermsOrder("_key", false));
        }

        return order;
    }

    private static FiltersAggregation ParseFilters(string name, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw Bad(name, "[filters] must be an object");
        }

        List<(string, LogQuery)>? filters = null;
        bool keyed = true;
        bool other = false;
        string otherKey = "_other_";
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "filters":
                    filters = [];
                    if (p.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonProperty f in p.Value.EnumerateObject())
                        {
                            filters.Add((f.Name, QueryDslParser.ParseQuery(f.Value)));
                        }
                    }
                    else if (p.Value.ValueKind == JsonValueKind.Array)
                    {
                        keyed = false;
                        foreach (JsonElement f in p.Value.EnumerateArray())
                        {
                            filters.Add((filters.Count.ToString(CultureInfo.InvariantCulture), QueryDslParser.ParseQuery(f)));
                        }
                    }
                    else
                    {
                        throw Bad(name, "[filters] must be an object of named queries or an array of queries");
                    }

                    if (filters.Count > MaxItems)
                    {
                        throw Bad(name, $"at most {MaxItems} filters");
                    }

                    break;
                case "other_bucket":
                    other = Bool(p.Value, name, p.Name);
                    break;
                case "other_bucket_key":
                    otherKey = Text(p.Value, name, p.Name);
                    other = true;
                    break;
                default:
                    throw Unknown("filters", name, p.Name);
            }
        }

        return new FiltersAggregation(name, filters ?? throw Bad(name, "[filters] is required"), keyed, other ? otherKey : null);
    }

    private static RangeAggregation ParseRange(string name, JsonElement body)
    {
        string? field = null;
        List<RangeBucket>? ranges = null;
        bool keyed = false;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "keyed":
                    keyed = Bool(p.Value, name, p.Name);
                    break;
                case "ranges":
                    if (p.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw Bad(name, "[ranges] must be an array");
                    }

                    ranges = [];
                    foreach (JsonElement r in p.Value.EnumerateArray())
                    {
                        if (r.ValueKind != JsonValueKind.Object)
                        {
                            throw Bad(name, "each of [ranges] must be an object with [from] and/or [to]");
                        }

                        string? key = null;
                        double? from = null, to = null;
                        foreach (JsonProperty q in r.EnumerateObject())
                        {
                            switch (q.Name)
                            {
                                case "key":
                                    key = Text(q.Value, name, "ranges.key");
                                    break;
                                case "from":
                                    from = q.Value.ValueKind == JsonValueKind.Null ? null : Double(q.Value, name, "ranges.from");
                                    break;
                                case "to":
                                    to = q.Value.ValueKind == JsonValueKind.Null ? null : Double(q.Value, name, "ranges.to");
                                    break;
                                default:
                                    throw Unknown("range", name, q.Name);
                            }
                        }

                        ranges.Add(new RangeBucket(key, from, to));
                    }

                    if (ranges.Count > MaxItems)
                    {
                        throw Bad(name, $"at most {MaxItems} ranges");
                    }

                    break;
                default:
                    throw Unknown("range", name, p.Name);
            }
        }

        if (ranges is null || ranges.Count == 0)
        {
            throw ElasticsearchException.IllegalArgument($"No [ranges] specified for the [{name}] aggregation");
        }

        return new RangeAggregation(name, Require(field, "range", name), ranges, keyed);
    }

    private static MetricAggregation ParseMetric(string name, JsonElement body, MetricKind kind)
    {
        string? field = null;
        double? missing = null;
        double sigma = 2;
        string type = kind switch
        {
            MetricKind.ValueCount => "value_count",
            MetricKind.ExtendedStats => "extended_stats",
            _ => kind.ToString().ToLowerInvariant(),
        };
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "missing":
                    missing = Double(p.Value, name, p.Name);
                    break;
                case "sigma" when kind == MetricKind.ExtendedStats:
                    sigma = Double(p.Value, name, p.Name);
                    if (sigma < 0)
                    {
                        throw Bad(name, "[sigma] must be greater than or equal to 0");
                    }

                    break;
                case "precision_threshold" when kind == MetricKind.Cardinality:
                    // Counts are exact here; the threshold only bounds an approximation this gateway does not make.
                    break;
                case "format":
                    break;
                case "script":
                    throw Bad(name, "scripts are not supported by this gateway");
                default:
                    throw Unknown(type, name, p.Name);
            }
        }

        return new MetricAggregation(name, kind, Require(field, type, name), missing, sigma);
    }

    private static PercentilesAggregation ParsePercentiles(string name, JsonElement body)
    {
        string? field = null;
        List<double> percents = [.. DefaultPercents];
        bool keyed = true;
        double? missing = null;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "field":
                    field = Text(p.Value, name, p.Name);
                    break;
                case "percents":
                    if (p.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw Bad(name, "[percents] must be an array of numbers");
                    }

                    percents = [];
                    foreach (JsonElement v in p.Value.EnumerateArray())
                    {
                        double percent = Double(v, name, "percents");
                        percents.Add(percent is >= 0 and <= 100 ? percent : throw ElasticsearchException.IllegalArgument($"percent must be in [0,100], got [{percent.ToString(CultureInfo.InvariantCulture)}]: [{name}]"));
                    }

                    if (percents.Count == 0 || percents.Count > MaxItems)
                    {
                        throw ElasticsearchException.IllegalArgument($"[percents] must not be empty and may hold at most {MaxItems} values: [{name}]");
                    }

                    break;
                case "keyed":
                    keyed = Bool(p.Value, name, p.Name);
                    break;
                case "missing":
                    missing = Double(p.Value, name, p.Name);
                    break;
                case "tdigest" or "format":
                    // Percentiles are computed exactly here; TDigest's compression has nothing to tune.
                    break;
                default:
                    throw Unknown("percentiles", name, p.Name);
            }
        }

        return new PercentilesAggregation(name, Require(field, "percentiles", name), percents, keyed, missing);
    }

    private static TopHitsAggregation ParseTopHits(string name, JsonElement body)
    {
        int from = 0;
        int size = 3;
        IReadOnlyList<LogSort> sort = [];
        SourceFilter source = SourceFilter.All;
        foreach (JsonProperty p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "size":
                    size = (int)NonNegative(p.Value, name, p.Name);
                    break;
                case "from":
                    from = (int)NonNegative(p.Value, name, p.Name);
                    break;
                case "sort":
                    sort = QueryDslParser.ParseSort(p.Value);
                    break;
                case "_source":
                    source = QueryDslParser.ParseSource(p.Value);
                    break;
                case "version" or "seq_no_primary_term" or "explain" or "track_scores":
                    break;
                default:
                    throw Unknown("top_hits", name, p.Name);
            }
        }

        if ((long)from + size > MaxTopHits)
        {
            throw ElasticsearchException.IllegalArgument(
                $"Top hits result window is too large, the top hits aggregator [{name}]'s from + size must be less than or equal to: [{MaxTopHits}] but was [{(long)from + size}].");
        }

        return new TopHitsAggregation(name, from, size, sort, source);
    }

    private static string Require(string? field, string type, string name) =>
        field ?? throw ElasticsearchException.IllegalArgument($"Required one of fields [field, script], but none were specified. ([{type}] aggregation [{name}])");

    private static ElasticsearchException Unknown(string type, string name, string key) =>
        ElasticsearchException.Parsing($"[{type}] unknown field [{key}] in aggregation [{name}]");

    private static ElasticsearchException Bad(string name, string why) =>
        ElasticsearchException.IllegalArgument($"{why} (aggregation [{name}])");

    private static string Text(JsonElement value, string name, string key) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Bad(name, $"[{key}] must be a string");

    private static bool Bool(JsonElement value, string name, string key) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when value.GetString() is "true" or "false" => value.GetString() == "true",
        _ => throw Bad(name, $"[{key}] must be a boolean"),
    };

    private static long Long(JsonElement value, string name, string key) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long l) ? l
        : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l) ? l
        : throw Bad(name, $"[{key}] must be an integer");

    private static long NonNegative(JsonElement value, string name, string key)
    {
        long n = Long(value, name, key);
        return n >= 0 ? Math.Min(n, int.MaxValue) : throw Bad(name, $"[{key}] must be greater than or equal to 0");
    }

    private static double Double(JsonElement value, string name, string key)
    {
        double d = value.ValueKind == JsonValueKind.Number ? value.GetDouble()
            : value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed
            : throw Bad(name, $"[{key}] must be a number");
        return double.IsFinite(d) ? d : throw Bad(name, $"[{key}] must be a finite number");
    }
}
