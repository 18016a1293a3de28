using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

// The metric aggregations: avg, sum, min, max, value_count, cardinality, stats, extended_stats, percentiles, top_hits.
public static partial class AggregationParser
{
    private static readonly double[] DefaultPercents = [1, 5, 25, 50, 75, 95, 99];

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
                        string shown = percent.ToString(CultureInfo.InvariantCulture);
                        percents.Add(percent is >= 0 and <= 100
                            ? percent
                            : throw ElasticsearchException.IllegalArgument($"percent must be in [0,100], got [{shown}]: [{name}]"));
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
                $"Top hits result window is too large, the top hits aggregator [{name}]'s from + size must be less than or equal to: "
                + $"[{MaxTopHits}] but was [{(long)from + size}].");
        }

        return new TopHitsAggregation(name, from, size, sort, source);
    }
}
