
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Store.Tests.Query.Elasticsearch;

public sealed class SearchTimeoutTests
{
    [Theory]
    [InlineData("10ms", 10)]
    [InlineData("1s", 1_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("500micros", 0.5)]
    [InlineData("1d", 86_400_000)]
    public void SearchTimeout_ElasticsearchTimeUnits_Parse(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), SearchTimeout.Parse(text));

    [Fact]
    public void SearchTimeout_MinusOne_IsNoTimeout() => Assert.Null(SearchTimeout.Parse("-1"));

    [Fact]
    public void Read_UrlParameterWinsOverTheBody()
    {
        var url = new Dictionary<string, string>(StringComparer.Ordinal) { ["timeout"] = "5s" };

        Assert.Equal(TimeSpan.FromSeconds(5), SearchTimeout.Read("{\"timeout\":\"1m\"}"u8, url));
        Assert.Equal(TimeSpan.FromMinutes(1), SearchTimeout.Read("{\"query\":{\"match_all\":{}},\"timeout\":\"1m\"}"u8, []));
        Assert.Null(SearchTimeout.Read("{\"query\":{\"match_all\":{}}}"u8, []));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("ten s")]
    [InlineData("5 minutes")]
    public void Parse_WithoutAKnownUnit_IsParseException(string text)
    {
        var e = Assert.Throws<ElasticsearchException>(() => SearchTimeout.Parse(text));

        Assert.Equal(400, e.Status);
        Assert.Equal("parse_exception", e.Type);
    }
}
