using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Tests.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>Display keys of a search (fields, highlight, …), index metadata, cluster and node answers, refused parameters.</summary>
public sealed class ElasticsearchDisplayAndMetadataTests : IAsyncLifetime
{
    private EsTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await EsTestServer.StartAsync();
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(new DateTime(2022, 5, 12, 1, 0, 0, DateTimeKind.Utc), "Disk error on sda: I/O error, dev sda, sector 2048", program: "kernel", host: "edge-1"),
            TestLogStore.Event(new DateTime(2022, 5, 13, 1, 0, 0, DateTimeKind.Utc), "session opened for user root", program: "sshd", host: "edge-2"),
        ]);
        // A document sent through _bulk with fields of its own (numbers, a boolean, an object).
        using var bulk = new StringContent(
            "{\"index\":{\"_index\":\"app-1\"}}\n{\"@timestamp\":\"2022-05-13T02:00:00Z\",\"message\":\"took 12 ms\",\"latency\":1.5,\"count\":3,\"ok\":true,\"http\":{\"method\":\"GET\"}}\n",
            Encoding.UTF8, "application/x-ndjson");
        using HttpResponseMessage response = await _server.Client.PostAsync("/_bulk", bulk);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
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

    private static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(v => (string)v!)];

    [Fact]
    public async Task Search_HighlightDefaultTags_WrapsEveryQueryTermInItsField()
    {
        JsonNode response = await JsonAsync(HttpMethod.Post, "/logstash-*/_search",
            """{"query":{"bool":{"must":[{"match":{"message":"error sda"}}],"filter":[{"term":{"program":"kernel"}}]}},"highlight":{"fields":{"mess*":{},"program":{}}}}""");

        JsonNode hit = Assert.Single(response["hits"]!["hits"]!.AsArray())!;
        Assert.Equal(["Disk <em>error</em> on <em>sda</em>: I/O <em>error</em>, dev <em>sda</em>, sector 2048"], Strings(hit["highlight"]!["message"]));
        Assert.Equal(["<em>kernel</em>"], Strings(hit["highlight"]!["program"]));
        Assert.Null(hit["highlight"]!["host"]);
    }

    [Fact]
    public async Task Search_HighlightSmallFragments_CutsAroundTheTerms()
    {
        JsonNode response = await JsonAsync(HttpMethod.Post, "/logstash-*/_search",
            """{"query":{"query_string":{"query":"disk OR sector"}},"highlight":{"pre_tags":["["],"post_tags":["]"],"fields":{"message":{"fragment_size":12,"number_of_fragments":1}}}}""");

        string[] fragments = Strings(response["hits"]!["hits"]![0]!["highlight"]!["message"]);
        Assert.Equal(["[Disk] error on"], fragments);
    }

    [Fact]
    public async Task Search_HighlightRequireFieldMatchFalse_MarksTermsOfOtherFields()
    {
        JsonNode response = await JsonAsync(HttpMethod.Post, "/logstash-*/_search",
            """{"query":{"bool":{"should":[{"match":{"program":"kernel"}},{"match":{"host":"sda"}}]}},"highlight":{"require_field_match":false,"fields":[{"message":{"number_of_fragments":0}}]}}""");

        Assert.Equal(["Disk error on <em>sda</em>: I/O error, dev <em>sda</em>, sector 2048"], Strings(response["hits"]!["hits"]![0]!["highlight"]!["message"]));

        JsonNode own = await JsonAsync(HttpMethod.Post, "/logstash-*/_search",
            """{"query":{"bool":{"should":[{"match":{"program":"kernel"}},{"match":{"host":"sda"}}]}},"highlight":{"fields":[{"message":{}}]}}""");
        Assert.Null(own["hits"]!["hits"]![0]!["highlight"]);
    }

    [Fact]
    public async Task Search_FieldsAndDocvalueFields_FieldsObjectAsElasticsearchReturnsIt()
    {
        JsonNode response = await JsonAsync(HttpMethod.Post, "/logstash-2022.05.12/_search",
            """{"_source":false,"fields":["host*","message",{"field":"@timestamp","format":"epoch_millis"}],"docvalue_fields":["prog*","message"]}""");

        JsonNode hit = response["hits"]!["hits"]![0]!;
        Assert.Null(hit["_source"]);
        JsonObject fields = hit["fields"]!.AsObject();
        Assert.Equal(["edge-1"], Strings(fields["host"]));
        Assert.Equal(["edge-1"], Strings(fields["host.keyword"]));
        Assert.Equal(["Disk error on sda: I/O error, dev sda, sector 2048"], Strings(fields["message"]));
        Assert.Null(fields["message.keyword"]);
        Assert.Equal(["1652317200000"], Strings(fields["@timestamp"]));
        // docvalue_fields: text fields have no doc values, their keyword sub-fields do.
        Assert.Null(fields["program"]);
        Assert.Equal(["kernel"], Strings(fields["program.keyword"]));
    }

    [Fact]
    public async Task Search_DisplayKeysKibanaSends_AcceptedAndHonoured()
    {
        JsonNode response = await JsonAsync(HttpMethod.Post, "/logstash-*/_search",
            """{"version":true,"seq_no_primary_term":true,"stored_fields":["*"],"script_fields":{},"runtime_mappings":{},"track_total_hits":true,"docvalue_fields":[{"field":"@timestamp","format":"date_optional_time"}],"size":1,"sort":[{"@timestamp":{"order":"asc","unmapped_type":"boolean"}}]}""");

        JsonNode hit = response["hits"]!["hits"]![0]!;
        Assert.Equal(1, (int)hit["_version"]!);
        Assert.Null(hit["_source"]); // stored_fields without _source: no _source, as in Elasticsearch
        Assert.Equal(["2022-05-12T01:00:00.000Z"], Strings(hit["fields"]!["@timestamp"]));

        JsonNode withSource = await JsonAsync(HttpMethod.Post, "/logstash-*/_search", """{"stored_fields":["*"],"_source":{"excludes":[]},"size":1}""");
        Assert.NotNull(withSource["hits"]!["hits"]![0]!["_source"]);
    }

    [Theory]
    [InlineData("""{"script_fields":{"x":{"script":"1"}}}""", "script_fields")]
    [InlineData("""{"runtime_mappings":{"x":{"type":"keyword"}}}""", "runtime_mappings")]
    public async Task Search_ScriptsOrRuntimeFields_Clear400(string body, string key)
    {
        JsonNode error = await JsonAsync(HttpMethod.Post, "/_search", body, HttpStatusCode.BadRequest);

        Assert.Equal("illegal_argument_exception", (string?)error["error"]!["type"]);
        Assert.StartsWith($"[{key}] is not supported", (string?)error["error"]!["reason"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/_search?explain=true", "request [/_search] contains unsupported parameter: [explain]")]
    [InlineData("/logstash-*/_search?foo=bar", "request [/logstash-*/_search] contains unrecognized parameter: [foo]")]
    [InlineData("/_count?size=3", "request [/_count] contains unrecognized parameter: [size]")]
    [InlineData("/_mapping?q=x", "request [/_mapping] contains unrecognized parameter: [q]")]
    public async Task Parameters_UnknownOrNotHonoured_400NamingIt(string path, string reason)
    {
        JsonNode error = await JsonAsync(HttpMethod.Get, path, expected: HttpStatusCode.BadRequest);

        Assert.Equal("illegal_argument_exception", (string?)error["error"]!["type"]);
        Assert.StartsWith(reason, (string?)error["error"]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_StoredFields_TypesOfTheLogstashTemplate()
    {
        JsonNode mapping = await JsonAsync(HttpMethod.Get, "/_mapping");

        Assert.Equal(["app-1", "logstash-2022.05.12", "logstash-2022.05.13"], mapping.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        JsonNode logstash = mapping["logstash-2022.05.12"]!["mappings"]!["properties"]!;
        Assert.Equal("date", (string?)logstash["@timestamp"]!["type"]);
        Assert.Equal("keyword", (string?)logstash["@version"]!["type"]);
        Assert.Equal("long", (string?)logstash["severity"]!["type"]);
        Assert.Equal("text", (string?)logstash["message"]!["type"]);
        Assert.Null(logstash["message"]!["fields"]);
        Assert.Equal("text", (string?)logstash["host"]!["type"]);
        Assert.Equal("keyword", (string?)logstash["host"]!["fields"]!["keyword"]!["type"]);
        Assert.Equal(256, (int)logstash["host"]!["fields"]!["keyword"]!["ignore_above"]!);

        JsonNode app = (await JsonAsync(HttpMethod.Get, "/app-*/_mapping"))["app-1"]!["mappings"]!["properties"]!;
        Assert.Equal("float", (string?)app["latency"]!["type"]);
        Assert.Equal("long", (string?)app["count"]!["type"]);
        Assert.Equal("boolean", (string?)app["ok"]!["type"]);
        Assert.Equal("text", (string?)app["http"]!["properties"]!["method"]!["type"]);

        JsonNode typed = await JsonAsync(HttpMethod.Get, "/app-1/_mapping?include_type_name=true");
        Assert.NotNull(typed["app-1"]!["mappings"]!["_doc"]!["properties"]);

        JsonNode missing = await JsonAsync(HttpMethod.Get, "/nope/_mapping", expected: HttpStatusCode.NotFound);
        Assert.Equal("index_not_found_exception", (string?)missing["error"]!["type"]);
    }

    [Fact]
    public async Task FieldCaps_AllFieldsPatternAndCommaList_TypesAcrossIndices()
    {
        JsonNode caps = await JsonAsync(HttpMethod.Get, "/logstash-*,app-1/_field_caps?fields=*");

        Assert.Equal(["app-1", "logstash-2022.05.12", "logstash-2022.05.13"], Strings(caps["indices"]));
        JsonNode fields = caps["fields"]!;
        Assert.False((bool)fields["message"]!["text"]!["aggregatable"]!);
        Assert.True((bool)fields["host.keyword"]!["keyword"]!["aggregatable"]!);
        Assert.True((bool)fields["@timestamp"]!["date"]!["searchable"]!);
        Assert.Equal("_id", (string?)fields["_id"]!["_id"]!["type"]);
        Assert.Equal("object", (string?)fields["http"]!["object"]!["type"]);

        JsonNode some = await JsonAsync(HttpMethod.Post, "/logstash-*/_field_caps?fields=severity,prog*", """{"index_filter":{"range":{"@timestamp":{"gte":"now-1d"}}}}""");
        Assert.Equal(["program", "program.keyword", "severity"], some["fields"]!.AsObject().Select(p => p.Key));
        Assert.Equal("long", (string?)some["fields"]!["severity"]!["long"]!["type"]);

        JsonNode none = await JsonAsync(HttpMethod.Get, "/_field_caps", expected: HttpStatusCode.BadRequest);
        Assert.Equal("action_request_validation_exception", (string?)none["error"]!["type"]);
    }

    [Fact]
    public async Task GetIndex_SettingsAndMappings_HeadAnswersExistence()
    {
        JsonNode index = await JsonAsync(HttpMethod.Get, "/logstash-2022.05.13");

        JsonNode body = index["logstash-2022.05.13"]!;
        Assert.Equal("1", (string?)body["settings"]!["index"]!["number_of_shards"]);
        Assert.Equal("7170099", (string?)body["settings"]!["index"]!["version"]!["created"]);
        Assert.Equal("text", (string?)body["mappings"]!["properties"]!["program"]!["type"]);

        (HttpStatusCode exists, _) = await SendAsync(HttpMethod.Head, "/logstash-2022.05.13");
        (HttpStatusCode missing, _) = await SendAsync(HttpMethod.Head, "/logstash-1999.01.01");
        Assert.Equal(HttpStatusCode.OK, exists);
        Assert.Equal(HttpStatusCode.NotFound, missing);

        JsonNode notFound = await JsonAsync(HttpMethod.Get, "/nope", expected: HttpStatusCode.NotFound);
        Assert.Equal("index_not_found_exception", (string?)notFound["error"]!["type"]);

        JsonNode api = await JsonAsync(HttpMethod.Get, "/_xpack", expected: HttpStatusCode.BadRequest);
        Assert.Equal("no handler found for uri [/_xpack] and method [GET]", (string?)api["error"]!["reason"]);

        JsonNode method = await JsonAsync(HttpMethod.Get, "/_bulk", expected: HttpStatusCode.MethodNotAllowed);
        Assert.Equal("Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]", (string?)method["error"]!["reason"]);
    }

    [Fact]
    public async Task ClusterHealth_GrafanaHealthCheck_GreenWithShardCounts()
    {
        // Grafana's "Save & test" (pkg/tsdb/elasticsearch/healthcheck.go).
        JsonNode health = await JsonAsync(HttpMethod.Get, "/_cluster/health?wait_for_status=yellow");

        Assert.Equal("green", (string?)health["status"]);
        Assert.False((bool)health["timed_out"]!);
        Assert.Equal(3, (int)health["active_primary_shards"]!);

        JsonNode one = await JsonAsync(HttpMethod.Get, "/_cluster/health/logstash-*?level=indices");
        Assert.Equal(2, (int)one["active_shards"]!);
        Assert.Equal("green", (string?)one["indices"]!["logstash-2022.05.12"]!["status"]);

        JsonNode missing = await JsonAsync(HttpMethod.Get, "/_cluster/health/nope", expected: HttpStatusCode.NotFound);
        Assert.Equal("index_not_found_exception", (string?)missing["error"]!["type"]);
    }

    [Fact]
    public async Task License_LogstashStartupCheck_ActiveBasicLicenceOfA717Cluster()
    {
        // Logstash's elasticsearch output reads license.status at start-up; the fields are those of Elastic's
        // "Get license API" (7.17) for a basic licence, which has no expiry date.
        JsonNode response = await JsonAsync(HttpMethod.Get, "/_license");
        JsonObject license = response["license"]!.AsObject();
        Assert.Equal(
            ["status", "uid", "type", "issue_date", "issue_date_in_millis", "max_nodes", "issued_to", "issuer", "start_date_in_millis"],
            license.Select(p => p.Key));
        Assert.Equal("active", (string?)license["status"]);
        Assert.Equal("basic", (string?)license["type"]);
        Assert.True(Guid.TryParse((string?)license["uid"], out _));
        long issued = (long)license["issue_date_in_millis"]!;
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(issued), DateTimeOffset.Parse((string)license["issue_date"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1000, (int)license["max_nodes"]!);
        Assert.Equal((string?)(await JsonAsync(HttpMethod.Get, "/"))["cluster_name"], (string?)license["issued_to"]);
        Assert.Equal("elasticsearch", (string?)license["issuer"]);
        Assert.Equal(-1, (long)license["start_date_in_millis"]!);

        Assert.NotNull((await JsonAsync(HttpMethod.Get, "/_license?accept_enterprise=true&local=true"))["license"]);
        JsonNode unknown = await JsonAsync(HttpMethod.Get, "/_license?nope=1", expected: HttpStatusCode.BadRequest);
        Assert.Equal("illegal_argument_exception", (string?)unknown["error"]!["type"]);
    }

    [Fact]
    public async Task Nodes_KibanaStartupRequest_VersionAndPublishAddress()
    {
        // Kibana's and OpenSearch Dashboards' version check at start-up.
        JsonNode nodes = await JsonAsync(HttpMethod.Get, "/_nodes?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip");

        JsonObject node = Assert.Single(nodes["nodes"]!.AsObject()).Value!.AsObject();
        Assert.Equal(["ip", "version", "http"], node.Select(p => p.Key));
        Assert.Equal("7.17.0", (string?)node["version"]);
        Assert.Equal(_server.BaseAddress.Authority, (string?)node["http"]!["publish_address"]);

        JsonNode http = await JsonAsync(HttpMethod.Get, "/_nodes/_local/http");
        Assert.Equal(1, (int)http["_nodes"]!["total"]!);
        JsonObject local = Assert.Single(http["nodes"]!.AsObject()).Value!.AsObject();
        Assert.NotNull(local["http"]);
        Assert.Null(local["settings"]);

        JsonNode other = await JsonAsync(HttpMethod.Get, "/_nodes/some-other-node");
        Assert.Empty(other["nodes"]!.AsObject());
        await JsonAsync(HttpMethod.Get, "/_nodes/_local/jvm", expected: HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task CatHealth_TextAndJson_OneGreenRow()
    {
        JsonNode json = await JsonAsync(HttpMethod.Get, "/_cat/health?format=json");
        JsonNode row = Assert.Single(json.AsArray())!;
        Assert.Equal("green", (string?)row["status"]);
        Assert.Equal("3", (string?)row["shards"]);

        (HttpStatusCode status, string text) = await SendAsync(HttpMethod.Get, "/_cat/health?h=cluster,status");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("flotel green\n", text);
    }
}
