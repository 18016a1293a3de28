using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Logs;

/// <summary>Parameter names of the SQL a search compiles to: one collector per search, every value its own name.</summary>
public sealed class LogQuerySqlTests
{
    private const string Index = "logs-params";

    // n in [9, 12] by twenty range bounds on a _source field, at least one of the message words w8, w9, w10, w11, w15
    // (five full-text clauses), and not tag t10: documents 9 and 11, each kind of clause excluding some. Were two
    // clauses given one name, SQLite would bind the last value to both and the bounds or words would change.
    private static BoolQuery ManyClausesOfEachKind()
    {
        var must = new List<LogQuery>();
        for (int k = 0; k < 10; k++)
        {
            must.Add(new RangeQuery("n", null, (long)k, null, null));
            must.Add(new RangeQuery("n", null, null, null, (long)(21 - k)));
        }

        LogQuery[] should = [.. new[] { 8, 9, 10, 11, 15 }.Select(n => (LogQuery)new MatchQuery("message", "w" + n.ToString(CultureInfo.InvariantCulture), false))];
        return new BoolQuery(must, [], should, [new TermsQuery("tag", ["t10"])], MinimumShouldMatch: 1);
    }

    // Every "$pN" in the text, in order.
    private static List<string> ParameterNames(string sql)
    {
        var names = new List<string>();
        for (int i = sql.IndexOf("$p", StringComparison.Ordinal); i >= 0; i = sql.IndexOf("$p", i + 2, StringComparison.Ordinal))
        {
            int end = i + 2;
            while (end < sql.Length && char.IsAsciiDigit(sql[end]))
            {
                end++;
            }

            names.Add(sql[i..end]);
        }

        return names;
    }

    [Fact]
    public void Add_ManyValues_EachGetsItsOwnNameInOrder()
    {
        var parameters = new LogSqlParameters();
        string[] names = [.. Enumerable.Range(0, 25).Select(i => parameters.Add(i * 10L))];

        Assert.Equal(names.Length, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(names, parameters.Values.Select(p => p.Key));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (object)(i * 10L)), parameters.Values.Select(p => p.Value));
    }

    [Fact]
    public void Add_PastMaxParameters_LogQueryException()
    {
        var parameters = new LogSqlParameters();
        for (int i = 0; i < LogSqlParameters.MaxParameters; i++)
        {
            _ = parameters.Add(i);
        }

        _ = Assert.Throws<LogQueryException>(() => parameters.Add("one more"));
    }

    [Fact]
    public void BindTo_IndexNameUsed_BindsValuesAndIndexName()
    {
        var parameters = new LogSqlParameters();
        _ = parameters.Add("a");
        _ = parameters.Add(2L);
        using var unused = new SqliteCommand();
        parameters.BindTo(unused, "ignored");
        Assert.Equal(2, unused.Parameters.Count);

        string indexName = parameters.IndexName();
        using var used = new SqliteCommand();
        parameters.BindTo(used, "logs-1");

        Assert.Equal(["$p0", "$p1", indexName], used.Parameters.Cast<SqliteParameter>().Select(p => p.ParameterName));
        Assert.Equal("logs-1", used.Parameters[indexName].Value);
    }

    [Fact]
    public void Where_BoolOfManyRangeAndMatchClauses_EveryValueNamedOnceInTheText()
    {
        var parameters = new LogSqlParameters();
        string where = LogQuerySql.Where(ManyClausesOfEachKind(), parameters);

        List<string> inText = ParameterNames(where);
        // 20 bounds and their 20 JSON paths, 5 full-text expressions, the tag's path and its value.
        Assert.Equal(47, parameters.Values.Count);
        Assert.Equal(parameters.Values.Select(p => p.Key), inText);
        Assert.Equal(inText.Count, inText.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void OrderBy_AfterWhere_TakesNamesTheConditionDoesNotUse()
    {
        var parameters = new LogSqlParameters();
        string where = LogQuerySql.Where(new RangeQuery("n", null, 1L, null, null), parameters);
        List<(string Expr, bool Desc)> order = LogQuerySql.OrderBy([new LogSort("n", true), new LogSort("_doc", false), new LogSort("_score", true)], parameters);

        Assert.Equal(["$p0", "$p1"], ParameterNames(where));
        Assert.Equal(["json_extract(" + LogSourceFunction.Expression + ", $p2)", "d.rowid"], order.Select(o => o.Expr));
        Assert.Equal("$.\"n\"", parameters.Values[2].Value);
    }

    [Fact]
    public async Task Search_BoolOfManyRangeAndMatchClausesSortedBySourceField_RightHitsInOrder()
    {
        using var t = new TestLogStore();
        var documents = new List<LogDocument>();
        for (int n = 0; n < 20; n++)
        {
            string source = "{\"@timestamp\":\"2022-05-12T20:" + n.ToString("00", CultureInfo.InvariantCulture) + ":00Z\",\"message\":\"event w"
                + n.ToString(CultureInfo.InvariantCulture) + "\",\"n\":" + n.ToString(CultureInfo.InvariantCulture) + ",\"tag\":\"t" + n.ToString(CultureInfo.InvariantCulture) + "\"}";
            documents.Add(new LogDocument(Index, null, Encoding.UTF8.GetBytes(source)));
        }

        _ = await t.Store.WriteDocumentsAsync(documents);

        // Not match_all, so the count statement runs too, bound with the sort key's path it does not use. The sort is on
        // another field than the condition's first path: a sort key reusing that name would order by n instead.
        LogSearchResult result = t.Store.Search(new LogSearch([Index], ManyClausesOfEachKind(), [new LogSort("tag", false)], 0, 10, TrackTotalHitsUpTo: 10_000), countOnly: false);

        Assert.Equal(2, result.Total);
        Assert.Equal([11L, 9L], result.Hits.Select(h => (long)JsonNode.Parse(h.Source)!["n"]!));
        Assert.Equal(["t11", "t9"], result.Hits.Select(h => (string)h.SortValues[0]!));
    }

    [Fact]
    public async Task Search_IndexNameInConditionAndSort_BoundPerIndex()
    {
        using var t = new TestLogStore();
        byte[] doc = """{"@timestamp":"2022-05-12T20:22:01Z","message":"doc","n":1}"""u8.ToArray();
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs-a", null, doc), new LogDocument("logs-b", null, doc), new LogDocument("logs-c", null, doc)]);
        LogQuery query = new BoolQuery([new RangeQuery("n", null, 1L, null, null)], [], [], [new TermsQuery("_index", ["logs-b"])], null);

        LogSearchResult result = t.Store.Search(new LogSearch(["logs-a", "logs-b", "logs-c"], query, [new LogSort("_index", true)], 0, 10), countOnly: false);

        Assert.Equal(["logs-c", "logs-a"], result.Hits.Select(h => h.Index));
        Assert.Equal(["logs-c", "logs-a"], result.Hits.Select(h => (string)h.SortValues[0]!));
    }
}
