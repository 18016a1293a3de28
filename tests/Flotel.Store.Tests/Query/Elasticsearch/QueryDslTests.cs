using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Store.Tests.Logs;

namespace Flotel.Store.Tests.Query.Elasticsearch;

/// <summary>Query DSL bodies parsed and run against a store holding six known events.</summary>
public sealed class QueryDslTests : IDisposable
{
    private readonly TestLogStore _t = new();

    public QueryDslTests()
    {
        DateTime t0 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
        _t.Store.WriteAsync([
            TestLogStore.Event(t0, "disk full on /var", priority: 3 * 8 + 3, program: "kernel", logsource: "edge1", deviceId: "dev1", workload: "w1"), // m1
            TestLogStore.Event(t0.AddMinutes(1), "New message at: Thu May 12", priority: 6, program: "random-workload", deviceId: "dev1", workload: "random-workload"), // m2
            TestLogStore.Event(t0.AddMinutes(2), "message queue is full", priority: 1 * 8 + 4, program: "broker", deviceId: "dev2", workload: "w2"), // m3
            TestLogStore.Event(t0.AddMinutes(3), "user login ok", priority: 4 * 8 + 6, program: "sshd", logsource: "edge2", deviceId: "dev2"), // m4
            TestLogStore.Event(t0.AddMinutes(4), "full disk again, message lost", priority: 3, program: "kernel", deviceId: "dev3"), // m5
            TestLogStore.Event(t0.AddMinutes(5), "Another new message", priority: 7, program: "random-workload", deviceId: "dev3", host: null), // m6
        ]).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose() => _t.Dispose();

    private List<string> Messages(string body, string url = "")
    {
        Dictionary<string, string> parameters = url.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : string.Empty);
        SearchRequest request = QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), parameters, 10_000);
        LogSearchResult result = _t.Store.Search(new LogSearch(["logstash-2022.05.12"], request.Query, request.Sort, request.From, request.Size), false);
        return [.. result.Hits.Select(h => (string)JsonNode.Parse(h.Source)!["message"]!)];
    }

    private static string Q(string query) => "{\"query\":" + query + ",\"sort\":[{\"@timestamp\":\"asc\"}]}";

    [Fact]
    public void MatchAll_NoSort_ReturnsInsertionOrderFirstTen() =>
        Assert.Equal(6, Messages("""{"query":{"match_all":{}}}""").Count);

    [Fact]
    public void Match_MessageTerms_AnyTermMatchesCaseInsensitively() =>
        Assert.Equal(["disk full on /var", "message queue is full", "full disk again, message lost"], Messages(Q("""{"match":{"message":"FULL"}}""")));

    [Fact]
    public void Match_OperatorAnd_RequiresEveryTerm() =>
        Assert.Equal(["disk full on /var", "full disk again, message lost"], Messages(Q("""{"match":{"message":{"query":"disk full","operator":"and"}}}""")));

    [Fact]
    public void Match_OperatorOr_AnyTerm() =>
        Assert.Equal(4, Messages(Q("""{"match":{"message":"disk queue login"}}""")).Count);

    [Fact]
    public void MatchPhrase_Message_RequiresAdjacentTermsInOrder() =>
        Assert.Equal(["disk full on /var"], Messages(Q("""{"match_phrase":{"message":"disk full"}}""")));

    [Fact]
    public void Match_KeywordField_ComparesWholeValue()
    {
        Assert.Equal(["New message at: Thu May 12", "Another new message"], Messages(Q("""{"match":{"program":"random-workload"}}""")));
        Assert.Empty(Messages(Q("""{"match":{"program":"random"}}""")));
    }

    [Fact]
    public void Term_NumericFieldWithStringValue_Coerced() =>
        Assert.Equal(["disk full on /var", "full disk again, message lost"], Messages(Q("""{"term":{"severity":"3"}}""")));

    [Fact]
    public void Term_KeywordSubfield_IgnoresKeywordSuffix() =>
        Assert.Equal(["user login ok"], Messages(Q("""{"term":{"logsource.keyword":{"value":"edge2"}}}""")));

    [Fact]
    public void Term_LabelStoredOnlyInSource_MatchesThroughJson() =>
        Assert.Equal(["New message at: Thu May 12", "user login ok"], Messages(Q("""{"term":{"severity_label":"Informational"}}""")));

    [Fact]
    public void Terms_SeveralValues_AnyMatches() =>
        Assert.Equal(["message queue is full", "user login ok"], Messages(Q("""{"terms":{"program":["broker","sshd","nope"]}}""")));

    [Fact]
    public void Range_TimestampWithDateStrings_InclusiveAndExclusiveBounds() =>
        Assert.Equal(["New message at: Thu May 12", "message queue is full", "user login ok"],
            Messages(Q("""{"range":{"@timestamp":{"gte":"2022-05-12T10:01:00.000Z","lt":"2022-05-12T06:04:00-04:00"}}}""")));

    [Fact]
    public void Range_TimestampEpochMillis_Accepted() =>
        Assert.Equal(["Another new message"], Messages(Q("""{"range":{"@timestamp":{"gt":1652349840000}}}""")));

    [Fact]
    public void Range_NumericField_ComparesNumbers() =>
        Assert.Equal(["New message at: Thu May 12", "user login ok", "Another new message"], Messages(Q("""{"range":{"severity":{"gte":6}}}""")));

    [Fact]
    public void Exists_AbsentField_ExcludesDocuments() =>
        Assert.Equal(["disk full on /var", "user login ok"], Messages(Q("""{"exists":{"field":"logsource"}}""")));

    [Fact]
    public void Bool_MustFilterMustNot_Combined() =>
        Assert.Equal(["disk full on /var"], Messages(Q("""
            {"bool":{"must":[{"match":{"message":"full"}}],"filter":{"term":{"program":"kernel"}},"must_not":[{"match":{"message":"again"}}]}}
            """)));

    [Fact]
    public void Bool_ShouldOnly_AtLeastOneMustMatch() =>
        Assert.Equal(["disk full on /var", "user login ok", "full disk again, message lost"], Messages(Q("""
            {"bool":{"should":[{"term":{"program":"sshd"}},{"term":{"program":"kernel"}}]}}
            """)));

    [Fact]
    public void Bool_ShouldWithMust_ShouldIsOptional() =>
        Assert.Equal(2, Messages(Q("""{"bool":{"must":{"term":{"device_id":"dev1"}},"should":[{"term":{"program":"nope"}}]}}""")).Count);

    [Fact]
    public void Bool_MinimumShouldMatchTwo_CountsMatchingClauses() =>
        Assert.Equal(["full disk again, message lost"], Messages(Q("""
            {"bool":{"should":[{"match":{"message":"disk"}},{"match":{"message":"message"}},{"term":{"program":"kernel"}}],"minimum_should_match":3}}
            """)));

    [Fact]
    public void QueryString_FieldAndBareTermsWithOperators()
    {
        Assert.Equal(["full disk again, message lost"], Messages(Q("""{"query_string":{"query":"program:kernel AND message"}}""")));
        Assert.Equal(["disk full on /var"], Messages(Q("""{"query_string":{"query":"program:kernel AND NOT again"}}""")));
        Assert.Equal(["New message at: Thu May 12", "user login ok", "Another new message"],
            Messages(Q("""{"query_string":{"query":"(login OR new) -queue"}}""")));
        Assert.Equal(["disk full on /var"], Messages(Q("""{"query_string":{"query":"\"disk full\""}}""")));
        Assert.Equal(["message queue is full", "user login ok"], Messages(Q("""{"query_string":{"query":"device_id:dev2"}}""")));
        Assert.Equal(["New message at: Thu May 12", "Another new message"], Messages(Q("""{"query_string":{"query":"program:random*"}}""")));
        Assert.Equal(["user login ok", "Another new message"], Messages(Q("""{"query_string":{"query":"severity:[6 TO 7] AND NOT program:random-workload OR severity:>=7"}}""")));
    }

    [Fact]
    public void QueryString_PrefixOnMessage_UsesFullTextPrefix() =>
        Assert.Equal(["message queue is full", "user login ok"], Messages(Q("""{"query_string":{"query":"queu* OR message:logi*"}}""")));

    [Fact]
    public void QueryString_UnbalancedParenthesis_QueryShardException()
    {
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => Messages(Q("""{"query_string":{"query":"(disk OR full"}}""")));
        Assert.Equal(400, e.Status);
        Assert.Contains("missing ')'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QueryString_DefaultOperatorAnd_JoinsAdjacentTerms() =>
        Assert.Equal(["full disk again, message lost"], Messages(Q("""{"query_string":{"query":"disk message","default_operator":"AND"}}""")));

    [Fact]
    public void UrlParameters_QSizeFromSort_OverrideBody() =>
        Assert.Equal(["Another new message", "full disk again, message lost"],
            Messages("""{"query":{"match_none":{}}}""", "q=message&sort=@timestamp:desc&size=2&from=0"));

    [Theory]
    [InlineData("""{"track_total_hits":3}""", 3, true)]
    [InlineData("""{"track_total_hits":6}""", 6, false)]
    [InlineData("""{"track_total_hits":true}""", 6, false)]
    [InlineData("""{}""", 6, false)]
    public void TrackTotalHits_Cap_CountsUpToItThenLowerBound(string body, long total, bool lowerBound)
    {
        SearchRequest request = QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000);
        LogSearchResult result = _t.Store.Search(new LogSearch(["logstash-2022.05.12"], request.Query, request.Sort, request.From, request.Size, request.TrackTotalHitsUpTo), false);

        Assert.Equal(total, result.Total);
        Assert.Equal(lowerBound, result.TotalIsLowerBound);
        Assert.Equal(6, result.Hits.Count);
    }

    [Fact]
    public void Sort_FieldOnlyInSource_SortsThroughJsonThenTimestamp() =>
        Assert.Equal(["Another new message", "disk full on /var", "full disk again, message lost", "New message at: Thu May 12", "user login ok", "message queue is full"],
            Messages("""{"sort":[{"severity_label":"asc"},{"@timestamp":"asc"}],"query":{"match":{"message":"message OR disk OR login OR queue"}}}"""));

    [Fact]
    public void Term_IndexName_MatchesOnlyThatIndex()
    {
        Assert.Equal(6, Messages(Q("""{"term":{"_index":"logstash-2022.05.12"}}""")).Count);
        Assert.Empty(Messages(Q("""{"term":{"_index":"other"}}""")));
    }

    [Fact]
    public void SortAscending_MissingValues_SortLast() =>
        Assert.Equal("Another new message", Messages("""{"sort":[{"host":"asc"}]}""")[^1]);

    [Fact]
    public void SortFromSize_PageThroughDescendingTimestamps()
    {
        Assert.Equal(["user login ok", "message queue is full"], Messages("""{"sort":[{"@timestamp":{"order":"desc"}}],"from":2,"size":2}"""));
        Assert.Equal(["message queue is full", "disk full on /var", "full disk again, message lost"], Messages("""{"sort":[{"program":"asc"},{"@timestamp":"asc"}],"size":3}"""));
    }

    [Fact]
    public void Sort_FieldMissingInSomeDocuments_MissingSortLast() =>
        Assert.Equal("Another new message", Messages("""{"sort":[{"host":"desc"}]}""")[^1]);

    [Theory]
    [InlineData("""{"query":{"nope":{}}}""", "unknown query [nope]")]
    [InlineData("""{"query":{"match":{"a":"b","c":"d"}}}""", "doesn't support multiple fields")]
    [InlineData("""{"suggest":{}}""", "Unknown key [suggest]")]
    [InlineData("""{"query":""", "not valid JSON")]
    [InlineData("""{"sort":[{"@timestamp":"up"}]}""", "unknown order [up]")]
    [InlineData("""{"query":{"range":{"@timestamp":{"gte":"yesterday"}}}}""", "failed to parse date field [yesterday]")]
    public void Parse_Malformed_ParsingExceptionWithReason(string body, string reason)
    {
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000));
        Assert.Equal(400, e.Status);
        Assert.Equal("parsing_exception", e.Type);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FromPlusSizeOverWindow_IllegalArgument()
    {
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => QueryDslParser.Parse("""{"from":9995,"size":10}"""u8, new Dictionary<string, string>(), 10_000));
        Assert.Equal("illegal_argument_exception", e.Type);
        Assert.Contains("Result window is too large", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RangeBound_DateMath_RoundsAndOffsets()
    {
        Assert.Equal(DateTimeOffset.Parse("2022-05-12T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(),
            QueryDslParser.RangeBound("@timestamp", "2022-05-12T16:22:01Z||/d", null));
        Assert.Equal(DateTimeOffset.Parse("2022-05-11T15:22:01Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(),
            QueryDslParser.RangeBound("@timestamp", "2022-05-12T16:22:01Z||-1d-1h", null));
    }
}
