using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Gateway.Store.Logs;
using Flotel.Gateway.Tests.Store.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>
/// Lucene query strings built to crash or stall the parser: refused with a 400 <c>query_shard_exception</c> at the depth
/// limit, or parsed in one pass, never a stack overflow or quadratic work.
/// </summary>
public sealed class QueryStringLimitsTests : IDisposable
{
    private const int Deep = 100_000;

    private readonly TestLogStore _t = new();

    public QueryStringLimitsTests()
    {
        DateTime t0 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
        _t.Store.WriteAsync([
            TestLogStore.Event(t0, "disk full", priority: 3, program: "kernel", deviceId: "dev1"),
            TestLogStore.Event(t0.AddMinutes(1), "login ok", priority: 6, program: "sshd", deviceId: "dev2"),
        ]).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose() => _t.Dispose();

    private static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    private List<string> Programs(string queryString)
    {
        LogQuery query = QueryStringParser.Parse(queryString);
        LogSearchResult result = _t.Store.Search(new LogSearch(["logstash-2022.05.12"], query, [new LogSort("@timestamp", false)], 0, 10), false);
        return [.. result.Hits.Select(h => (string)JsonNode.Parse(h.Source)!["program"]!)];
    }

    public static TheoryData<string, string> DeepQueries => new()
    {
        { "NOT", Repeat("NOT ", Deep) + "a" },
        { "!", Repeat("!", Deep) + "a" },
        { "-", Repeat("-", Deep) + "a" },
        { "parentheses", Repeat("(", Deep) + "a" + Repeat(")", Deep) },
        { "unclosed parentheses", Repeat("(", Deep) },
        { "field group", "f:" + Repeat("(", Deep) + "a" + Repeat(")", Deep) },
        { "unclosed field group", "f:" + Repeat("(", Deep) },
        { "negated groups", Repeat("NOT (", Deep) + "a" + Repeat(")", Deep) },
    };

    [Theory]
    [MemberData(nameof(DeepQueries))]
    public void Parse_NestingFarPastTheLimit_QueryShardExceptionNotAStackOverflow(string kind, string text)
    {
        var ex = Assert.Throws<ElasticsearchException>(() => QueryStringParser.Parse(text));
        Assert.Equal(400, ex.Status);
        Assert.True(ex.Type == "query_shard_exception" && ex.Message.Contains("nested too deeply", StringComparison.Ordinal), kind + ": " + ex.Type);
    }

    [Fact]
    public void Parse_ErrorInAHugeQuery_QuotesOnlyItsFirstKilobyte()
    {
        var ex = Assert.Throws<ElasticsearchException>(() => QueryStringParser.Parse(new string('\0', 1_000_000) + ")"));
        Assert.True(ex.Message.Length < 2_000, ex.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Parse_NestingAtTheLimit_Runs()
    {
        Assert.Equal(["sshd"], Programs(Repeat("NOT ", QueryStringParser.MaxDepth - 1) + "program:kernel"));
        Assert.Equal(["kernel"], Programs("program:" + Repeat("(", QueryStringParser.MaxDepth) + "kernel" + Repeat(")", QueryStringParser.MaxDepth)));
    }

    [Fact]
    public void Parse_FieldGroupWithQuotedParenthesis_ReadsThePhrase()
    {
        // The group was cut at the first ')' by counting characters, inside the quotes too.
        var query = Assert.IsType<BoolQuery>(QueryStringParser.Parse("program:(\"a)\" kernel)"));
        Assert.Equal([new PhraseQuery("program", "a)"), new MatchQuery("program", "kernel", false)], query.Should);
        Assert.Equal(["kernel"], Programs("program:(\"a)\" kernel)"));
    }

    [Fact]
    public void Parse_EmptyFieldGroup_MatchesAll() =>
        Assert.Same(MatchAllQuery.Instance, QueryStringParser.Parse("program:( )"));

    [Fact]
    public void Parse_HundredThousandTermsJoinedByAnd_OneBoolWithEveryTerm()
    {
        var explicitAnd = Assert.IsType<BoolQuery>(QueryStringParser.Parse("a" + Repeat(" AND a", Deep)));
        Assert.Equal(Deep + 1, explicitAnd.Must.Count);
        var implicitAnd = Assert.IsType<BoolQuery>(QueryStringParser.Parse("a" + Repeat(" a", Deep), defaultAnd: true));
        Assert.Equal(Deep + 1, implicitAnd.Must.Count);
    }

    [Fact]
    public void Search_ThousandsOfClausesOnOneLevel_RunWithinSqliteExpressionDepth()
    {
        // SQLite refuses an expression tree deeper than 1,000; a flat OR or AND chain of clauses is joined as a balanced tree.
        var or = new StringBuilder("program:kernel");
        var and = new StringBuilder("program:kernel");
        for (int i = 0; i < 3_000; i++)
        {
            or.Append(" OR program:p").Append(i);
            and.Append(" AND NOT program:p").Append(i);
        }

        Assert.Equal(["kernel"], Programs(or.ToString()));
        Assert.Equal(["kernel"], Programs(and.ToString()));
    }
}
