using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Query;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Model.Logs;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Store.Tests.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>Deep pagination over HTTP: scroll, points in time (Elasticsearch's and OpenSearch's) and search_after.</summary>
public sealed class ElasticsearchPagingTests : IAsyncLifetime
{
    private static readonly DateTime Day1 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Day2 = new(2022, 5, 13, 10, 0, 0, DateTimeKind.Utc);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2022, 5, 14, 0, 0, 0, TimeSpan.Zero));
    private readonly MetricsRegistry _metrics = new();
    private TestLogStore _logs = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _logs = new TestLogStore();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Urls.Add("http://127.0.0.1:0");
        _ = _app.MapElasticsearchApi(_logs.Store, new QueryLimiter(QueryLimiter.DefaultTimeout, QueryLimiter.DefaultMaxConcurrency, _metrics, _clock), _metrics);
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _logs.Dispose();
    }

    // 2 × perDay events on 3 distinct timestamps per day, in two daily indices: pages end inside runs of equal timestamps.
    private async Task WriteAsync(int perDay, string prefix = "m")
    {
        var events = new List<LogEvent>();
        for (int i = 0; i < perDay; i++)
        {
            events.Add(TestLogStore.Event(Day1.AddSeconds(i % 3), $"{prefix} one {i}"));
            events.Add(TestLogStore.Event(Day2.AddSeconds(i % 3), $"{prefix} two {i}"));
        }

        await _logs.Store.WriteAsync(events);
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using HttpResponseMessage response = await _client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!);
    }

    private async Task<JsonNode> OkAsync(HttpMethod method, string path, string? body = null)
    {
        (HttpStatusCode status, JsonNode json) = await SendAsync(method, path, body);
        Assert.True(status == HttpStatusCode.OK, $"{status}: {json.ToJsonString()}");
        return json;
    }

    private static List<string> Ids(JsonNode response) => [.. response["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_id"]!)];

    // The gauge as /metrics shows it.
    private double OpenScrolls()
    {
        string line = _metrics.ToText().Split('\n').Single(l => l.StartsWith("flotel_es_search_contexts_open{kind=\"scroll\"} ", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ErrorType(JsonNode response) => (string)response["error"]!["type"]!;

    [Fact]
    public async Task Scroll_MorePagesThanOne_ReturnsEveryDocumentOnceAndNothingWrittenMeanwhile()
    {
        await WriteAsync(25);
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search?scroll=1m", """{"size":10,"sort":[{"@timestamp":"desc"}]}""");
        string scrollId = (string)first["_scroll_id"]!;
        var seen = new List<string>(Ids(first));
        Assert.Equal(50, (long)first["hits"]!["total"]!["value"]!);
        await WriteAsync(5, "later");

        // The three request forms: the JSON body, the id in the path, the bare id as the body.
        JsonNode second = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll":"1m","scroll_id":"{{scrollId}}"}""");
        JsonNode third = await OkAsync(HttpMethod.Get, $"/_search/scroll/{scrollId}?scroll=1m");
        JsonNode fourth = await OkAsync(HttpMethod.Post, "/_search/scroll?scroll=1m", scrollId);
        JsonNode fifth = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll_id":"{{scrollId}}"}""");
        JsonNode sixth = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll_id":"{{scrollId}}"}""");
        foreach (JsonNode page in (JsonNode[])[second, third, fourth, fifth])
        {
            Assert.Equal(scrollId, (string?)page["_scroll_id"]);
            Assert.Equal(50, (long)page["hits"]!["total"]!["value"]!);
            seen.AddRange(Ids(page));
        }

        Assert.Empty(Ids(sixth));
        Assert.Equal(50, seen.Count);
        Assert.Equal(50, seen.Distinct().Count());
        JsonNode all = await OkAsync(HttpMethod.Post, "/logstash-*/_search", """{"size":100,"query":{"match":{"message":"later"}}}""");
        Assert.Empty(seen.Intersect(Ids(all)));
        Assert.Equal(10, Ids(all).Count);
    }

    [Fact]
    public async Task Scroll_SortedHits_ComeInTheSortsOrderAcrossPages()
    {
        await WriteAsync(10);
        JsonNode oneShot = await OkAsync(HttpMethod.Post, "/logstash-*/_search", """{"size":100,"sort":[{"@timestamp":"desc"}]}""");
        JsonNode page = await OkAsync(HttpMethod.Post, "/logstash-*/_search?scroll=30s", """{"size":3,"sort":[{"@timestamp":"desc"}]}""");
        var seen = new List<string>();
        while (Ids(page).Count > 0)
        {
            seen.AddRange(Ids(page));
            page = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll":"30s","scroll_id":"{{(string)page["_scroll_id"]!}}"}""");
        }

        Assert.Equal(Ids(oneShot), seen);
    }

    [Fact]
    public async Task ClearScroll_OneSeveralAndAll_FreesThemAndLaterUseIs404()
    {
        await WriteAsync(3);
        var ids = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            ids.Add((string)(await OkAsync(HttpMethod.Post, "/_search?scroll=1m", """{"size":1}"""))["_scroll_id"]!);
        }

        JsonNode one = await OkAsync(HttpMethod.Delete, "/_search/scroll", $$"""{"scroll_id":"{{ids[0]}}"}""");
        JsonNode two = await OkAsync(HttpMethod.Delete, "/_search/scroll", $$"""{"scroll_id":["{{ids[1]}}","{{ids[2]}}"]}""");
        (HttpStatusCode againStatus, JsonNode again) = await SendAsync(HttpMethod.Delete, "/_search/scroll", $$"""{"scroll_id":"{{ids[0]}}"}""");
        (HttpStatusCode goneStatus, JsonNode gone) = await SendAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll_id":"{{ids[0]}}"}""");
        JsonNode rest = await OkAsync(HttpMethod.Delete, "/_search/scroll/_all");

        Assert.Equal(1, (int)one["num_freed"]!);
        Assert.True((bool)one["succeeded"]!);
        Assert.Equal(2, (int)two["num_freed"]!);
        Assert.Equal(HttpStatusCode.NotFound, againStatus);
        Assert.Equal(0, (int)again["num_freed"]!);
        Assert.Equal(HttpStatusCode.NotFound, goneStatus);
        Assert.Equal("search_context_missing_exception", ErrorType(gone));
        Assert.Equal(404, (int)gone["status"]!);
        Assert.Equal(1, (int)rest["num_freed"]!);
    }

    [Fact]
    public async Task Scroll_KeepAlivePassed_ExpiresOnTheTimerAndAnswers404()
    {
        await WriteAsync(3);
        string id = (string)(await OkAsync(HttpMethod.Post, "/_search?scroll=1m", """{"size":1}"""))["_scroll_id"]!;
        Assert.Equal(1, OpenScrolls());

        _clock.Advance(TimeSpan.FromSeconds(59));
        _ = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll":"2m","scroll_id":"{{id}}"}""");
        _clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(1, OpenScrolls());
        _clock.Advance(TimeSpan.FromSeconds(1));

        // The timer removed it: the gauge drops without any request.
        Assert.Equal(0, OpenScrolls());
        (HttpStatusCode status, JsonNode body) = await SendAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll_id":"{{id}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("search_context_missing_exception", ErrorType(body));
    }

    [Theory]
    [InlineData("/_search?scroll=25h", "illegal_argument_exception")]
    [InlineData("/_search?scroll=soon", "parse_exception")]
    [InlineData("/_search?scroll=1m&from=5", "action_request_validation_exception")]
    [InlineData("/_search?scroll=1m&size=0", "action_request_validation_exception")]
    public async Task Scroll_BadRequest_IsRefusedWithElasticsearchsError(string path, string type)
    {
        (HttpStatusCode status, JsonNode body) = await SendAsync(HttpMethod.Post, path, "{}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(type, ErrorType(body));
    }

    [Fact]
    public async Task PointInTime_SearchAfterPages_ReturnEveryDocumentOnceAndNothingWrittenLater()
    {
        await WriteAsync(25);
        JsonNode opened = await OkAsync(HttpMethod.Post, "/logstash-*/_pit?keep_alive=1m");
        string pit = (string)opened["id"]!;
        await WriteAsync(5, "later");
        await _logs.Store.WriteAsync([TestLogStore.Event(Day2.AddDays(1), "later, in a new index")]);

        var seen = new List<string>();
        string after = string.Empty;
        for (int pages = 0; pages < 100; pages++)
        {
            JsonNode page = await OkAsync(HttpMethod.Post, "/_search",
                $$$"""{"size":7,"pit":{"id":"{{{pit}}}","keep_alive":"1m"},"sort":[{"@timestamp":"asc"}]{{{after}}}}""");
            Assert.Equal(pit, (string?)page["pit_id"]);
            Assert.Equal(50, (long)page["hits"]!["total"]!["value"]!);
            JsonArray hits = page["hits"]!["hits"]!.AsArray();
            if (hits.Count == 0)
            {
                break;
            }

            JsonArray sort = hits[^1]!["sort"]!.AsArray();
            Assert.Equal(2, sort.Count); // @timestamp, then the document order
            seen.AddRange(Ids(page));
            after = ",\"search_after\":" + sort.ToJsonString();
        }

        Assert.Equal(50, seen.Count);
        Assert.Equal(50, seen.Distinct().Count());
        JsonNode closed = await OkAsync(HttpMethod.Delete, "/_pit", $$"""{"id":"{{pit}}"}""");
        Assert.True((bool)closed["succeeded"]!);
        Assert.Equal(1, (int)closed["num_freed"]!);
        (HttpStatusCode status, JsonNode gone) = await SendAsync(HttpMethod.Post, "/_search", $$$"""{"pit":{"id":"{{{pit}}}"}}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("search_context_missing_exception", ErrorType(gone));
    }

    [Fact]
    public async Task PointInTime_WithAnIndexInThePath_IsRefused()
    {
        await WriteAsync(1);
        string pit = (string)(await OkAsync(HttpMethod.Post, "/logstash-*/_pit?keep_alive=1m"))["id"]!;

        (HttpStatusCode status, JsonNode body) = await SendAsync(HttpMethod.Post, "/logstash-*/_search", $$$"""{"pit":{"id":"{{{pit}}}"}}""");
        (HttpStatusCode noKeepAlive, JsonNode noKeepAliveBody) = await SendAsync(HttpMethod.Post, "/logstash-*/_pit");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("cannot be used with point in time", (string)body["error"]!["reason"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noKeepAlive);
        Assert.Equal("action_request_validation_exception", ErrorType(noKeepAliveBody));
    }

    [Fact]
    public async Task OpenSearchPointInTime_CreateSearchListAndDelete_UseOpenSearchsShapes()
    {
        await WriteAsync(4);
        JsonNode created = await OkAsync(HttpMethod.Post, "/logstash-2022.05.12/_search/point_in_time?keep_alive=5m");
        string pit = (string)created["pit_id"]!;
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), (long)created["creation_time"]!);

        JsonNode page = await OkAsync(HttpMethod.Post, "/_search", $$$"""{"pit":{"id":"{{{pit}}}"},"size":100}""");
        JsonNode listed = await OkAsync(HttpMethod.Get, "/_search/point_in_time/_all");
        JsonNode deleted = await OkAsync(HttpMethod.Delete, "/_search/point_in_time", $$"""{"pit_id":["{{pit}}","unknown"]}""");

        Assert.Equal(4, Ids(page).Count);
        Assert.Equal(pit, (string?)listed["pits"]![0]!["pit_id"]);
        Assert.Equal(300_000, (long)listed["pits"]![0]!["keep_alive"]!);
        Assert.True((bool)deleted["pits"]![0]!["successful"]!);
        Assert.False((bool)deleted["pits"]![1]!["successful"]!);
        Assert.Empty((await OkAsync(HttpMethod.Get, "/_search/point_in_time/_all"))["pits"]!.AsArray());
    }

    [Fact]
    public async Task SearchAfter_WithoutPointInTime_PagesWithTheSortValuesOfTheLastHit()
    {
        await WriteAsync(10);
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search", """{"size":4,"sort":[{"@timestamp":"desc"},"_score"]}""");
        JsonArray sort = first["hits"]!["hits"]![3]!["sort"]!.AsArray();
        Assert.Equal(3, sort.Count); // @timestamp, _score, document order
        Assert.Equal(1.0, (double)sort[1]!);

        JsonNode second = await OkAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"size":100,"sort":[{"@timestamp":"desc"},"_score"],"search_after":{{sort.ToJsonString()}}}""");
        (HttpStatusCode status, JsonNode refused) = await SendAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"from":1,"sort":["@timestamp"],"search_after":[1]}""");
        (HttpStatusCode countStatus, JsonNode countRefused) = await SendAsync(HttpMethod.Post, "/logstash-*/_search", """{"sort":["@timestamp"],"search_after":[1,2,3]}""");

        Assert.Equal(16, Ids(second).Count);
        Assert.Empty(Ids(first).Intersect(Ids(second)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", ErrorType(refused));
        Assert.Equal(HttpStatusCode.BadRequest, countStatus);
        Assert.Contains("search_after has 3 value(s) but sort has 2", (string)countRefused["error"]!["reason"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void SearchContexts_PastTheLimit_RefusesWith429UntilOneCloses()
    {
        using var contexts = new SearchContexts(_clock, null);
        var snapshot = new LogSnapshot([]);
        var opened = new List<SearchContext>();
        for (int i = 0; i < SearchContexts.MaxOpenContexts; i++)
        {
            opened.Add(contexts.Open(i % 2 == 0 ? SearchContextKind.Scroll : SearchContextKind.PointInTime, [], snapshot, TimeSpan.FromMinutes(1)));
        }

        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => contexts.Open(SearchContextKind.Scroll, [], snapshot, TimeSpan.FromMinutes(1)));
        Assert.Equal(429, e.Status);
        Assert.Equal("too_many_scroll_contexts_exception", e.Type);
        Assert.True(contexts.Close(opened[0].Id, SearchContextKind.Scroll));
        Assert.False(contexts.Close(opened[1].Id, SearchContextKind.Scroll)); // a point in time is not a scroll
        _ = contexts.Open(SearchContextKind.Scroll, [], snapshot, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void SearchContexts_StoredRequestsPastTheByteLimit_AreRefused()
    {
        using var contexts = new SearchContexts(_clock, null);
        byte[] body = new byte[SearchContexts.MaxStoredBytes / 2];
        _ = contexts.Open(SearchContextKind.Scroll, [], new LogSnapshot([]), TimeSpan.FromMinutes(1), body);
        _ = contexts.Open(SearchContextKind.Scroll, [], new LogSnapshot([]), TimeSpan.FromMinutes(1), body);

        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => contexts.Open(SearchContextKind.Scroll, [], new LogSnapshot([]), TimeSpan.FromMinutes(1), [1]));
        Assert.Equal(429, e.Status);
        _clock.Advance(TimeSpan.FromMinutes(1));
        _ = contexts.Open(SearchContextKind.Scroll, [], new LogSnapshot([]), TimeSpan.FromMinutes(1), body);
    }

    // A date histogram per day and a count of every match, as the aggregations a paging search may carry.
    private const string PerDayAggs = "\"aggs\":{\"per_day\":{\"date_histogram\":{\"field\":\"@timestamp\",\"calendar_interval\":\"1d\"}},\"n\":{\"value_count\":{\"field\":\"@timestamp\"}}}";

    private static List<long> DayCounts(JsonNode response) =>
        [.. response["aggregations"]!["per_day"]!["buckets"]!.AsArray().Select(b => (long)b!["doc_count"]!)];

    [Fact]
    public async Task PointInTime_Aggregations_CountOnlyTheDocumentsItSees()
    {
        await WriteAsync(5);
        string pit = (string)(await OkAsync(HttpMethod.Post, "/logstash-*/_pit?keep_alive=1m"))["id"]!;
        await WriteAsync(3, "later");

        JsonNode frozen = await OkAsync(HttpMethod.Post, "/_search", $$$"""{"size":0,"pit":{"id":"{{{pit}}}"},{{{PerDayAggs}}}}""");
        JsonNode now = await OkAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"size":0,{{PerDayAggs}}}""");

        Assert.Equal([5, 5], DayCounts(frozen));
        Assert.Equal(10, (long)frozen["aggregations"]!["n"]!["value"]!);
        Assert.Equal([8, 8], DayCounts(now));
    }

    [Fact]
    public async Task Scroll_Aggregations_AnsweredWithTheFirstPageOnly()
    {
        await WriteAsync(5);
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search?scroll=1m", $$"""{"size":4,{{PerDayAggs}}}""");
        JsonNode next = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll":"1m","scroll_id":"{{(string)first["_scroll_id"]!}}"}""");

        Assert.Equal([5, 5], DayCounts(first));
        Assert.Equal(4, Ids(next).Count);
        Assert.Null(next["aggregations"]);
    }

    [Fact]
    public async Task SearchAfter_Aggregations_CoverEveryMatchOnEveryPage()
    {
        await WriteAsync(5);
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"size":3,"sort":[{"@timestamp":"asc"}],{{PerDayAggs}}}""");
        string after = first["hits"]!["hits"]![2]!["sort"]!.ToJsonString();
        JsonNode second = await OkAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"size":3,"sort":[{"@timestamp":"asc"}],"search_after":{{after}},{{PerDayAggs}}}""");

        Assert.Empty(Ids(first).Intersect(Ids(second)));
        Assert.Equal(10, (long)second["aggregations"]!["n"]!["value"]!);
        Assert.Equal([5, 5], DayCounts(second));
    }

    [Fact]
    public async Task TerminateAfter_WithScrollOrSearchAfter_PagesThroughTheSameFirstMatches()
    {
        // Two daily indices of five documents each, written in the order "one 0", "two 0", "one 1", …: terminate_after 3
        // keeps "one 0..2" and "two 0..2".
        await WriteAsync(5);
        string[] firstThree = ["m one 0", "m one 1", "m one 2", "m two 0", "m two 1", "m two 2"];
        var scrolled = new List<string>();
        JsonNode page = await OkAsync(HttpMethod.Post, "/logstash-*/_search?scroll=1m", """{"size":2,"terminate_after":3,"sort":[{"@timestamp":"desc"}]}""");
        while (page["hits"]!["hits"]!.AsArray().Count > 0)
        {
            Assert.True((bool)page["terminated_early"]!);
            Assert.Equal(6, (long)page["hits"]!["total"]!["value"]!);
            scrolled.AddRange(page["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_source"]!["message"]!));
            page = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll":"1m","scroll_id":"{{(string)page["_scroll_id"]!}}"}""");
        }

        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search", """{"size":4,"terminate_after":3,"sort":[{"@timestamp":"asc"}]}""");
        string after = first["hits"]!["hits"]![3]!["sort"]!.ToJsonString();
        JsonNode second = await OkAsync(HttpMethod.Post, "/logstash-*/_search", $$"""{"size":4,"terminate_after":3,"sort":[{"@timestamp":"asc"}],"search_after":{{after}}}""");
        var walked = first["hits"]!["hits"]!.AsArray().Concat(second["hits"]!["hits"]!.AsArray()).Select(h => (string)h!["_source"]!["message"]!).ToList();

        Assert.Equal(firstThree, scrolled.Order());
        Assert.Equal(firstThree, walked.Order());
        Assert.True((bool)second["terminated_early"]!);
    }

    [Fact]
    public async Task SearchAfter_WithoutSort_RefusedUnlessInAPointInTime()
    {
        await WriteAsync(2);
        (HttpStatusCode status, JsonNode refused) = await SendAsync(HttpMethod.Post, "/logstash-*/_search", """{"search_after":[1]}""");
        string pit = (string)(await OkAsync(HttpMethod.Post, "/logstash-*/_pit?keep_alive=1m"))["id"]!;
        JsonNode first = await OkAsync(HttpMethod.Post, "/_search", $$$"""{"size":1,"pit":{"id":"{{{pit}}}"}}""");
        string after = first["hits"]!["hits"]![0]!["sort"]!.ToJsonString();
        JsonNode rest = await OkAsync(HttpMethod.Post, "/_search", $$$"""{"size":10,"pit":{"id":"{{{pit}}}"},"search_after":{{{after}}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", ErrorType(refused));
        Assert.Contains("[search_after] needs a [sort]", (string)refused["error"]!["reason"]!, StringComparison.Ordinal);
        Assert.Equal(3, Ids(rest).Count);
        Assert.DoesNotContain(Ids(first)[0], Ids(rest));
    }

    [Fact]
    public async Task MultiSearch_PointInTimeAndSearchAfter_AnsweredAsSearchAnswersThem()
    {
        await WriteAsync(5);
        string pit = (string)(await OkAsync(HttpMethod.Post, "/logstash-*/_pit?keep_alive=1m"))["id"]!;
        await WriteAsync(3, "later");
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search", """{"size":3,"sort":[{"@timestamp":"asc"}]}""");
        string after = first["hits"]!["hits"]![2]!["sort"]!.ToJsonString();
        string body =
            "{}\n" + $$$"""{"size":100,"pit":{"id":"{{{pit}}}"}}""" + "\n" +
            "{\"index\":\"logstash-*\"}\n" + $$$"""{"pit":{"id":"{{{pit}}}"}}""" + "\n" +
            "{\"index\":\"logstash-*\"}\n" + $$"""{"size":100,"sort":[{"@timestamp":"asc"}],"search_after":{{after}}}""" + "\n";

        JsonArray responses = (await OkAsync(HttpMethod.Post, "/_msearch", body))["responses"]!.AsArray();

        Assert.Equal(pit, (string?)responses[0]!["pit_id"]);
        Assert.Equal(10, Ids(responses[0]!).Count);
        Assert.Equal(400, (int)responses[1]!["status"]!);
        Assert.Contains("cannot be used with point in time", (string)responses[1]!["error"]!["reason"]!, StringComparison.Ordinal);
        Assert.Equal(13, Ids(responses[2]!).Count);
        Assert.Empty(Ids(first).Intersect(Ids(responses[2]!)));
    }

    [Fact]
    public async Task ScrollNextPage_RestTotalHitsAsInt_FollowsTheNextPagesRequest()
    {
        await WriteAsync(3);
        JsonNode first = await OkAsync(HttpMethod.Post, "/logstash-*/_search?scroll=1m", """{"size":2}""");
        string id = (string)first["_scroll_id"]!;
        JsonNode asInt = await OkAsync(HttpMethod.Post, "/_search/scroll?rest_total_hits_as_int=true", $$"""{"scroll_id":"{{id}}"}""");
        JsonNode asObject = await OkAsync(HttpMethod.Post, "/_search/scroll", $$"""{"scroll_id":"{{id}}"}""");
        (HttpStatusCode status, JsonNode refused) = await SendAsync(HttpMethod.Post, "/_search/scroll?size=3", $$"""{"scroll_id":"{{id}}"}""");

        Assert.Equal(6, (long)first["hits"]!["total"]!["value"]!);
        Assert.Equal(6, (long)asInt["hits"]!["total"]!);
        Assert.Equal(6, (long)asObject["hits"]!["total"]!["value"]!);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("contains unrecognized parameter: [size]", (string)refused["error"]!["reason"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/logstash-*/_pit?keep_alive=1m&size=3", "size")]
    [InlineData("POST", "/logstash-*/_search/point_in_time?keep_alive=1m&foo=1", "foo")]
    [InlineData("DELETE", "/_pit?keep_alive=1m", "keep_alive")]
    [InlineData("DELETE", "/_search/scroll/_all?size=1", "size")]
    public async Task PagingEndpoints_UnknownParameter_400NamingIt(string method, string path, string parameter)
    {
        await WriteAsync(1);
        (HttpStatusCode status, JsonNode body) = await SendAsync(new HttpMethod(method), path, method == "DELETE" ? """{"id":"x"}""" : null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", ErrorType(body));
        Assert.Contains($"contains unrecognized parameter: [{parameter}]", (string)body["error"]!["reason"]!, StringComparison.Ordinal);
    }
}
