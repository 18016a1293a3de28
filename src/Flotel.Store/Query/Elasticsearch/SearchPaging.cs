using System.Globalization;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// How a search's sort meets <c>search_after</c>: the store's sort, the values a hit shows, and the store's resume
/// point from a client's <c>search_after</c>.
/// </summary>
/// <remarks>
/// A search that pages (a point in time, a scroll or <c>search_after</c>) or sorts on a field ends its sort with the
/// document order (<c>_doc</c>, <see cref="LogDocOrder"/>) unless it names <c>_doc</c> or <c>_shard_doc</c> itself, and
/// each hit shows that value last, as Elasticsearch adds <c>_shard_doc</c> under a point in time. The order is then
/// total: a page resumed after a hit's sort values never skips nor repeats a document, even among equal timestamps.
/// <c>search_after</c> takes one value per sort key, <c>_score</c> included (every hit scores 1.0 here), with or
/// without that last value; without it, hits equal to the values on every key are skipped, as Elasticsearch does.
/// </remarks>
public static class SearchPaging
{
    /// <summary>Whether the store's sort gets the document order appended (see the remarks).</summary>
    public static bool AppendsDocOrder(IReadOnlyList<LogSort> sort, bool pages)
    {
        ArgumentNullException.ThrowIfNull(sort);
        bool ordersOnField = false;
        foreach (LogSort key in sort)
        {
            if (key.Field is "_doc" or "_shard_doc")
            {
                return false;
            }

            ordersOnField |= key.Field != "_score";
        }

        return pages || ordersOnField;
    }

    /// <summary>The store's sort: the request's keys, and <c>_doc</c> ascending when <paramref name="appendDocOrder"/>.</summary>
    public static IReadOnlyList<LogSort> StoreSort(IReadOnlyList<LogSort> sort, bool appendDocOrder) =>
        appendDocOrder ? [.. sort, new LogSort("_doc", false)] : sort;

    /// <summary>
    /// The store's resume point for a client's <c>search_after</c>: the values of the request's keys but <c>_score</c>,
    /// and the document order when given.
    /// </summary>
    /// <exception cref="ElasticsearchException">400 when the number of values does not fit the sort.</exception>
    public static IReadOnlyList<object?> StoreSearchAfter(IReadOnlyList<LogSort> sort, bool appendDocOrder, IReadOnlyList<object?> values)
    {
        ArgumentNullException.ThrowIfNull(sort);
        ArgumentNullException.ThrowIfNull(values);
        int full = sort.Count + (appendDocOrder ? 1 : 0);
        if (values.Count != full && !(appendDocOrder && sort.Count > 0 && values.Count == sort.Count))
        {
            throw ElasticsearchException.IllegalArgument(
                $"search_after has {values.Count.ToString(CultureInfo.InvariantCulture)} value(s) but sort has {full.ToString(CultureInfo.InvariantCulture)}"
                + (appendDocOrder ? " (the last is the document order every hit shows last in its sort values)" : string.Empty));
        }

        var result = new List<object?>(values.Count);
        for (int i = 0; i < values.Count; i++)
        {
            if (i >= sort.Count || sort[i].Field != "_score")
            {
                result.Add(values[i]);
            }
        }

        return result;
    }

    /// <summary>A hit's sort values as the client sees them: one per request key (<c>_score</c> is 1.0), then the document order when appended.</summary>
    public static List<object?> HitSortValues(IReadOnlyList<LogSort> sort, bool appendDocOrder, IReadOnlyList<object?> storeValues)
    {
        ArgumentNullException.ThrowIfNull(sort);
        ArgumentNullException.ThrowIfNull(storeValues);
        var values = new List<object?>(sort.Count + 1);
        int next = 0;
        foreach (LogSort key in sort)
        {
            values.Add(key.Field == "_score" ? 1.0 : storeValues[next++]);
        }

        if (appendDocOrder)
        {
            values.Add(storeValues[next]);
        }

        return values;
    }
}
