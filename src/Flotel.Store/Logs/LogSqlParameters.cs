using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Logs;

/// <summary>
/// The parameters of one search's statements: hands out names in order (<c>$p0</c>, <c>$p1</c>, …) and records each
/// value. Every SQL fragment of a search (the WHERE condition, the sort keys, and any later clause) takes its names from
/// the same collector, so names are unique by construction and fragments are joined as text without renaming.
/// </summary>
/// <remarks>
/// One parameter's value changes per index: the index name (<c>_index</c> compares against it), always named
/// <c>$index</c>. <see cref="BindTo"/> binds every recorded value and, when a fragment asked for it, the index name.
/// </remarks>
internal sealed class LogSqlParameters
{
    /// <summary>
    /// Most values one search may bind (a value per term, range bound, field path…), as Elasticsearch 8 counts at most
    /// 4,096 clauses in a query (<c>indices.query.bool.max_clause_count</c>). SQLite binds at most 32,766 and looks each
    /// name up by a linear scan, so binding grows with the square of the count: 40,000 terms took seconds of CPU before
    /// SQLite refused them.
    /// </summary>
    public const int MaxParameters = 4096;

    private const string IndexNameParameter = "$index";

    private readonly List<KeyValuePair<string, object>> _values = [];

    /// <summary>The values handed out so far, by name, in the order they were added.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Values => _values;

    /// <summary>Whether a fragment refers to the index name (see <see cref="IndexName"/>).</summary>
    public bool UsesIndexName { get; private set; }

    /// <summary>Records <paramref name="value"/> and returns the parameter name to write in its place.</summary>
    /// <exception cref="LogQueryException">More than <see cref="MaxParameters"/> values.</exception>
    public string Add(object value)
    {
        if (_values.Count >= MaxParameters)
        {
            throw new LogQueryException(
                "the query has more than " + MaxParameters.ToString(CultureInfo.InvariantCulture) + " values and clauses (terms, bounds, fields); split it");
        }

        string name = "$p" + _values.Count.ToString(CultureInfo.InvariantCulture);
        _values.Add(new KeyValuePair<string, object>(name, value));
        return name;
    }

    /// <summary>The parameter name standing for the name of the index a statement runs on.</summary>
    public string IndexName()
    {
        UsesIndexName = true;
        return IndexNameParameter;
    }

    /// <summary>
    /// Binds every value to <paramref name="command"/>, and <paramref name="indexName"/> when a fragment used it. A
    /// statement built from some of the fragments (the count has no sort keys) gets the others' values too: a value whose
    /// name is not in the statement is not bound (Microsoft.Data.Sqlite looks each up with
    /// <c>sqlite3_bind_parameter_index</c> and skips a name it does not find).
    /// </summary>
    public void BindTo(SqliteCommand command, string indexName)
    {
        foreach (KeyValuePair<string, object> p in _values)
        {
            _ = command.Parameters.AddWithValue(p.Key, p.Value);
        }

        if (UsesIndexName)
        {
            _ = command.Parameters.AddWithValue(IndexNameParameter, indexName);
        }
    }
}
