using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// Parses a search body's <c>aggs</c> (or <c>aggregations</c>) object into <see cref="Aggregation"/>s. Anything outside
/// the supported set is a 400 naming the part: an unknown type, an unknown parameter, a bad value. Never ignored.
/// </summary>
/// <remarks>
/// One class in parts by aggregation family: this file holds the limits, the walk over the tree and the value readers
/// every family uses; <c>AggregationParser.Histograms.cs</c> <c>date_histogram</c> and <c>histogram</c>;
/// <c>AggregationParser.Buckets.cs</c> <c>terms</c>, <c>filters</c> and <c>range</c>; <c>AggregationParser.Metrics.cs</c>
/// the single-value and stats metrics, <c>percentiles</c> and <c>top_hits</c>.
/// </remarks>
public static partial class AggregationParser
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
