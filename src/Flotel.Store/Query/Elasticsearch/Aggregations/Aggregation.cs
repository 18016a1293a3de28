using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

// The typed model an `aggs` tree is parsed into (AggregationParser) and run from (AggregationExecutor). Field names
// are _source names as in LogQuery; a ".keyword" suffix names the same value (Logstash's template adds such subfields).

/// <summary>One named aggregation of a request and its sub-aggregations.</summary>
public abstract record Aggregation(string Name)
{
    /// <summary>Sub-aggregations, run once per bucket (always empty for metrics).</summary>
    public IReadOnlyList<Aggregation> SubAggregations { get; init; } = [];
}

/// <summary>How a date histogram cuts time: a fixed length in milliseconds, or one calendar unit.</summary>
internal sealed record DateInterval(long FixedMs, CalendarUnit Unit)
{
    public bool IsCalendar => Unit != CalendarUnit.None;
}

/// <summary>Calendar units of <c>calendar_interval</c> (always a quantity of one, as in Elasticsearch).</summary>
internal enum CalendarUnit
{
    None,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// <summary><c>date_histogram</c>; bounds are Unix milliseconds.</summary>
internal sealed record DateHistogramAggregation(
    string Name, string Field, DateInterval Interval, DateZone Zone, DateFormat Format, long OffsetMs, long MinDocCount,
    (long Min, long Max)? ExtendedBounds, (long? Min, long? Max)? HardBounds, bool Keyed, long? Missing) : Aggregation(Name);

/// <summary><c>histogram</c> over a numeric field.</summary>
internal sealed record HistogramAggregation(
    string Name, string Field, double Interval, double Offset, long MinDocCount, (double Min, double Max)? ExtendedBounds,
    (double? Min, double? Max)? HardBounds, bool Keyed, double? Missing) : Aggregation(Name);

/// <summary>One key of a <c>terms</c> order: <c>_count</c>, <c>_key</c> or a path to a sub-aggregation's value.</summary>
internal sealed record TermsOrder(string Key, bool Descending);

/// <summary><c>terms</c>; <paramref name="Missing"/> is the key documents without the field are counted under.</summary>
internal sealed record TermsAggregation(
    string Name, string Field, int Size, long MinDocCount, IReadOnlyList<TermsOrder> Order, object? Missing) : Aggregation(Name);

/// <summary><c>filters</c>: named (<paramref name="Keyed"/>) or anonymous, optionally with the "other" bucket.</summary>
internal sealed record FiltersAggregation(
    string Name, IReadOnlyList<(string Key, LogQuery Query)> Filters, bool Keyed, string? OtherBucketKey) : Aggregation(Name);

/// <summary>One range of a <c>range</c> aggregation: <c>from</c> included, <c>to</c> excluded.</summary>
internal sealed record RangeBucket(string? Key, double? From, double? To);

/// <summary><c>range</c> over a numeric field.</summary>
internal sealed record RangeAggregation(string Name, string Field, IReadOnlyList<RangeBucket> Ranges, bool Keyed) : Aggregation(Name);

/// <summary>Single- and multi-value numeric metrics computed from one pass over a field's values.</summary>
internal enum MetricKind
{
    Avg,
    Sum,
    Min,
    Max,
    ValueCount,
    Cardinality,
    Stats,
    ExtendedStats,
}

/// <summary><c>avg</c>, <c>sum</c>, <c>min</c>, <c>max</c>, <c>value_count</c>, <c>cardinality</c>, <c>stats</c>, <c>extended_stats</c>.</summary>
internal sealed record MetricAggregation(string Name, MetricKind Kind, string Field, double? Missing, double Sigma) : Aggregation(Name);

/// <summary><c>percentiles</c>: <paramref name="Percents"/> in 0–100.</summary>
internal sealed record PercentilesAggregation(string Name, string Field, IReadOnlyList<double> Percents, bool Keyed, double? Missing) : Aggregation(Name);

/// <summary><c>top_hits</c>: the first <paramref name="Size"/> documents of each bucket in <paramref name="Sort"/> order.</summary>
internal sealed record TopHitsAggregation(string Name, int From, int Size, IReadOnlyList<LogSort> Sort, SourceFilter Source) : Aggregation(Name);
