using System.Globalization;
using System.Text;

namespace Flotel.Store.Logs;

/// <summary>
/// Compiles a <see cref="LogQuery"/> to a SQL condition over one index's tables (schema in <see cref="LogStore"/>), and
/// sort keys to SQL value expressions: the documents table is aliased <c>d</c>, the FTS5 table is written
/// <see cref="FtsTable"/> and named per index by <see cref="ForIndex(string, string)"/>. Values always travel as parameters, named by the
/// search's <see cref="LogSqlParameters"/>; field names only ever become JSON paths, also as parameters.
/// </summary>
/// <remarks>
/// A statement over the matching documents is <c>… FROM docs_N d WHERE {ForIndex(Where(query, p), fts_N)} …</c> with
/// every fragment built from the same <c>p</c>, then <see cref="LogSqlParameters.BindTo"/>: the search's count and page
/// are two such statements, and a grouping (GROUP BY <see cref="FieldValue"/>) or a resume-after condition would be
/// more fragments from the same collector, ANDed to the same condition.
/// </remarks>
internal sealed class LogQuerySql
{
    /// <summary>Placeholder for the FTS table name in a compiled condition (see <see cref="ForIndex(string, string)"/>).</summary>
    public const string FtsTable = "{fts}";

    /// <summary>Placeholder for the blocks table name in a compiled condition (see <see cref="ForIndex(string, string, bool)"/>).</summary>
    public const string BlocksTable = "{blocks}";

    /// <summary>Starts the row id span of a <c>@timestamp</c> range, which only an index with block time bounds keeps.</summary>
    public const string SpanStart = "{span}";

    /// <summary>Ends what <see cref="SpanStart"/> started.</summary>
    public const string SpanEnd = "{/span}";

    private readonly StringBuilder _sql = new();
    private readonly LogSqlParameters _parameters;

    /// <summary>The full-text conditions appended so far (their match argument and check), for <see cref="Drive"/>.</summary>
    private readonly List<(string Sql, string Match, string? Check)> _fullText = [];

    private LogQuerySql(LogSqlParameters parameters) => _parameters = parameters;

    /// <summary>The condition <paramref name="query"/> compiles to, its values added to <paramref name="parameters"/>.</summary>
    /// <exception cref="LogQueryException">More than <see cref="LogSqlParameters.MaxParameters"/> values.</exception>
    public static string Where(LogQuery query, LogSqlParameters parameters)
    {
        var compiler = new LogQuerySql(parameters);
        compiler.Append(query);
        return compiler._sql.ToString();
    }

    /// <summary>
    /// <paramref name="query"/> split for a search that starts from FTS5 (<see cref="LogFullTextDrive"/>): one conjunct of
    /// the query (a <c>bool</c>'s <c>must</c> and <c>filter</c> clauses, recursively, or the query itself) that is a
    /// full-text condition on <c>message</c> (a term, a match, a phrase, a prefix, or a <c>should</c> of such without
    /// phrase checks), the other conjuncts, the <c>must_not</c> clauses and the phrase check as the rest. Null when no
    /// conjunct is one. The fragments take new names from <paramref name="parameters"/> (the same values again), so
    /// they join with <see cref="Where"/>'s condition and sort keys in one statement.
    /// </summary>
    public static LogFullTextDrive? Drive(LogQuery query, LogSqlParameters parameters)
    {
        var conjuncts = new List<LogQuery>();
        var negated = new List<LogQuery>();
        Conjuncts(query, conjuncts, negated);
        for (int i = 0; i < conjuncts.Count; i++)
        {
            if (FullTextOf(conjuncts[i], parameters) is not { } fullText)
            {
                continue;
            }

            var rest = new List<string>();
            var window = new List<string>();
            if (fullText.Check is not null)
            {
                rest.Add(fullText.Check);
            }

            for (int j = 0; j < conjuncts.Count; j++)
            {
                if (j != i)
                {
                    string part = "(" + Where(conjuncts[j], parameters) + ")";
                    rest.Add(part);
                    if (conjuncts[j] is RangeQuery range && Normalize(range.Field) == "@timestamp")
                    {
                        window.Add(part);
                    }
                }
            }

            foreach (LogQuery q in negated)
            {
                rest.Add("NOT (" + Where(q, parameters) + ")");
            }

            return new LogFullTextDrive(fullText.Match, rest.Count == 0 ? "1" : Balanced(rest, " AND "), window.Count == 0 ? null : Balanced(window, " AND "));
        }

        return null;
    }

    // The clauses every match meets: must and filter, recursively, and must_not (negated); should clauses only when
    // they score alone (ES: with must or filter and no minimum_should_match they do not restrict).
    private static void Conjuncts(LogQuery query, List<LogQuery> conjuncts, List<LogQuery> negated)
    {
        if (query is BoolQuery b && (b.Should.Count == 0 || ((b.MinimumShouldMatch ?? 0) == 0 && b.Must.Count + b.Filter.Count > 0)))
        {
            foreach (LogQuery q in b.Must.Concat(b.Filter))
            {
                Conjuncts(q, conjuncts, negated);
            }

            negated.AddRange(b.MustNot);
            return;
        }

        conjuncts.Add(query);
    }

    // The FTS5 match of a full-text condition on message and its phrase check (a condition on d), or null. A should of
    // such conditions is their FTS5 OR, when none needs a check.
    private static (string Match, string? Check)? FullTextOf(LogQuery query, LogSqlParameters parameters)
    {
        if (query is BoolQuery { Must.Count: 0, Filter.Count: 0, MustNot.Count: 0, Should.Count: > 0 } b && (b.MinimumShouldMatch ?? 1) == 1)
        {
            var matches = new List<string>(b.Should.Count);
            foreach (LogQuery q in b.Should)
            {
                if (FullTextOf(q, parameters) is not { Check: null } leaf)
                {
                    return null;
                }

                matches.Add(leaf.Match);
            }

            return (matches.Count == 1 ? matches[0] : "('(' || " + string.Join(" || ') OR (' || ", matches) + " || ')')", null);
        }

        if (query is not (MatchQuery or PhraseQuery or TermsQuery or PrefixQuery))
        {
            return null;
        }

        var compiler = new LogQuerySql(parameters);
        compiler.Append(query);
        return compiler._fullText is [var only] && only.Sql == compiler._sql.ToString() ? (only.Match, only.Check) : null;
    }

    /// <summary>
    /// A condition from <see cref="Where"/> over the index whose full-text table is <paramref name="ftsTable"/>. Only the
    /// table name differs per index (a table cannot be a parameter); the parameters are the same for every index.
    /// </summary>
    public static string ForIndex(string condition, string ftsTable) => ForIndex(condition, ftsTable, blockTimes: false);

    /// <summary>
    /// <see cref="ForIndex(string, string)"/>, keeping the row id spans of <c>@timestamp</c> ranges (between
    /// <see cref="SpanStart"/> and <see cref="SpanEnd"/>) when <paramref name="blockTimes"/>: the index's blocks hold time
    /// bounds (schema in <see cref="LogStore"/>). Without, they are left out: an index with a ts index seeks with it, and
    /// a statement that already names the rows to read (a block's) needs no second span.
    /// </summary>
    public static string ForIndex(string condition, string ftsTable, bool blockTimes)
    {
        string named = condition.Replace(FtsTable, ftsTable, StringComparison.Ordinal)
            .Replace(BlocksTable, "blocks_" + ftsTable["fts_".Length..], StringComparison.Ordinal);
        return blockTimes
            ? named.Replace(SpanStart, string.Empty, StringComparison.Ordinal).Replace(SpanEnd, string.Empty, StringComparison.Ordinal)
            : WithoutSpans(named);
    }

    /// <summary><paramref name="condition"/> without the row id spans of its <c>@timestamp</c> ranges (the same rows match).</summary>
    public static string WithoutSpans(string condition)
    {
        var kept = new StringBuilder(condition.Length);
        int at = 0;
        for (int start; (start = condition.IndexOf(SpanStart, at, StringComparison.Ordinal)) >= 0;)
        {
            kept.Append(condition, at, start - at);
            at = condition.IndexOf(SpanEnd, start, StringComparison.Ordinal) + SpanEnd.Length;
        }

        return kept.Append(condition, at, condition.Length - at).ToString();
    }

    /// <summary>
    /// The SQL value expressions to order by, one per sort key (<c>_doc</c> is <c>d.rowid</c>; <c>_score</c>, which the
    /// store does not compute, is left out), their JSON paths added to <paramref name="parameters"/>.
    /// </summary>
    public static List<(string Expr, bool Desc)> OrderBy(IReadOnlyList<LogSort> sort, LogSqlParameters parameters)
    {
        var keys = new List<(string Expr, bool Desc)>(sort.Count);
        foreach (LogSort key in sort)
        {
            if (key.Field is "_doc" or "_shard_doc")
            {
                keys.Add(("d.rowid", key.Descending));
            }
            else if (key.Field != "_score")
            {
                keys.Add((FieldValue(key.Field, parameters), key.Descending));
            }
        }

        return keys;
    }

    /// <summary>Placeholder in <see cref="After"/>'s condition for the per-index row id bound of a <c>_doc</c> key (see <see cref="ForDocOrder"/>).</summary>
    public const string DocAfterBound = "{doc_after}";

    /// <summary>Placeholder in <see cref="After"/>'s condition for the row id a <c>_doc</c> key equals in this index, or -1.</summary>
    public const string DocEqualRow = "{doc_equal}";

    /// <summary>
    /// The condition "the row sorts after <paramref name="values"/>" in the order of <paramref name="keys"/> (from
    /// <see cref="OrderBy"/>; <paramref name="values"/> may cover only the first keys): the lexicographic chain
    /// <c>k0 &gt; v0 OR (k0 = v0 AND k1 &gt; v1) OR …</c>, with "&gt;" read in each key's direction and missing values
    /// (NULL) last in both, as <see cref="LogStore.Search"/> orders. A <c>_doc</c> key (<c>d.rowid</c>) compares the
    /// document order (<see cref="LogDocOrder"/>), whose index part differs per index: its bounds are placeholders that
    /// <see cref="ForDocOrder"/> fills per index. Nothing sorts after a NULL on the last key.
    /// </summary>
    /// <remarks><paramref name="firstValue"/> is the parameter holding the first key's value when it is not NULL, for a range bound (see <see cref="LogStore.Search"/>).</remarks>
    /// <exception cref="LogQueryException">A value that cannot be compared with its key (a <c>_doc</c> value that is not a number).</exception>
    public static string After(IReadOnlyList<(string Expr, bool Desc)> keys, IReadOnlyList<object?> values, LogSqlParameters parameters, out (long Value, bool Desc)? docKey, out string? firstValue)
    {
        docKey = null;
        firstValue = null;
        var chain = new StringBuilder();
        var equal = new StringBuilder();
        int count = Math.Min(keys.Count, values.Count);
        for (int i = 0; i < count; i++)
        {
            (string expr, bool desc) = keys[i];
            object? value = values[i];
            string greater, same;
            if (expr == "d.rowid")
            {
                long order = value switch
                {
                    long l => l,
                    double d when d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => (long)d,
                    string text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed) => parsed,
                    _ => throw new LogQueryException("a search_after value for [_doc] must be the number a hit's sort values gave"),
                };
                docKey ??= (order, desc);
                greater = (desc ? "d.rowid < " : "d.rowid > ") + DocAfterBound;
                same = "d.rowid = " + DocEqualRow;
            }
            else if (value is null)
            {
                greater = "0"; // missing values sort last: nothing is after them on this key
                same = expr + " IS NULL";
            }
            else
            {
                string name = parameters.Add(expr == "d.ts" ? TimestampValue(value) : value);
                firstValue ??= i == 0 ? name : null;
                greater = $"({expr} {(desc ? "<" : ">")} {name} OR {expr} IS NULL)";
                same = $"{expr} = {name}";
            }

            chain.Append(chain.Length == 0 ? "(" : " OR (").Append(equal).Append(greater).Append(')');
            equal.Append(same).Append(" AND ");
        }

        return chain.Length == 0 ? "1" : "(" + chain + ")";
    }

    /// <summary>
    /// <see cref="After"/>'s condition over the index with id <paramref name="indexId"/>: a <c>_doc</c> value
    /// (<paramref name="docKey"/>) names an index and a row; rows of an index before it come before it (ascending), rows
    /// of an index after it come after it, and within its own index the row ids compare.
    /// </summary>
    public static string ForDocOrder(string condition, long indexId, (long Value, bool Desc)? docKey)
    {
        if (docKey is not { } key)
        {
            return condition;
        }

        (long afterIndex, long afterRow) = LogDocOrder.Decode(key.Value);
        long bound = indexId == afterIndex ? afterRow
            : (indexId > afterIndex) != key.Desc ? (key.Desc ? long.MaxValue : 0)
            : (key.Desc ? 0 : long.MaxValue);
        long equalRow = indexId == afterIndex ? afterRow : -1;
        return condition
            .Replace(DocAfterBound, bound.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace(DocEqualRow, equalRow.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    // @timestamp is stored as Unix milliseconds; a search_after value may also be the date text.
    private static object TimestampValue(object value) => value switch
    {
        string text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms) => ms,
        string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time) => time.ToUnixTimeMilliseconds(),
        string text => throw new LogQueryException($"search_after value [{text}] for [@timestamp] is not a date"),
        _ => value,
    };

    /// <summary>
    /// The SQL value expression of <paramref name="field"/>: a column, the index name, or <c>json_extract</c> with the
    /// JSON path added to <paramref name="parameters"/>.
    /// </summary>
    public static string FieldValue(string field, LogSqlParameters parameters) => new LogQuerySql(parameters).ValueExpression(field);

    private string ValueExpression(string field)
    {
        field = Normalize(field);
        return Column(field) ?? (field == "_index" ? _parameters.IndexName() : $"json_extract({LogSourceFunction.Expression}, {Add(JsonPath(field))})");
    }

    private static string Normalize(string field) =>
        field.EndsWith(".keyword", StringComparison.Ordinal) ? field[..^".keyword".Length] : field;

    private static string? Column(string field) => field switch
    {
        "@timestamp" => "d.ts",
        "severity" => "d.severity",
        "facility" => "d.facility",
        "_id" => LogSourceFunction.DocIdExpression,
        _ => IsValueColumn(field) ? ValueText(field) : null,
    };

    /// <summary>The five repeated strings, stored as ids of <c>values_N</c> in the compact layout (schema in <see cref="LogStore"/>).</summary>
    public static bool IsValueColumn(string field) => field is "program" or "logsource" or "host" or "device_id" or "workload";

    /// <summary>
    /// The text of a value column in either layout, with the TEXT affinity the column had when it held text (so
    /// comparisons with numbers convert them as before).
    /// </summary>
    public static string ValueText(string field) =>
        $"CAST({LogSourceFunction.TextFunction}('{FtsTable}', d.{field}) AS TEXT)";

    private static bool IsNumericColumn(string field) => field is "@timestamp" or "severity" or "facility";

    // Fields Logstash's template and Flotel treat as keywords: a match on them compares the whole value.
    private static bool IsKeyword(string field) => Column(field) is not null || field is "_index" or "pid" or "msgid"
        or "container_id" or "facility_label" or "severity_label" or "tags" or "timestamp" or "@version";

    /// <summary>
    /// The SQLite JSON path of a dotted field name, each segment a quoted label. SQLite ends a quoted label at the first
    /// <c>"</c> and reads backslash escapes in it as JSON escapes (json.c, <c>jsonLookupStep</c>), and the path text ends
    /// at a NUL: so <c>"</c>, <c>\</c> and control characters are written as <c>\uXXXX</c>. Before, a field name with a
    /// NUL or a trailing backslash made the path malformed and the search failed with a 500.
    /// </summary>
    internal static string JsonPath(string field)
    {
        var path = new StringBuilder("$");
        foreach (string segment in field.Split('.'))
        {
            path.Append(".\"");
            foreach (char c in segment)
            {
                if (c is '"' or '\\' || char.IsControl(c))
                {
                    path.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                }
                else
                {
                    path.Append(c);
                }
            }

            path.Append('"');
        }

        return path.ToString();
    }

    private string Add(object value) => _parameters.Add(value);

    private void Append(LogQuery query)
    {
        switch (query)
        {
            case MatchAllQuery:
                _sql.Append('1');
                break;
            case MatchNoneQuery:
                _sql.Append('0');
                break;
            case MatchQuery m:
                AppendMatch(Normalize(m.Field), m.Text, m.AllTerms ? 1 : 0);
                break;
            case PhraseQuery p:
                AppendMatch(Normalize(p.Field), p.Text, 2);
                break;
            case TermsQuery t:
                AppendTerms(Normalize(t.Field), t.Values);
                break;
            case PrefixQuery p:
                AppendPrefix(Normalize(p.Field), p.Prefix);
                break;
            case ExistsQuery e:
                AppendExists(Normalize(e.Field));
                break;
            case RangeQuery r:
                AppendRange(r with { Field = Normalize(r.Field) });
                break;
            case BoolQuery b:
                AppendBool(b);
                break;
            default:
                throw new ArgumentException($"unsupported query {query.GetType().Name}", nameof(query));
        }
    }

    private void AppendMatch(string field, string text, int mode)
    {
        List<string> tokens = LogAnalyzer.Tokenize(text);
        if (field == "message")
        {
            AppendFullText(mode == 2 ? [tokens] : [.. tokens.Select(t => (IReadOnlyList<string>)[t])], all: mode != 0, prefix: false);
        }
        else if (IsKeyword(field))
        {
            AppendTerms(field, [text]);
        }
        else if (tokens.Count == 0)
        {
            _sql.Append('0');
        }
        else
        {
            _sql.Append("flotel_match(").Append(ValueExpression(field)).Append(", ").Append(Add(string.Join(' ', tokens)))
                .Append(", ").Append(mode.ToString(CultureInfo.InvariantCulture)).Append(')');
        }
    }

    // A full-text condition on message (see LogFullText): the FTS5 expression of the index's layout, and for a phrase in
    // an index without positions the check of the row's message, in the same condition so counts and sorts are exact.
    private void AppendFullText(IReadOnlyList<IReadOnlyList<string>> phrases, bool all, bool prefix)
    {
        if (LogFullText.Compile(phrases, all, prefix) is not { } condition)
        {
            _sql.Append('0');
            return;
        }

        string match = condition.Compact is null ? Add(condition.Positions)
            : $"{LogFullText.ExpressionFunction}('{FtsTable}', {Add(condition.Positions)}, {Add(condition.Compact)})";
        string? check = condition.Check is null ? null
            : $"{LogFullText.CheckFunction}('{FtsTable}', d.rowid, d.source, {Add(condition.Check)})";
        int start = _sql.Length;
        _sql.Append(check is null ? string.Empty : "(").Append("d.rowid IN (SELECT rowid FROM ").Append(FtsTable)
            .Append(" WHERE ").Append(FtsTable).Append(" MATCH ").Append(match).Append(')');
        if (check is not null)
        {
            _sql.Append(" AND ").Append(check).Append(')');
        }

        _fullText.Add((_sql.ToString(start, _sql.Length - start), match, check));
    }

    private void AppendTerms(string field, IReadOnlyList<object> values)
    {
        if (values.Count == 0)
        {
            _sql.Append('0');
            return;
        }

        if (field == "message")
        {
            // A term on an analyzed field matches one indexed token (ES: term queries are not analyzed).
            var phrases = new List<IReadOnlyList<string>>();
            foreach (object v in values)
            {
                List<string> tokens = LogAnalyzer.Tokenize(Convert.ToString(v, CultureInfo.InvariantCulture));
                if (tokens.Count > 0)
                {
                    phrases.Add(tokens);
                }
            }

            AppendFullText(phrases, all: false, prefix: false);
            return;
        }

        if (field == "_id")
        {
            AppendIds(values);
            return;
        }

        if (IsValueColumn(field))
        {
            // The column holds an id (compact layout) or text: compare with both, without a look-up per row. The value is
            // made text as the TEXT column's affinity made it, and "|| ''" takes the affinity off so that the untyped
            // column of the compact layout does not turn its ids into text to compare them. A value with no id is an empty
            // blob, which equals nothing (a NULL in the list would make NOT IN unknown for every row).
            var ids = new StringBuilder();
            foreach (object v in values)
            {
                foreach (object candidate in Candidates(field, v))
                {
                    string text = $"(CAST({Add(candidate)} AS TEXT) || '')";
                    ids.Append(ids.Length == 0 ? string.Empty : ", ").Append(text)
                        .Append(", coalesce(").Append(LogSourceFunction.IdFunction).Append("('").Append(FtsTable).Append("', ").Append(text).Append("), x'')");
                }
            }

            _sql.Append(ids.Length == 0 ? "(0)" : $"(d.{field} IN ({ids}))");
            return;
        }

        AppendValuePredicate(field, expr =>
        {
            var list = new StringBuilder();
            foreach (object v in values)
            {
                foreach (object candidate in Candidates(field, v))
                {
                    list.Append(list.Length == 0 ? string.Empty : ", ").Append(Add(candidate));
                }
            }

            return list.Length == 0 ? "0" : $"{expr} IN ({list})";
        });
    }

    // _id: an id given to a document is in the id column (its index serves the look-up); a generated one names its row
    // (flotel_rowid, evaluated once per statement; 0 names no row). Each side says false rather than NULL for the rows
    // of the other, so NOT keeps its meaning.
    private void AppendIds(IReadOnlyList<object> values)
    {
        var given = new StringBuilder();
        var rows = new StringBuilder();
        foreach (object v in values)
        {
            foreach (object candidate in Candidates("_id", v))
            {
                string parameter = Add(candidate);
                given.Append(given.Length == 0 ? string.Empty : ", ").Append(parameter);
                if (candidate is string)
                {
                    rows.Append(rows.Length == 0 ? string.Empty : ", ").Append("coalesce(").Append(LogSourceFunction.RowIdFunction).Append("('")
                        .Append(FtsTable).Append("', ").Append(parameter).Append("), 0)");
                }
            }
        }

        _sql.Append("((d.id IS NOT NULL AND d.id IN (").Append(given).Append(")) OR (d.id IS NULL AND d.rowid IN (")
            .Append(rows.Length == 0 ? "0" : rows.ToString()).Append(")))");
    }

    // A string "6" matches the number 6 and the other way round (Elasticsearch coerces term values to the field type).
    private static IEnumerable<object> Candidates(string field, object value)
    {
        switch (value)
        {
            case string s:
                if (!IsNumericColumn(field) || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                {
                    yield return s;
                }

                if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l))
                {
                    yield return l;
                }

                break;
            case bool b:
                yield return b ? 1L : 0L;
                if (!IsNumericColumn(field))
                {
                    yield return b ? "true" : "false";
                }

                break;
            case long or int or double:
                yield return value;
                if (!IsNumericColumn(field))
                {
                    yield return Convert.ToString(value, CultureInfo.InvariantCulture)!;
                }

                break;
            default:
                yield return Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                break;
        }
    }

    private void AppendPrefix(string field, string prefix)
    {
        if (field == "message")
        {
            List<string> tokens = LogAnalyzer.Tokenize(prefix);
            if (tokens.Count == 0)
            {
                _sql.Append('1');
                return;
            }

            AppendFullText([tokens], all: false, prefix: true);
            return;
        }

        AppendValuePredicate(field, expr => $"substr({expr}, 1, {prefix.Length.ToString(CultureInfo.InvariantCulture)}) = {Add(prefix)}");
    }

    private void AppendExists(string field)
    {
        if (IsValueColumn(field))
        {
            _sql.Append("d.").Append(field).Append(" IS NOT NULL");
        }
        else if (Column(field) is { } column)
        {
            _sql.Append(column).Append(" IS NOT NULL");
        }
        else if (field == "_index")
        {
            _sql.Append('1');
        }
        else
        {
            string path = Add(JsonPath(field));
            _sql.Append("coalesce(json_type(").Append(LogSourceFunction.Expression).Append(", ").Append(path).Append("), 'null') <> 'null'");
        }
    }

    private void AppendRange(RangeQuery r)
    {
        if (r.Field == "@timestamp")
        {
            List<(string Op, string Parameter)> bounds = RangeBounds(r);
            // The rows of the range lie in the blocks whose time bounds overlap it: a span of row ids to seek in, for an
            // index with block time bounds (see ForIndex). The condition is the same with or without it.
            string blocks = BlockCondition(bounds);
            _sql.Append('(').Append(RangePredicate("d.ts", bounds)).Append(SpanStart)
                .Append(" AND d.rowid BETWEEN (SELECT min(b.first_rowid) FROM ").Append(BlocksTable).Append(" b WHERE ").Append(blocks)
                .Append(") AND (SELECT max(b.last_rowid) FROM ").Append(BlocksTable).Append(" b WHERE ").Append(blocks).Append(')')
                .Append(SpanEnd).Append(')');
            return;
        }

        // The bounds are named after the field's path, in the order the text names them.
        AppendValuePredicate(r.Field, expr => RangePredicate(expr, RangeBounds(r)));
    }

    // A range's bounds as comparisons with parameters, each value added once.
    private List<(string Op, string Parameter)> RangeBounds(RangeQuery r)
    {
        var bounds = new List<(string Op, string Parameter)>(2);
        void Bound(object? value, string op)
        {
            if (value is not null)
            {
                object bound = IsNumericColumn(r.Field) && value is string s
                    && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : value;
                bounds.Add((op, Add(bound)));
            }
        }

        Bound(r.Gt, ">");
        Bound(r.Gte, ">=");
        Bound(r.Lt, "<");
        Bound(r.Lte, "<=");
        return bounds;
    }

    private static string RangePredicate(string expr, List<(string Op, string Parameter)> bounds) =>
        bounds.Count == 0 ? $"{expr} IS NOT NULL" : string.Join(" AND ", bounds.Select(b => $"{expr} {b.Op} {b.Parameter}"));

    /// <summary>
    /// The condition on a block <c>b</c> that holds whenever one of its rows meets the <c>@timestamp</c> range of
    /// <paramref name="bounds"/>: a row above a lower bound makes the block's max_ts above it, a row below an upper bound
    /// its min_ts below it (both columns compare with the parameter as ts does), and a row with a ts makes both not NULL.
    /// </summary>
    private static string BlockCondition(List<(string Op, string Parameter)> bounds) =>
        bounds.Count == 0 ? "b.max_ts IS NOT NULL"
            : string.Join(" AND ", bounds.Select(b => $"b.{(b.Op[0] == '>' ? "max_ts" : "min_ts")} {b.Op} {b.Parameter}"));

    /// <summary>
    /// The condition on a block <c>b</c> of <see cref="BlocksTable"/> that every block holding a match of
    /// <paramref name="query"/> meets: the <c>@timestamp</c> ranges among the query's conjuncts (see <see cref="Drive"/>)
    /// on the blocks' time bounds, ANDed; null when there is none. Its values are added to <paramref name="parameters"/>
    /// again, so it joins any statement built from them.
    /// </summary>
    public static string? BlockWindow(LogQuery query, LogSqlParameters parameters)
    {
        var conjuncts = new List<LogQuery>();
        Conjuncts(query, conjuncts, []);
        var window = new List<string>();
        foreach (LogQuery q in conjuncts)
        {
            if (q is RangeQuery range && Normalize(range.Field) == "@timestamp")
            {
                var compiler = new LogQuerySql(parameters);
                window.Add("(" + BlockCondition(compiler.RangeBounds(range with { Field = "@timestamp" })) + ")");
            }
        }

        return window.Count == 0 ? null : Balanced(window, " AND ");
    }

    // Columns compare directly; other fields go through json_each so arrays (tags) match any element.
    private void AppendValuePredicate(string field, Func<string, string> predicate)
    {
        if (Column(field) is { } column)
        {
            _sql.Append('(').Append(predicate(column)).Append(')');
        }
        else if (field == "_index")
        {
            _sql.Append('(').Append(predicate(_parameters.IndexName())).Append(')');
        }
        else
        {
            string path = Add(JsonPath(field));
            _sql.Append("EXISTS (SELECT 1 FROM json_each(").Append(LogSourceFunction.Expression).Append(", ").Append(path)
                .Append(") j WHERE j.type NOT IN ('object', 'array') AND ")
                .Append(predicate("j.value")).Append(')');
        }
    }

    private void AppendBool(BoolQuery b)
    {
        var clauses = new List<string>();
        foreach (LogQuery q in b.Must.Concat(b.Filter))
        {
            clauses.Add(Sub(q));
        }

        foreach (LogQuery q in b.MustNot)
        {
            clauses.Add("NOT " + Sub(q));
        }

        // ES: with no must/filter, at least one should clause must match; otherwise should clauses only score.
        int minimum = b.MinimumShouldMatch ?? (b.Must.Count == 0 && b.Filter.Count == 0 && b.Should.Count > 0 ? 1 : 0);
        if (minimum > b.Should.Count)
        {
            clauses.Add("0");
        }
        else if (minimum > 0)
        {
            var should = new List<string>(b.Should.Count);
            foreach (LogQuery q in b.Should)
            {
                should.Add(minimum == 1 ? Sub(q) : "(CASE WHEN " + Sub(q) + " THEN 1 ELSE 0 END)");
            }

            clauses.Add(minimum == 1
                ? Balanced(should, " OR ")
                : "(" + Balanced(should, " + ") + " >= " + minimum.ToString(CultureInfo.InvariantCulture) + ")");
        }

        _sql.Append(clauses.Count == 0 ? "1" : Balanced(clauses, " AND "));
    }

    /// <summary>
    /// Joins <paramref name="parts"/> with <paramref name="op"/> as a balanced tree of parentheses. SQLite parses
    /// <c>a OR b OR c …</c> into a tree as deep as the chain is long and refuses one deeper than 1,000 levels
    /// (SQLITE_MAX_EXPR_DEPTH); balanced, 1,000 clauses are 10 levels.
    /// </summary>
    private static string Balanced(List<string> parts, string op)
    {
        var text = new StringBuilder();
        AppendBalanced(text, parts, 0, parts.Count, op);
        return text.ToString();
    }

    private static void AppendBalanced(StringBuilder text, List<string> parts, int start, int end, string op)
    {
        text.Append('(');
        if (end - start == 1)
        {
            text.Append(parts[start]);
        }
        else
        {
            int middle = start + ((end - start) / 2);
            AppendBalanced(text, parts, start, middle, op);
            text.Append(op);
            AppendBalanced(text, parts, middle, end, op);
        }

        text.Append(')');
    }

    private string Sub(LogQuery query)
    {
        int start = _sql.Length;
        Append(query);
        string text = "(" + _sql.ToString(start, _sql.Length - start) + ")";
        _sql.Length = start;
        return text;
    }
}
