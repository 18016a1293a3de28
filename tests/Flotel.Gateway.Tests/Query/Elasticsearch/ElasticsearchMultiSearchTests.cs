using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Tests.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

public sealed class ElasticsearchMultiSearchTests : IAsyncLifetime
{
    private EsTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await EsTestServer.StartAsync();
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 11, 14, 10, 40, 40, DateTimeKind.Utc), "disk error on sda", program: "kernel"),
            TestLogStore.Event(new DateTime(2022, 11, 14, 10, 41, 0, DateTimeKind.Utc), "link up", program: "kernel"),
            TestLogStore.Event(new DateTime(2022, 11, 14, 10, 42, 0, DateTimeKind.Utc), "session opened", program: "sshd"),
        ]);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode Body)> MultiSearchAsync(string path, string ndjson)
    {
        using var content = new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson");
        using HttpResponseMessage response = await _server.Client.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!);
    }

    // The header Grafana writes for every query (pkg/tsdb/elasticsearch/client/client.go, createMultiSearchRequests),
    // its URL parameter (getMultiSearchQueryParameters), and a body of the shape of its logs request
    // (pkg/tsdb/elasticsearch/testdata_request/logs.request.line1.json) with "@timestamp" as the time field and the
    // query_string filter its query builder adds for a Lucene query.
    private const string GrafanaHeader = """{"ignore_unavailable":true,"index":"logstash-*","search_type":"query_then_fetch"}""";

    private const string GrafanaLogsBody =
        """{"docvalue_fields":["@timestamp"],"query":{"bool":{"filter":[{"range":{"@timestamp":{"format":"epoch_millis","gte":1668422437218,"lte":1668422625668}}},{"query_string":{"analyze_wildcard":true,"query":"error"}}]}},"script_fields":{},"size":500,"sort":{"@timestamp":{"order":"desc","unmapped_type":"boolean"},"_doc":{"order":"desc"}},"highlight":{"pre_tags":["@HIGHLIGHT@"],"post_tags":["@/HIGHLIGHT@"],"fragment_size":2147483647,"fields":{"*":{}}},"fields":[{"field":"@timestamp","format":"strict_date_optional_time_nanos"}]}""";

    [Fact]
    public async Task MultiSearch_GrafanaLogsRequest_AnswersWithHighlightAndFields()
    {
        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/_msearch?max_concurrent_shard_requests=5", GrafanaHeader + "\n" + GrafanaLogsBody + "\n");

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        Assert.True((long)body["took"]! >= 0);
        JsonNode answer = Assert.Single(body["responses"]!.AsArray())!;
        Assert.Equal(200, (int)answer["status"]!);
        Assert.Equal(1, (long)answer["hits"]!["total"]!["value"]!);
        JsonNode hit = answer["hits"]!["hits"]![0]!;
        Assert.Equal("disk error on sda", (string?)hit["_source"]!["message"]);
        Assert.Equal(["disk @HIGHLIGHT@error@/HIGHLIGHT@ on sda"], hit["highlight"]!["message"]!.AsArray().Select(v => (string?)v));
        Assert.Single(hit["highlight"]!.AsObject());
        Assert.Equal(["2022-11-14T10:40:40.000000000Z"], hit["fields"]!["@timestamp"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public async Task MultiSearch_OneBadSearch_OnlyItsItemFailsInElasticsearchErrorShape()
    {
        string ndjson = string.Join('\n',
            GrafanaHeader, """{"query":{"match":{"program":"kernel"}},"size":0}""",
            GrafanaHeader, """{"query":{"fuzzy":{"message":"x"}}}""",
            """{"index":"logstash-2000.01.01"}""", "{}",
            "", """{"query":{"match":{"program":"sshd"}}}""") + "\n";

        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/logstash-2022.11.14/_msearch", ndjson);

        Assert.Equal(HttpStatusCode.OK, status);
        JsonArray responses = body["responses"]!.AsArray();
        Assert.Equal([200, 400, 404, 200], responses.Select(r => (int)r!["status"]!));
        Assert.Equal(2, (long)responses[0]!["hits"]!["total"]!["value"]!);
        Assert.Equal("parsing_exception", (string?)responses[1]!["error"]!["type"]);
        Assert.Equal("unknown query [fuzzy]", (string?)responses[1]!["error"]!["root_cause"]![0]!["reason"]);
        Assert.Equal("index_not_found_exception", (string?)responses[2]!["error"]!["type"]);
        Assert.Equal("session opened", (string?)responses[3]!["hits"]!["hits"]![0]!["_source"]!["message"]);
    }

    [Theory]
    [InlineData("{\"index\":\"x\"}\n", "parsing_exception")]
    [InlineData("{\"foo\":1}\n{}\n", "illegal_argument_exception")]
    [InlineData("{\"index\":\n{}\n", "parsing_exception")]
    [InlineData("\n", "action_request_validation_exception")]
    public async Task MultiSearch_MalformedEnvelope_WholeRequest400(string ndjson, string type)
    {
        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/_msearch", ndjson);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(type, (string?)body["error"]!["type"]);
    }

    [Fact]
    public async Task MultiSearch_TooManySearches_Refused()
    {
        var ndjson = new StringBuilder();
        for (int i = 0; i <= Flotel.Gateway.Query.Elasticsearch.ElasticsearchMultiSearch.MaxSearches; i++)
        {
            ndjson.Append("{}\n{\"size\":0}\n");
        }

        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/_msearch", ndjson.ToString());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("at most 1000 searches", (string?)body["error"]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MultiSearch_RestTotalHitsAsInt_TotalIsANumber()
    {
        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/_msearch?rest_total_hits_as_int=true", "{}\n{}\n");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, (long)body["responses"]![0]!["hits"]!["total"]!);
    }

    [Fact]
    public async Task MultiSearch_ScrollParameter_RefusedNotIgnored()
    {
        (HttpStatusCode status, JsonNode body) = await MultiSearchAsync("/_msearch?scroll=1m", "{}\n{}\n");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", (string?)body["error"]!["type"]);
        Assert.StartsWith("request [/_msearch] contains unsupported parameter: [scroll]", (string?)body["error"]!["reason"], StringComparison.Ordinal);
    }
}
