using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// The <c>aggregations</c> of a search response, ready to write in Elasticsearch 7's shapes (one result per requested
/// aggregation, in request order).
/// </summary>
public sealed class AggregationResults
{
    internal AggregationResults(IReadOnlyList<(string Name, AggregationResult Result)> results) => Results = results;

    internal IReadOnlyList<(string Name, AggregationResult Result)> Results { get; }

    /// <summary>
    /// Writes <c>"aggregations": {…}</c> as a member of the object being written. With <paramref name="typedKeys"/>
    /// (Elasticsearch's <c>typed_keys</c>), every aggregation's name, sub-aggregations' included, is written as
    /// <c>TYPE#name</c> with Elasticsearch's internal type name (<see cref="AggregationResult.Type"/>).
    /// </summary>
    public void WriteTo(Utf8JsonWriter writer, bool typedKeys = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName("aggregations");
        writer.WriteStartObject();
        WriteMembers(writer, Results, typedKeys);
        writer.WriteEndObject();
    }

    internal static void WriteMembers(Utf8JsonWriter writer, IReadOnlyList<(string Name, AggregationResult Result)> results, bool typedKeys)
    {
        foreach ((string name, AggregationResult result) in results)
        {
            writer.WritePropertyName(typedKeys ? result.Type + "#" + name : name);
            writer.WriteStartObject();
            result.WriteMembers(writer, typedKeys);
            writer.WriteEndObject();
        }
    }
}

/// <summary>The result of one aggregation (for one bucket of its parent).</summary>
internal abstract class AggregationResult
{
    /// <summary>
    /// Elasticsearch's internal name of this result's type, which <c>typed_keys</c> puts before the aggregation's name:
    /// the request's type for most (<c>date_histogram</c>, <c>avg</c>, <c>top_hits</c>, …), and <c>sterms</c>/<c>lterms</c>/
    /// <c>dterms</c> for <c>terms</c>, <c>tdigest_percentiles</c> for <c>percentiles</c>, <c>date_range</c> for a
    /// <c>range</c> over <c>@timestamp</c> (Elasticsearch reference 7.8, "Returning the type of the aggregation", https://www.elastic.co/guide/en/elasticsearch/reference/7.8/returning-aggregation-type.html).
    /// </summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Writes the result's members; <paramref name="typedKeys"/> is passed on to sub-aggregations.</summary>
    public abstract void WriteMembers(Utf8JsonWriter writer, bool typedKeys);

    /// <summary>The value a <c>terms</c> order path names (<c>""</c> for a single-value metric, else e.g. <c>avg</c>, <c>99</c>).</summary>
    public virtual double? SortValue(string property) => null;

    internal static void WriteDouble(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Java's Double.toString for the numbers keys use: "1.0", "99.9", "-5.0".</summary>
    internal static string JavaDouble(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e7
            ? value.ToString("0.0", CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A bucket: its key, count and sub-aggregation results.</summary>
internal sealed class BucketResult(object key, string? keyAsString, long docCount, IReadOnlyList<(string Name, AggregationResult Result)> subs)
{
    public object Key { get; } = key;

    public string? KeyAsString { get; } = keyAsString;

    public long DocCount { get; } = docCount;

    public IReadOnlyList<(string Name, AggregationResult Result)> Subs { get; } = subs;

    public double? From { get; init; }

    public double? To { get; init; }

    /// <summary>False for a keyed <c>range</c>, whose buckets are named by their key and do not repeat it.</summary>
    public bool WritesKey { get; init; } = true;

    public void WriteMembers(Utf8JsonWriter writer, bool keyAsStringFirst, bool typedKeys)
    {
        if (keyAsStringFirst && KeyAsString is not null)
        {
            writer.WriteString("key_as_string", KeyAsString);
        }

        switch (WritesKey ? Key : null)
        {
            case null:
                break;
            case long l:
                writer.WriteNumber("key", l);
                break;
            case double d:
                writer.WriteNumber("key", d);
                break;
            default:
                writer.WriteString("key", (string)Key);
                break;
        }

        if (!keyAsStringFirst && KeyAsString is not null)
        {
            writer.WriteString("key_as_string", KeyAsString);
        }

        if (From is { } from)
        {
            writer.WriteNumber("from", from);
        }

        if (To is { } to)
        {
            writer.WriteNumber("to", to);
        }

        writer.WriteNumber("doc_count", DocCount);
        AggregationResults.WriteMembers(writer, Subs, typedKeys);
    }
}

/// <summary>
/// <c>date_histogram</c>, <c>histogram</c> and <c>range</c>: <c>buckets</c> as an array, or keyed by key (as string).
/// Histograms write <c>key_as_string</c> before <c>key</c>, as Elasticsearch does.
/// </summary>
internal sealed class BucketListResult(IReadOnlyList<BucketResult> buckets, bool keyed, bool keyAsStringFirst) : AggregationResult
{
    public IReadOnlyList<BucketResult> Buckets { get; } = buckets;

    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        if (keyed)
        {
            writer.WriteStartObject("buckets");
            foreach (BucketResult bucket in Buckets)
            {
                writer.WriteStartObject(bucket.KeyAsString ?? Convert.ToString(bucket.Key is double d ? JavaDouble(d) : bucket.Key, CultureInfo.InvariantCulture)!);
                bucket.WriteMembers(writer, keyAsStringFirst, typedKeys);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            return;
        }

        writer.WriteStartArray("buckets");
        foreach (BucketResult bucket in Buckets)
        {
            writer.WriteStartObject();
            bucket.WriteMembers(writer, keyAsStringFirst, typedKeys);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary><c>terms</c>: counts are exact (one shard), so the error bound is always 0.</summary>
internal sealed class TermsResult(IReadOnlyList<BucketResult> buckets, long sumOtherDocCount) : AggregationResult
{
    public IReadOnlyList<BucketResult> Buckets { get; } = buckets;

    public long SumOtherDocCount { get; } = sumOtherDocCount;

    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        writer.WriteNumber("doc_count_error_upper_bound", 0);
        writer.WriteNumber("sum_other_doc_count", SumOtherDocCount);
        writer.WriteStartArray("buckets");
        foreach (BucketResult bucket in Buckets)
        {
            writer.WriteStartObject();
            bucket.WriteMembers(writer, keyAsStringFirst: false, typedKeys);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary><c>filters</c>: buckets keyed by filter name, or an array for anonymous filters.</summary>
internal sealed class FiltersResult(IReadOnlyList<(string Key, long DocCount, IReadOnlyList<(string, AggregationResult)> Subs)> buckets, bool keyed) : AggregationResult
{
    public IReadOnlyList<(string Key, long DocCount, IReadOnlyList<(string, AggregationResult)> Subs)> Buckets { get; } = buckets;

    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        if (keyed)
        {
            writer.WriteStartObject("buckets");
        }
        else
        {
            writer.WriteStartArray("buckets");
        }

        foreach ((string key, long count, IReadOnlyList<(string, AggregationResult)> subs) in Buckets)
        {
            if (keyed)
            {
                writer.WriteStartObject(key);
            }
            else
            {
                writer.WriteStartObject();
            }

            writer.WriteNumber("doc_count", count);
            AggregationResults.WriteMembers(writer, subs, typedKeys);
            writer.WriteEndObject();
        }

        if (keyed)
        {
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteEndArray();
        }
    }
}

/// <summary>A single-value metric: <c>{"value": …}</c> (and <c>value_as_string</c> for dates).</summary>
internal sealed class ValueResult(double? value, string? valueAsString) : AggregationResult
{
    public double? Value { get; } = value;

    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        WriteDouble(writer, "value", Value);
        if (valueAsString is not null)
        {
            writer.WriteString("value_as_string", valueAsString);
        }
    }

    public override double? SortValue(string property) => property is "" or "value" ? Value : null;
}

/// <summary><c>value_count</c> and <c>cardinality</c>: an integer value.</summary>
internal sealed class CountResult(long value) : AggregationResult
{
    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys) => writer.WriteNumber("value", value);

    public override double? SortValue(string property) => property is "" or "value" ? value : null;
}

/// <summary><c>stats</c> and <c>extended_stats</c>, with Elasticsearch's member names and nulls for an empty set.</summary>
internal sealed class StatsResult(long count, double sum, double min, double max, double sumOfSquares, bool extended, double sigma) : AggregationResult
{
    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        bool any = count > 0;
        writer.WriteNumber("count", count);
        WriteDouble(writer, "min", any ? min : null);
        WriteDouble(writer, "max", any ? max : null);
        WriteDouble(writer, "avg", any ? sum / count : null);
        writer.WriteNumber("sum", sum);
        if (!extended)
        {
            return;
        }

        double? population = any ? Math.Max(0, (sumOfSquares - (sum * sum / count)) / count) : null;
        double? sampling = count > 1 ? Math.Max(0, (sumOfSquares - (sum * sum / count)) / (count - 1)) : null;
        WriteDouble(writer, "sum_of_squares", any ? sumOfSquares : null);
        WriteDouble(writer, "variance", population);
        WriteDouble(writer, "variance_population", population);
        WriteDouble(writer, "variance_sampling", sampling);
        WriteDouble(writer, "std_deviation", population is { } p ? Math.Sqrt(p) : null);
        WriteDouble(writer, "std_deviation_population", population is { } p2 ? Math.Sqrt(p2) : null);
        WriteDouble(writer, "std_deviation_sampling", sampling is { } s ? Math.Sqrt(s) : null);
        double? avg = any ? sum / count : null;
        writer.WriteStartObject("std_deviation_bounds");
        WriteDouble(writer, "upper", avg + (sigma * Sqrt(population)));
        WriteDouble(writer, "lower", avg - (sigma * Sqrt(population)));
        WriteDouble(writer, "upper_population", avg + (sigma * Sqrt(population)));
        WriteDouble(writer, "lower_population", avg - (sigma * Sqrt(population)));
        WriteDouble(writer, "upper_sampling", avg + (sigma * Sqrt(sampling)));
        WriteDouble(writer, "lower_sampling", avg - (sigma * Sqrt(sampling)));
        writer.WriteEndObject();

        static double? Sqrt(double? v) => v is { } x ? Math.Sqrt(x) : null;
    }

    public override double? SortValue(string property)
    {
        bool any = count > 0;
        double? population = any ? Math.Max(0, (sumOfSquares - (sum * sum / count)) / count) : null;
        return property switch
        {
            "count" => count,
            "sum" => sum,
            "min" => any ? min : null,
            "max" => any ? max : null,
            "avg" => any ? sum / count : null,
            "sum_of_squares" => any ? sumOfSquares : null,
            "variance" => population,
            "std_deviation" => population is { } p ? Math.Sqrt(p) : null,
            _ => null,
        };
    }
}

/// <summary><c>percentiles</c>: <c>values</c> keyed by the percent as Java prints it, or an array of key/value.</summary>
internal sealed class PercentilesResult(IReadOnlyList<double> percents, IReadOnlyList<double?> values, bool keyed) : AggregationResult
{
    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        if (keyed)
        {
            writer.WriteStartObject("values");
            for (int i = 0; i < percents.Count; i++)
            {
                WriteDouble(writer, JavaDouble(percents[i]), values[i]);
            }

            writer.WriteEndObject();
            return;
        }

        writer.WriteStartArray("values");
        for (int i = 0; i < percents.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("key", percents[i]);
            WriteDouble(writer, "value", values[i]);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    public override double? SortValue(string property)
    {
        for (int i = 0; i < percents.Count; i++)
        {
            if (double.TryParse(property, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p == percents[i])
            {
                return values[i];
            }
        }

        return null;
    }
}

/// <summary>One document chosen by a <c>top_hits</c>: where it is, its sort values; its id and source are read afterwards.</summary>
internal sealed class TopHit(int indexOrder, long rowId, object?[] sortValues)
{
    public int IndexOrder { get; } = indexOrder;

    public long RowId { get; } = rowId;

    public object?[] SortValues { get; } = sortValues;

    public string? Index { get; set; }

    public string? Id { get; set; }

    public string? Source { get; set; }
}

/// <summary><c>top_hits</c>: <c>hits</c> as a search writes them (no scoring: <c>_score</c> is null when sorted, else 1.0).</summary>
internal sealed class TopHitsResult(long total, IReadOnlyList<TopHit> hits, TopHitsAggregation request) : AggregationResult
{
    public IReadOnlyList<TopHit> Hits { get; } = hits;

    public override void WriteMembers(Utf8JsonWriter writer, bool typedKeys)
    {
        bool scored = request.Sort.Count == 0 || request.Sort.Any(s => s.Field == "_score");
        writer.WriteStartObject("hits");
        writer.WriteStartObject("total");
        writer.WriteNumber("value", total);
        writer.WriteString("relation", "eq");
        writer.WriteEndObject();
        if (scored && Hits.Count > 0)
        {
            writer.WriteNumber("max_score", 1.0);
        }
        else
        {
            writer.WriteNull("max_score");
        }

        writer.WriteStartArray("hits");
        foreach (TopHit hit in Hits)
        {
            writer.WriteStartObject();
            writer.WriteString("_index", hit.Index);
            writer.WriteString("_type", "_doc");
            writer.WriteString("_id", hit.Id);
            if (scored)
            {
                writer.WriteNumber("_score", 1.0);
            }
            else
            {
                writer.WriteNull("_score");
            }

            if (request.Source.Enabled && hit.Source is not null)
            {
                writer.WritePropertyName("_source");
                using JsonDocument source = JsonDocument.Parse(hit.Source);
                if (request.Source.IsWhole)
                {
                    source.RootElement.WriteTo(writer);
                }
                else
                {
                    request.Source.Write(writer, source.RootElement);
                }
            }

            if (!scored)
            {
                writer.WriteStartArray("sort");
                foreach (object? value in hit.SortValues)
                {
                    switch (value)
                    {
                        case null:
                            writer.WriteNullValue();
                            break;
                        case long l:
                            writer.WriteNumberValue(l);
                            break;
                        case double d:
                            writer.WriteNumberValue(d);
                            break;
                        case bool b:
                            writer.WriteBooleanValue(b);
                            break;
                        default:
                            writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                            break;
                    }
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}

/// <summary>A sort key of <c>top_hits</c>, kept for comparisons.</summary>
internal static class SortValues
{
    /// <summary>Missing values last in both directions; strings after numbers; numbers by value, strings ordinal.</summary>
    public static int Compare(object? a, object? b, bool descending)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : 1) : -1;
        }

        int c = (a, b) switch
        {
            (string x, string y) => string.CompareOrdinal(x, y),
            (string, _) => 1,
            (_, string) => -1,
            _ => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
        };
        return descending ? -c : c;
    }
}
