using System.Text;
using Flotel.Store.Query.Elasticsearch.Aggregations;

namespace Flotel.Store.Logs;

/// <summary>
/// The one statement an aggregation run reads per index (schema in <see cref="LogStore"/>):
/// <code>
/// SELECT d.rowid, &lt;field 0&gt;, …, &lt;field n&gt;, (&lt;filter 0&gt;), …  FROM docs_N d WHERE &lt;query&gt;
/// </code>
/// Indexed columns are read as they are; any other field as <c>d.source -&gt; '$."a"."b"'</c> (its JSON text, so arrays and
/// numbers keep their type); each <c>filters</c> query is compiled by <see cref="LogQuerySql"/> into a 0/1 column, so
/// the search's own matching rules apply. Only the columns the aggregations name are read: a date histogram of
/// <c>@timestamp</c> under a time range reads the ts index alone, or, in an index with block time bounds, the rows of
/// the blocks overlapping the range.
/// </summary>
internal static class LogAggregationSql
{
    /// <summary>How a selected column is decoded.</summary>
    internal enum ColumnKind
    {
        Integer,
        Text,
        Json,
        Index,
    }

    /// <summary>A statement with <c>{docs}</c> and the FTS placeholder to name per index, and its parameters.</summary>
    internal sealed record Statement(string Sql, LogSqlParameters Parameters, ColumnKind[] Kinds);

    /// <summary>
    /// The placeholder a bounded statement compares the row id with, named per index (a point in time's last row of it).
    /// </summary>
    public const string LastRow = "{last_row}";

    /// <summary>The statement of <paramref name="plan"/>; <paramref name="bounded"/> reads only rows up to <see cref="LastRow"/>.</summary>
    public static Statement Build(AggregationPlan plan, LogQuery query, bool bounded = false)
    {
        // One collector for every fragment: the query's condition, the field paths and the filters' conditions.
        var parameters = new LogSqlParameters();
        string where = LogQuerySql.Where(query, parameters);
        var sql = new StringBuilder("SELECT d.rowid");
        var kinds = new ColumnKind[plan.Fields.Count];
        for (int i = 0; i < plan.Fields.Count; i++)
        {
            (string expression, ColumnKind kind) = Field(plan.Fields[i], parameters);
            kinds[i] = kind;
            sql.Append(", ").Append(expression);
        }

        foreach (LogQuery filter in plan.Filters)
        {
            sql.Append(", (CASE WHEN ").Append(LogQuerySql.Where(filter, parameters)).Append(" THEN 1 ELSE 0 END)");
        }

        sql.Append(" FROM {docs} d WHERE ");
        if (bounded)
        {
            sql.Append("d.rowid <= ").Append(LastRow).Append(" AND (").Append(where).Append(')');
        }
        else
        {
            sql.Append(where);
        }

        return new Statement(sql.ToString(), parameters, kinds);
    }

    /// <summary>The statement reading every distinct value of <paramref name="field"/> in an index (for <c>min_doc_count: 0</c>).</summary>
    public static Statement Distinct(string field, bool bounded = false)
    {
        var parameters = new LogSqlParameters();
        (string expression, ColumnKind kind) = Field(field, parameters);
        return new Statement($"SELECT DISTINCT 0, {expression} FROM {{docs}} d" + (bounded ? " WHERE d.rowid <= " + LastRow : string.Empty), parameters, [kind]);
    }

    private static (string Expression, ColumnKind Kind) Field(string field, LogSqlParameters parameters)
    {
        switch (field)
        {
            case "@timestamp":
                return ("d.ts", ColumnKind.Integer);
            case "severity" or "facility":
                return ("d." + field, ColumnKind.Integer);
            case "program" or "logsource" or "host" or "device_id" or "workload":
                return (LogQuerySql.ValueText(field), ColumnKind.Text);
            case "_id":
                return (LogSourceFunction.DocIdExpression, ColumnKind.Text);
            case "_index":
                return ("NULL", ColumnKind.Index);
            default:
                return ($"({LogSourceFunction.Expression} -> {parameters.Add(LogQuerySql.JsonPath(field))})", ColumnKind.Json);
        }
    }
}
