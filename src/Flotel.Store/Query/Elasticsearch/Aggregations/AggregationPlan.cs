using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// What one aggregation run reads from each matching document: a slot per distinct field (one SQL column each) and a
/// slot per <c>filters</c> query (a 0/1 SQL column each, so filters run inside SQLite with the query's own compiler).
/// </summary>
internal sealed class AggregationPlan
{
    private readonly Dictionary<string, int> _fieldSlots = new(StringComparer.Ordinal);
    private readonly Dictionary<Aggregation, int[]> _slots = new(ReferenceEqualityComparer.Instance);

    private AggregationPlan(IReadOnlyList<Aggregation> aggregations)
    {
        Aggregations = aggregations;
        Walk(aggregations);
    }

    public IReadOnlyList<Aggregation> Aggregations { get; }

    /// <summary>Field names (".keyword" removed), by slot.</summary>
    public List<string> Fields { get; } = [];

    /// <summary>Queries of <c>filters</c> aggregations, by slot.</summary>
    public List<LogQuery> Filters { get; } = [];

    /// <summary>Whether a <c>top_hits</c> needs the row ids of documents.</summary>
    public bool NeedsRowIds { get; private set; }

    public static AggregationPlan Build(IReadOnlyList<Aggregation> aggregations) => new(aggregations);

    /// <summary>The slots of <paramref name="aggregation"/>: its field, its filters, or its sort fields (-1 for <c>_doc</c>, -2 for <c>_score</c>).</summary>
    public int[] SlotsOf(Aggregation aggregation) => _slots[aggregation];

    /// <summary>The field name as stored: Logstash's ".keyword" subfields hold the same value as the field.</summary>
    public static string Normalize(string field) =>
        field.EndsWith(".keyword", StringComparison.Ordinal) ? field[..^".keyword".Length] : field;

    private void Walk(IReadOnlyList<Aggregation> aggregations)
    {
        foreach (Aggregation aggregation in aggregations)
        {
            _slots[aggregation] = aggregation switch
            {
                DateHistogramAggregation a => [Field(a.Field)],
                HistogramAggregation a => [Field(a.Field)],
                TermsAggregation a => [Field(a.Field)],
                RangeAggregation a => [Field(a.Field)],
                MetricAggregation a => [Field(a.Field)],
                PercentilesAggregation a => [Field(a.Field)],
                FiltersAggregation a => [.. a.Filters.Select(f => AddFilter(f.Query))],
                TopHitsAggregation a => TopHitsSlots(a),
                _ => throw new ArgumentException($"unsupported aggregation {aggregation.GetType().Name}", nameof(aggregations)),
            };
            Walk(aggregation.SubAggregations);
        }
    }

    private int[] TopHitsSlots(TopHitsAggregation a)
    {
        NeedsRowIds = true;
        return [.. a.Sort.Select(s => s.Field switch { "_doc" => -1, "_score" => -2, _ => Field(s.Field) })];
    }

    private int Field(string field)
    {
        string name = Normalize(field);
        if (!_fieldSlots.TryGetValue(name, out int slot))
        {
            slot = Fields.Count;
            Fields.Add(name);
            _fieldSlots[name] = slot;
        }

        return slot;
    }

    private int AddFilter(LogQuery query)
    {
        Filters.Add(query);
        return Filters.Count - 1;
    }
}

/// <summary>One matching document as the collectors see it: where it is, its field values, which filters it matches.</summary>
internal sealed class AggregationRow(int fields, int filters)
{
    public int IndexOrder;
    public long RowId;
    public readonly FieldValue[] Values = new FieldValue[fields];
    public readonly bool[] Filters = new bool[filters];
}
