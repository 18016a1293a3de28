using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Inputs.Bulk;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Store.Logs;
using Flotel.Store.Tests.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

public sealed class ElasticsearchApiTests : IAsyncLifetime
{
    private EsTestServer _server = null!;

    public async Task InitializeAsync() => _server = await EsTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        }

        using HttpResponseMessage response = await _server.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonNode> JsonAsync(HttpMethod method, string path, string? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        (HttpStatusCode status, string text) = await SendAsync(method, path, body);
        Assert.True(status == expected, $"{status}: {text}");
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task Search_BlogRequest_ReturnsTheBlogEventParsed()
    {
        await _server.Logs.Store.WriteAsync([TestLogStore.BlogEvent()]);

        // The blog's command: GET /logstash-2022.05.12/_search?pretty=true with a match_all body.
        (HttpStatusCode status, string text) = await SendAsync(HttpMethod.Get, "/logstash-2022.05.12/_search?pretty=true", "{\n    \"query\": {\n        \"match_all\": {}\n    }\n}\n");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\n  \"hits\": {", text, StringComparison.Ordinal);
        JsonNode response = JsonNode.Parse(text)!;
        Assert.False((bool)response["timed_out"]!);
        Assert.Equal(1, (int)response["_shards"]!["total"]!);
        Assert.Equal(1, (long)response["hits"]!["total"]!["value"]!);
        Assert.Equal("eq", (string?)response["hits"]!["total"]!["relation"]);
        Assert.Equal(1.0, (double)response["hits"]!["max_score"]!);
        JsonNode hit = response["hits"]!["hits"]![0]!;
        Assert.Equal("logstash-2022.05.12", (string?)hit["_index"]);
        Assert.Equal("_doc", (string?)hit["_type"]);
        Assert.Matches("^[A-Za-z0-9_-]{20}$", (string?)hit["_id"]);
        JsonNode source = hit["_source"]!;
        Assert.Equal(6, (int)source["severity"]!);
        Assert.Equal("Informational", (string?)source["severity_label"]);
        Assert.Equal(0, (int)source["facility"]!);
        Assert.Equal("kernel", (string?)source["facility_label"]);
        Assert.Equal("random-workload", (string?)source["program"]);
        Assert.Equal("3966", (string?)source["pid"]);
        Assert.Equal("2022-05-12T20:22:01.000Z", (string?)source["@timestamp"]);
        Assert.Equal("1", (string?)source["@version"]);
        Assert.Null(source["tags"]);
    }

    [Fact]
    public async Task Banner_Get_Announces7170ForGrafanaAndLogstash()
    {
        JsonNode banner = await JsonAsync(HttpMethod.Get, "/");

        // Grafana warns below 7.16.0 (public/app/plugins/datasource/elasticsearch/utils.ts, isSupportedVersion).
        Assert.Equal("7.17.0", (string?)banner["version"]!["number"]);
        Assert.Equal("default", (string?)banner["version"]!["build_flavor"]);
        Assert.Equal("You Know, for Search", (string?)banner["tagline"]);
        Assert.Null(banner["version"]!["distribution"]);
        using HttpResponseMessage head = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }

    [Fact]
    public async Task Bulk_MixedGoodAndBadLines_FailsOnlyTheBadItems()
    {
        string body = string.Join('\n',
            """{"index":{"_index":"logs-a","_id":"1"}}""",
            """{"@timestamp":"2022-05-12T20:22:01Z","message":"first good","program":"app"}""",
            """{"index":{"_index":"logs-a","_type":"_doc"}}""",
            """{"message": broken json""",
            """{"create":{"_index":"logs-a","_id":"1"}}""",
            """{"message":"duplicate id"}""",
            """{"index":{"_index":"Bad-Name"}}""",
            """{"message":"bad index name"}""",
            """{"nonsense"}""",
            """{"message":"source of the malformed action"}""",
            """{"create":{}}""",
            """{"message":"second good, index from the path"}""") + "\n";

        JsonNode response = await JsonAsync(HttpMethod.Post, "/logs-b/_bulk", body);

        Assert.True((bool)response["errors"]!);
        JsonArray items = response["items"]!.AsArray();
        Assert.Equal(6, items.Count);
        Assert.Equal(201, (int)items[0]!["index"]!["status"]!);
        Assert.Equal("created", (string?)items[0]!["index"]!["result"]);
        Assert.Equal("1", (string?)items[0]!["index"]!["_id"]);
        Assert.Equal(400, (int)items[1]!["index"]!["status"]!);
        Assert.Equal("mapper_parsing_exception", (string?)items[1]!["index"]!["error"]!["type"]);
        Assert.Equal(409, (int)items[2]!["create"]!["status"]!);
        Assert.Equal("version_conflict_engine_exception", (string?)items[2]!["create"]!["error"]!["type"]);
        Assert.Equal("invalid_index_name_exception", (string?)items[3]!["index"]!["error"]!["type"]);
        Assert.Equal(400, (int)items[4]!["index"]!["status"]!);
        Assert.Equal(201, (int)items[5]!["create"]!["status"]!);
        Assert.Equal("logs-b", (string?)items[5]!["create"]!["_index"]);

        JsonNode count = await JsonAsync(HttpMethod.Get, "/logs-*/_count");
        Assert.Equal(2, (long)count["count"]!);
        JsonNode found = await JsonAsync(HttpMethod.Post, "/logs-a,logs-b/_search", """{"query":{"match":{"message":"good"}},"sort":["_doc"]}""");
        Assert.Equal(["first good", "second good, index from the path"], found["hits"]!["hits"]!.AsArray().Select(h => (string?)h!["_source"]!["message"]));
    }

    [Fact]
    public async Task Bulk_QueuedCreateOfAStoredOrRepeatedId_Answers409AndQueuesOnlyTheRest()
    {
        var queue = new ListSink();
        await using EsTestServer server = await EsTestServer.StartAsync(new QueueBulkSink(queue, TimeProvider.System));
        _ = await server.Logs.Store.WriteDocumentsAsync([new LogDocument("logs-a", "7", System.Text.Encoding.UTF8.GetBytes("""{"message":"stored"}"""), true)]);
        string body = string.Join("\n",
            """{"create":{"_index":"logs-a","_id":"7"}}""",
            """{"message":"create of a stored id"}""",
            """{"create":{"_index":"logs-a","_id":"8"}}""",
            """{"message":"new id"}""",
            """{"create":{"_index":"logs-a","_id":"8"}}""",
            """{"message":"same id again in this request"}""",
            """{"index":{"_index":"logs-a","_id":"7"}}""",
            """{"message":"index replaces: no conflict"}""") + "\n";

        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/x-ndjson");
        using HttpResponseMessage http = await server.Client.PostAsync(new Uri("/_bulk", UriKind.Relative), content);
        JsonArray items = JsonNode.Parse(await http.Content.ReadAsStringAsync())!["items"]!.AsArray();

        Assert.Equal([409, 201, 409, 201], items.Select(i => (int)i!.AsObject().First().Value!["status"]!));
        Assert.Equal("version_conflict_engine_exception", (string?)items[0]!["create"]!["error"]!["type"]);
        Assert.Equal("version_conflict_engine_exception", (string?)items[2]!["create"]!["error"]!["type"]);
        byte[] record = Assert.Single(queue.Records);
        Assert.True(GatewayRecord.TryReadHeader(record, out _, out _, out _, out int offset));
        ReadOnlySpan<byte> documents = record.AsSpan(offset);
        var queued = new List<string>();
        while (GatewayRecord.TryReadDocument(ref documents, out _, out string? id, out _, out _))
        {
            queued.Add(id!);
        }

        Assert.Equal(["8", "7"], queued);
    }

    [Fact]
    public async Task Count_WithQueryAndQParameter_CountsMatches()
    {
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "alpha beta", program: "p1"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 1, 0, 0, DateTimeKind.Utc), "alpha gamma", program: "p2"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 2, 0, 0, DateTimeKind.Utc), "delta", program: "p2"),
        ]);

        Assert.Equal(3, (long)(await JsonAsync(HttpMethod.Get, "/_count"))["count"]!);
        Assert.Equal(2, (long)(await JsonAsync(HttpMethod.Post, "/logstash-*/_count", """{"query":{"match":{"message":"alpha"}}}"""))["count"]!);
        JsonNode q = await JsonAsync(HttpMethod.Get, "/logstash-2022.05.13/_count?q=program:p2%20AND%20NOT%20delta");
        Assert.Equal(1, (long)q["count"]!);
        Assert.Equal(1, (int)q["_shards"]!["total"]!);
    }

    [Fact]
    public async Task Search_TerminateAfter_CollectsTheFirstMatchesInInsertionOrderAndSaysItStoppedEarly()
    {
        // One index (one shard); written in this order, so "alpha one" and "alpha two" are its first two matches.
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "alpha one"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 3, 0, 0, DateTimeKind.Utc), "alpha two"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 4, 0, 0, DateTimeKind.Utc), "beta"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 2, 0, 0, DateTimeKind.Utc), "alpha three"),
        ]);
        const string Query = "\"query\":{\"match\":{\"message\":\"alpha\"}},\"sort\":[{\"@timestamp\":\"desc\"}]";

        JsonNode stopped = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_search", "{" + Query + ",\"terminate_after\":2}");
        Assert.True((bool)stopped["terminated_early"]!);
        Assert.Equal(2, (long)stopped["hits"]!["total"]!["value"]!);
        Assert.Equal(["alpha two", "alpha one"], stopped["hits"]!["hits"]!.AsArray().Select(h => (string?)h!["_source"]!["message"]));

        JsonNode complete = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_search", "{" + Query + ",\"terminate_after\":3}");
        Assert.False((bool)complete["terminated_early"]!);
        Assert.Equal(["alpha two", "alpha three", "alpha one"], complete["hits"]!["hits"]!.AsArray().Select(h => (string?)h!["_source"]!["message"]));

        JsonNode all = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_search", """{"terminate_after":1}""");
        Assert.True((bool)all["terminated_early"]!);
        Assert.Equal(1, (long)all["hits"]!["total"]!["value"]!);

        JsonNode unset = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_search", "{" + Query + "}");
        Assert.Null(unset["terminated_early"]);
        Assert.Equal(3, (long)unset["hits"]!["total"]!["value"]!);

        JsonNode count = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_count?terminate_after=2", """{"query":{"match":{"message":"alpha"}}}""");
        Assert.Equal(2, (long)count["count"]!);
        Assert.True((bool)count["terminated_early"]!);

        (HttpStatusCode status, string text) = await SendAsync(HttpMethod.Post, "/_search", """{"terminate_after":-1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", (string?)JsonNode.Parse(text)!["error"]!["type"]);
    }

    [Fact]
    public async Task Search_MinScore_AppliesToTheConstantScoreOfOne()
    {
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "alpha one"),
            TestLogStore.Event(new DateTime(2022, 5, 12, 2, 0, 0, DateTimeKind.Utc), "alpha two"),
        ]);

        // Every hit scores 1.0 (no relevance ranking): a min_score up to 1 keeps them all, above 1 keeps none.
        JsonNode kept = await JsonAsync(HttpMethod.Post, "/_search", """{"query":{"match":{"message":"alpha"}},"min_score":1}""");
        Assert.Equal(2, (long)kept["hits"]!["total"]!["value"]!);
        Assert.All(kept["hits"]!["hits"]!.AsArray(), h => Assert.Equal(1.0, (double)h!["_score"]!));

        JsonNode none = await JsonAsync(HttpMethod.Post, "/_search", """{"query":{"match":{"message":"alpha"}},"min_score":1.5}""");
        Assert.Equal(0, (long)none["hits"]!["total"]!["value"]!);
        Assert.Empty(none["hits"]!["hits"]!.AsArray());
        Assert.Equal(0, (long)(await JsonAsync(HttpMethod.Post, "/_count?min_score=2"))["count"]!);

        (HttpStatusCode status, string text) = await SendAsync(HttpMethod.Post, "/_search", """{"min_score":"high"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parsing_exception", (string?)JsonNode.Parse(text)!["error"]!["type"]);
    }

    [Fact]
    public async Task Search_SortSizeAndSourceFilter_ShapeLikeElasticsearch()
    {
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "one", program: "p1"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 1, 0, 0, DateTimeKind.Utc), "two", program: "p2"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 2, 0, 0, DateTimeKind.Utc), "three", program: "p2"),
        ]);

        JsonNode response = await JsonAsync(HttpMethod.Post, "/_all/_search",
            """{"sort":[{"@timestamp":"desc"}],"size":2,"_source":["message","prog*"]}""");

        JsonArray hits = response["hits"]!["hits"]!.AsArray();
        Assert.Equal(3, (long)response["hits"]!["total"]!["value"]!);
        Assert.Null(response["hits"]!["max_score"]);
        Assert.Equal(["three", "two"], hits.Select(h => (string?)h!["_source"]!["message"]));
        Assert.Equal(new DateTimeOffset(2022, 5, 13, 2, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), (long)hits[0]!["sort"]![0]!);
        Assert.Null(hits[0]!["_score"]);
        Assert.Equal(["message", "program"], hits[0]!["_source"]!.AsObject().Select(p => p.Key).Order());

        JsonNode noSource = await JsonAsync(HttpMethod.Get, "/logstash-*/_search?_source=false&size=1&sort=@timestamp:asc");
        JsonNode only = Assert.Single(noSource["hits"]!["hits"]!.AsArray())!;
        Assert.Null(only["_source"]);
        Assert.Equal(new DateTimeOffset(2022, 5, 12, 1, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), (long)only["sort"]![0]!);
    }

    [Fact]
    public async Task Search_MissingIndex_404IndexNotFoundButWildcardGivesEmptyHits()
    {
        await _server.Logs.Store.WriteAsync([TestLogStore.BlogEvent()]);

        JsonNode missing = await JsonAsync(HttpMethod.Get, "/logstash-2000.01.01/_search", expected: HttpStatusCode.NotFound);
        Assert.Equal(404, (int)missing["status"]!);
        Assert.Equal("index_not_found_exception", (string?)missing["error"]!["type"]);
        Assert.Equal("index_not_found_exception", (string?)missing["error"]!["root_cause"]![0]!["type"]);
        Assert.Equal("logstash-2000.01.01", (string?)missing["error"]!["index"]);

        JsonNode empty = await JsonAsync(HttpMethod.Get, "/nothing-*/_search");
        Assert.Equal(0, (long)empty["hits"]!["total"]!["value"]!);
        Assert.Empty(empty["hits"]!["hits"]!.AsArray());

        JsonNode ignored = await JsonAsync(HttpMethod.Get, "/logstash-2000.01.01,logstash-2022.05.12/_search?ignore_unavailable=true");
        Assert.Equal(1, (long)ignored["hits"]!["total"]!["value"]!);
    }

    [Fact]
    public async Task Search_MalformedBody_400InElasticsearchErrorShape()
    {
        JsonNode error = await JsonAsync(HttpMethod.Post, "/_search", """{"query":{"fuzzy":{"message":"x"}}}""", HttpStatusCode.BadRequest);

        Assert.Equal(400, (int)error["status"]!);
        Assert.Equal("parsing_exception", (string?)error["error"]!["type"]);
        Assert.Equal("unknown query [fuzzy]", (string?)error["error"]!["reason"]);
        Assert.Equal("parsing_exception", (string?)error["error"]!["root_cause"]![0]!["type"]);
    }

    [Fact]
    public async Task CatIndices_TextJsonAndVerbose_ListEveryIndex()
    {
        await _server.Logs.Store.WriteAsync([
            TestLogStore.BlogEvent(),
            TestLogStore.Event(new DateTime(2022, 5, 13, 1, 0, 0, DateTimeKind.Utc), "x"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 2, 0, 0, DateTimeKind.Utc), "y"),
        ]);

        (HttpStatusCode status, string text) = await SendAsync(HttpMethod.Get, "/_cat/indices?v");
        Assert.Equal(HttpStatusCode.OK, status);
        string[] lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^health\s+status\s+index\s+uuid\s+pri\s+rep\s+docs\.count\s+docs\.deleted\s+store\.size\s+pri\.store\.size$", lines[0]);
        Assert.Matches(@"^green\s+open\s+logstash-2022\.05\.12\s+\S{22}\s+1\s+0\s+1\s+0\s+\d+(\.\d)?[kmg]?b\s+", lines[1]);
        Assert.Contains(" 2 ", lines[2], StringComparison.Ordinal);

        JsonArray json = (await JsonAsync(HttpMethod.Get, "/_cat/indices?format=json&bytes=b")).AsArray();
        Assert.Equal(["logstash-2022.05.12", "logstash-2022.05.13"], json.Select(i => (string?)i!["index"]));
        Assert.Equal("2", (string?)json[1]!["docs.count"]);
        Assert.True(long.Parse((string)json[1]!["store.size"]!, System.Globalization.CultureInfo.InvariantCulture) > 100);

        (_, string one) = await SendAsync(HttpMethod.Get, "/_cat/indices/logstash-2022.05.13?h=index,docs.count");
        Assert.Equal("logstash-2022.05.13 2\n", one);
    }

    [Fact]
    public async Task CatIndices_StoreSize_IsTheBytesOnDiskNotTheSourceBytes()
    {
        // 1,000 alike lines of about 600 bytes: zstd stores their _source in a small fraction of that.
        DateTime day = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
        await _server.Logs.Store.WriteAsync(
            [.. Enumerable.Range(0, 1000).Select(i => TestLogStore.Event(day.AddSeconds(i), "GET /api/v1/items " + new string('x', 580)))]);
        LogIndexInfo index = Assert.Single(_server.Logs.Store.ListIndices());

        JsonNode row = (await JsonAsync(HttpMethod.Get, "/_cat/indices?format=json&bytes=b")).AsArray().Single()!;

        long size = long.Parse((string)row["store.size"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(_server.Logs.Store.StoredBytes([index.Name])[index.Name], size);
        Assert.Equal((string?)row["store.size"], (string?)row["pri.store.size"]);
        Assert.True(size > 0 && size < index.SourceBytes / 4, $"store.size {size} B for {index.SourceBytes} B of _source");
    }

    [Fact]
    public async Task Bulk_GzipBody_Decoded()
    {
        byte[] ndjson = Encoding.UTF8.GetBytes("{\"index\":{\"_index\":\"gz\"}}\n{\"message\":\"compressed\"}\n");
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(ndjson);
        }

        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
        content.Headers.ContentEncoding.Add("gzip");
        using HttpResponseMessage response = await _server.Client.PostAsync("/_bulk", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((bool)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!);
        Assert.Equal(1, (long)(await JsonAsync(HttpMethod.Get, "/gz/_count"))["count"]!);
    }

    [Fact]
    public void HumanBytes_ElasticsearchByteSizeFormat() =>
        Assert.Equal(["225b", "5.2kb", "1mb", "1.5gb"], new long[] { 225, 5325, 1024 * 1024, 1536L * 1024 * 1024 }.Select(Flotel.Gateway.Query.Elasticsearch.ElasticsearchApi.HumanBytes));
}
