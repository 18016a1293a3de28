namespace Flotel.Store.Logs;

// The store's query model: what the Elasticsearch DSL (and query_string) is parsed into, and what
// LogQuerySql compiles to SQL. Field names are the _source names (dotted for nested objects); a ".keyword"
// suffix is accepted and ignored (Logstash's index template adds such subfields).

/// <summary>A query over the documents of one index.</summary>
public abstract record LogQuery;

/// <summary>Every document.</summary>
internal sealed record MatchAllQuery : LogQuery
{
    public static MatchAllQuery Instance { get; } = new();
}

/// <summary>No document.</summary>
internal sealed record MatchNoneQuery : LogQuery
{
    public static MatchNoneQuery Instance { get; } = new();
}

/// <summary>Analyzed match: any (or, with <paramref name="AllTerms"/>, every) term of <paramref name="Text"/>.</summary>
internal sealed record MatchQuery(string Field, string Text, bool AllTerms) : LogQuery;

/// <summary>The terms of <paramref name="Text"/> next to each other, in order.</summary>
internal sealed record PhraseQuery(string Field, string Text) : LogQuery;

/// <summary>Exact value among <paramref name="Values"/> (string, long, double or bool), not analyzed.</summary>
internal sealed record TermsQuery(string Field, IReadOnlyList<object> Values) : LogQuery;

/// <summary>Value starting with <paramref name="Prefix"/> (query_string's <c>foo*</c>).</summary>
internal sealed record PrefixQuery(string Field, string Prefix) : LogQuery;

/// <summary>The field is present and not null.</summary>
internal sealed record ExistsQuery(string Field) : LogQuery;

/// <summary>Range; bounds are long, double or string (for <c>@timestamp</c>: Unix milliseconds).</summary>
internal sealed record RangeQuery(string Field, object? Gt, object? Gte, object? Lt, object? Lte) : LogQuery;

/// <summary>Elasticsearch's bool query; <paramref name="MinimumShouldMatch"/> null means ES's default.</summary>
internal sealed record BoolQuery(
    IReadOnlyList<LogQuery> Must,
    IReadOnlyList<LogQuery> Filter,
    IReadOnlyList<LogQuery> Should,
    IReadOnlyList<LogQuery> MustNot,
    int? MinimumShouldMatch) : LogQuery;

/// <summary>
/// One sort key; <c>_doc</c> is the document order (<see cref="LogDocOrder"/>: index, then insertion), unique per
/// document, so a sort ending in it never ties.
/// </summary>
public sealed record LogSort(string Field, bool Descending);

/// <summary>A search over concrete indices; <paramref name="TrackTotalHitsUpTo"/> caps the exact count (null: always exact).</summary>
public sealed record LogSearch(IReadOnlyList<string> Indices, LogQuery Query, IReadOnlyList<LogSort> Sort, int From, int Size, int? TrackTotalHitsUpTo = null)
{
    /// <summary>
    /// Elasticsearch's <c>terminate_after</c>: each index (one shard) collects only its first this many matches in
    /// insertion order; the total counts and the hits are sorted among those alone. Null (or 0): every match. The
    /// first matches are those a <see cref="Snapshot"/> shows, taken before <see cref="SearchAfter"/> applies: pages
    /// resumed one after another walk through the same first matches.
    /// </summary>
    public int? TerminateAfter { get; init; }

    /// <summary>
    /// Only hits after these sort values (one per key of <see cref="Sort"/>, or fewer: the first ones), in the sort's
    /// order; null values are missing ones. The count still counts every match, as Elasticsearch's <c>search_after</c>.
    /// </summary>
    public IReadOnlyList<object?>? SearchAfter { get; init; }

    /// <summary>Only the documents visible when <see cref="LogStore.Snapshot"/> took this (a point in time).</summary>
    public LogSnapshot? Snapshot { get; init; }
}

/// <summary>One hit: its index, id, <c>_source</c> text and sort values (null entries for missing values).</summary>
public sealed record LogHit(string Index, string Id, string Source, IReadOnlyList<object?> SortValues);

/// <summary>Total number of matches and the requested page of hits; <see cref="TotalIsLowerBound"/> when counting stopped at the cap.</summary>
public sealed record LogSearchResult(long Total, IReadOnlyList<LogHit> Hits)
{
    public bool TotalIsLowerBound { get; init; }

    /// <summary>An index held more matches than <see cref="LogSearch.TerminateAfter"/>, which were not collected.</summary>
    public bool TerminatedEarly { get; init; }
}
