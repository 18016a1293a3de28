using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

// terms, filters and range: the bucket aggregations keyed by value, query or interval.
public static partial class AggregationParser
{
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
                    size = requested > 0
                        ? (int)Math.Min(requested, int.MaxValue)
                        : throw ElasticsearchException.IllegalArgument($"[size] must be greater than 0. Found [{requested}] in [{name}]");
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
}
