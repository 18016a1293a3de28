using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Tests.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>
/// <c>_count</c> answers what Elasticsearch's count action answers: a body holds <c>query</c> and nothing else,
/// <c>q</c> is read only without a body, <c>min_score</c> and <c>terminate_after</c> are URL parameters, and every
/// parameter it does not read is refused.
/// </summary>
public sealed class ElasticsearchCountTests : IAsyncLifetime
{
    private EsTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await EsTestServer.StartAsync();
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "alpha one", program: "p1"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 2, 0, 0, DateTimeKind.Utc), "alpha two", program: "p2"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 3, 0, 0, DateTimeKind.Utc), "beta three", program: "p2"),
        ]);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(string path, string? body = null)
    {
        using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using HttpResponseMessage response = await _server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Theory]
    [InlineData("""{"pit":{"id":"abc"}}""", "pit")]
    [InlineData("""{"query":{"match_all":{}},"search_after":[1]}""", "search_after")]
    [InlineData("""{"size":0}""", "size")]
    [InlineData("""{"terminate_after":1}""", "terminate_after")]
    [InlineData("""{"min_score":2}""", "min_score")]
    [InlineData("""{"aggs":{"n":{"value_count":{"field":"program"}}}}""", "aggs")]
    [InlineData("""{"track_total_hits":true}""", "track_total_hits")]
    public async Task Count_BodyKeyOtherThanQuery_IsAParsingException(string body, string key)
    {
        (HttpStatusCode status, JsonNode answer) = await SendAsync("/_count", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parsing_exception", (string?)answer["error"]!["type"]);
        Assert.Equal($"request does not support [{key}]", (string?)answer["error"]!["reason"]);
    }

    [Fact]
    public async Task Count_TerminateAfterAndMinScoreInTheUrl_AreHonoured()
    {
        (HttpStatusCode status, JsonNode stopped) =
            await SendAsync("/logstash-2022.05.12/_count?terminate_after=1", """{"query":{"match":{"message":"alpha"}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (long)stopped["count"]!);
        Assert.True((bool)stopped["terminated_early"]!);

        (_, JsonNode whole) = await SendAsync("/_count?terminate_after=0");
        Assert.Equal(3, (long)whole["count"]!);
        Assert.Null(whole["terminated_early"]);

        Assert.Equal(2, (long)(await SendAsync("/_count?min_score=1&q=alpha")).Body["count"]!);
        Assert.Equal(0, (long)(await SendAsync("/_count?min_score=1.5&q=alpha")).Body["count"]!);
    }

    [Theory]
    [InlineData("/_count?terminate_after=-1", "terminateAfter must be > 0")]
    [InlineData("/_count?terminate_after=many", "Failed to parse int parameter [terminate_after] with value [many]")]
    [InlineData("/_count?min_score=high", "Failed to parse float parameter [min_score] with value [high]")]
    [InlineData("/_count?df=message", "request [/_count] contains unrecognized parameter: [df]: it only qualifies [q]")]
    [InlineData("/_count?request_cache=true", "request [/_count] contains unrecognized parameter: [request_cache]")]
    [InlineData("/_count?search_type=query_then_fetch", "request [/_count] contains unrecognized parameter: [search_type]")]
    [InlineData(
        "/_count?analyzer=standard&q=alpha",
        "request [/_count] contains unsupported parameter: [analyzer]: a query string is analyzed as the store analyzes text; "
            + "other analyzers are not supported by this gateway")]
    public async Task Count_BadUrlParameter_IsAnIllegalArgument(string path, string reason)
    {
        (HttpStatusCode status, JsonNode answer) = await SendAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", (string?)answer["error"]!["type"]);
        Assert.Equal(reason, (string?)answer["error"]!["reason"]);
    }

    [Fact]
    public async Task Count_QueryStringNextToABody_IsRefusedNotSilentlyPreferred()
    {
        (HttpStatusCode status, JsonNode answer) = await SendAsync("/_count?q=beta", """{"query":{"match":{"message":"alpha"}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            "request [/_count] contains unrecognized parameter: [q]: a _count with a body takes its query from the body",
            (string?)answer["error"]!["reason"]);

        (HttpStatusCode withoutBody, JsonNode counted) = await SendAsync("/_count?q=program:p2&default_operator=and&analyze_wildcard=true&lenient=true");
        Assert.Equal(HttpStatusCode.OK, withoutBody);
        Assert.Equal(2, (long)counted["count"]!);
    }

    [Fact]
    public async Task Count_AllowNoIndicesFalse_AnswersIndexNotFoundForAWildcardMatchingNothing()
    {
        (HttpStatusCode status, JsonNode answer) = await SendAsync("/nothing-*/_count?allow_no_indices=false");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("index_not_found_exception", (string?)answer["error"]!["type"]);

        (HttpStatusCode allowed, JsonNode none) = await SendAsync(
            "/nothing-*/_count?allow_no_indices=true&ignore_unavailable=true&expand_wildcards=open&preference=_local&routing=a");
        Assert.Equal(HttpStatusCode.OK, allowed);
        Assert.Equal(0, (long)none["count"]!);
    }
}
