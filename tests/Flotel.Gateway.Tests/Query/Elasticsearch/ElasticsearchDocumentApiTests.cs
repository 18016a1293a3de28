using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>Single-document reads and writes with Elasticsearch's response shapes (here the writes go straight to the store).</summary>
public sealed class ElasticsearchDocumentApiTests : IAsyncLifetime
{
    private EsTestServer _server = null!;

    public async Task InitializeAsync() => _server = await EsTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using HttpResponseMessage response = await _server.Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task IndexThenGet_SavedObjectInDotKibana_ReturnsItWithElasticsearchsShapes()
    {
        const string savedObject = """{"type":"index-pattern","index-pattern":{"title":"logstash-*","timeFieldName":"@timestamp"},"updated_at":"2022-05-12T20:00:00Z"}""";

        (HttpStatusCode created, JsonNode? put) = await SendAsync(HttpMethod.Put, "/.kibana/_doc/index-pattern:logs?refresh=wait_for", savedObject);
        (HttpStatusCode found, JsonNode? get) = await SendAsync(HttpMethod.Get, "/.kibana/_doc/index-pattern:logs");
        (HttpStatusCode updated, JsonNode? again) =
            await SendAsync(HttpMethod.Post, "/.kibana/_doc/index-pattern:logs?refresh=true", """{"type":"index-pattern"}""");
        (HttpStatusCode afterUpdate, JsonNode? second) = await SendAsync(HttpMethod.Get, "/.kibana/_doc/index-pattern:logs?_source=type");

        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal("created", (string?)put!["result"]);
        Assert.Equal(".kibana", (string?)put["_index"]);
        Assert.Equal("index-pattern:logs", (string?)put["_id"]);
        Assert.Equal(1, (int)put["_shards"]!["successful"]!);
        Assert.True((long)put["_seq_no"]! > 0);
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.True((bool)get!["found"]!);
        Assert.Equal("logstash-*", (string?)get["_source"]!["index-pattern"]!["title"]);
        Assert.Equal((long)put["_seq_no"]!, (long)get["_seq_no"]!);
        Assert.Equal(HttpStatusCode.OK, updated);
        Assert.Equal("updated", (string?)again!["result"]);
        Assert.True((bool)again["forced_refresh"]!);
        Assert.Equal(HttpStatusCode.OK, afterUpdate);
        Assert.Equal("""{"type":"index-pattern"}""", second!["_source"]!.ToJsonString());
        Assert.True((long)second["_seq_no"]! > (long)get["_seq_no"]!);
    }

    [Fact]
    public async Task Get_UnknownIdAndUnknownIndex_Answer404InElasticsearchsShapes()
    {
        _ = await SendAsync(HttpMethod.Put, "/logs/_doc/1", """{"message":"one"}""");

        (HttpStatusCode missingDoc, JsonNode? doc) = await SendAsync(HttpMethod.Get, "/logs/_doc/2");
        (HttpStatusCode missingIndex, JsonNode? index) = await SendAsync(HttpMethod.Get, "/nothing/_doc/1");
        using HttpResponseMessage head = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/logs/_doc/1"));
        using HttpResponseMessage headMissing = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/logs/_doc/2"));

        Assert.Equal(HttpStatusCode.NotFound, missingDoc);
        Assert.False((bool)doc!["found"]!);
        Assert.Equal(HttpStatusCode.NotFound, missingIndex);
        Assert.Equal("index_not_found_exception", (string?)index!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, headMissing.StatusCode);
    }

    [Fact]
    public async Task Create_ExistingId_Is409AndLeavesTheDocument()
    {
        (HttpStatusCode first, _) = await SendAsync(HttpMethod.Put, "/logs/_create/a", """{"message":"first"}""");
        (HttpStatusCode second, JsonNode? conflict) = await SendAsync(HttpMethod.Post, "/logs/_create/a", """{"message":"second"}""");
        (HttpStatusCode opType, _) = await SendAsync(HttpMethod.Put, "/logs/_doc/a?op_type=create", """{"message":"third"}""");
        (_, JsonNode? stored) = await SendAsync(HttpMethod.Get, "/logs/_doc/a");

        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.Conflict, second);
        Assert.Equal("version_conflict_engine_exception", (string?)conflict!["error"]!["type"]);
        Assert.Equal(409, (int)conflict["status"]!);
        Assert.Equal(HttpStatusCode.Conflict, opType);
        Assert.Equal("first", (string?)stored!["_source"]!["message"]);
    }

    [Fact]
    public async Task PostWithoutId_GeneratesOneThatGetFinds()
    {
        (HttpStatusCode status, JsonNode? created) = await SendAsync(HttpMethod.Post, "/logs/_doc?refresh=wait_for", """{"message":"no id"}""");
        string id = (string)created!["_id"]!;

        (HttpStatusCode found, JsonNode? get) = await SendAsync(HttpMethod.Get, $"/logs/_doc/{id}");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(20, id.Length);
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.Equal("no id", (string?)get!["_source"]!["message"]);
    }

    [Fact]
    public async Task MultiGet_DocsAndIdsForms_AnswerInOrderWithMissingOnesMarked()
    {
        _ = await SendAsync(HttpMethod.Put, "/logs/_doc/1", """{"message":"one","program":"a"}""");
        _ = await SendAsync(HttpMethod.Put, "/other/_doc/1", """{"message":"other one"}""");

        (HttpStatusCode docsStatus, JsonNode? docs) = await SendAsync(HttpMethod.Post, "/_mget",
            """{"docs":[{"_index":"logs","_id":"1","_source":["program"]},{"_index":"other","_id":"1"},{"_index":"logs","_id":"9"},{"_index":"nothing","_id":"1"}]}""");
        (HttpStatusCode idsStatus, JsonNode? ids) = await SendAsync(HttpMethod.Get, "/logs/_mget", """{"ids":["9","1"]}""");

        Assert.Equal(HttpStatusCode.OK, docsStatus);
        JsonArray items = docs!["docs"]!.AsArray();
        Assert.Equal("""{"program":"a"}""", items[0]!["_source"]!.ToJsonString());
        Assert.Equal("other one", (string?)items[1]!["_source"]!["message"]);
        Assert.False((bool)items[2]!["found"]!);
        Assert.Equal("index_not_found_exception", (string?)items[3]!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.OK, idsStatus);
        Assert.False((bool)ids!["docs"]![0]!["found"]!);
        Assert.True((bool)ids["docs"]![1]!["found"]!);
    }

    [Theory]
    [InlineData("PUT", "/logs/_doc/1", "not json", "mapper_parsing_exception")]
    [InlineData("PUT", "/Bad/_doc/1", """{"a":1}""", "invalid_index_name_exception")]
    [InlineData("PUT", "/logs/_doc/1?if_seq_no=3&if_primary_term=1", """{"a":1}""", "illegal_argument_exception")]
    [InlineData("PUT", "/logs/_doc/1?refresh=later", """{"a":1}""", "illegal_argument_exception")]
    [InlineData("DELETE", "/logs/_doc/1", null, "illegal_argument_exception")]
    [InlineData("POST", "/_mget", """{"docs":[{"_id":"1"}]}""", null)]
    [InlineData("POST", "/_mget", """{"nope":[]}""", "parsing_exception")]
    public async Task BadRequests_AreRefusedWithElasticsearchsErrors(string method, string path, string? body, string? type)
    {
        (HttpStatusCode status, JsonNode? answer) = await SendAsync(new HttpMethod(method), path, body);

        if (type is null)
        {
            // A docs entry without an index: an item error, the request itself succeeds.
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("action_request_validation_exception", (string?)answer!["docs"]![0]!["error"]!["type"]);
            return;
        }

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(type, (string?)answer!["error"]!["type"]);
    }

    [Theory]
    [InlineData("GET", "/logs/_doc/1?fields=message", null, "unrecognized parameter: [fields]")]
    [InlineData("GET", "/logs/_doc/1?version=1", null, "unsupported parameter: [version]: the gateway keeps no document versions")]
    [InlineData("GET", "/logs/_doc/1?refresh=true", null, "unsupported parameter: [refresh=true]")]
    [InlineData("GET", "/logs/_doc/1?refresh=soon", null, "Failed to parse value [soon] as only [true] or [false] are allowed.")]
    [InlineData("GET", "/logs/_doc/1?realtime=true", null, "unsupported parameter: [realtime=true]")]
    [InlineData("POST", "/_mget?size=1", """{"docs":[{"_index":"logs","_id":"1"}]}""", "unrecognized parameter: [size]")]
    [InlineData("POST", "/logs/_mget?realtime", """{"ids":["1"]}""", "unsupported parameter: [realtime=true]")]
    [InlineData("PUT", "/logs/_doc/1?detect_noop=false", """{"a":1}""", "unrecognized parameter: [detect_noop]")]
    [InlineData("PUT", "/logs/_doc/1?pipeline=p", """{"a":1}""", "unsupported parameter: [pipeline]: ingest pipelines are not supported by this gateway")]
    [InlineData("POST", "/logs/_doc?if_primary_term=1", """{"a":1}""", "unsupported parameter: [if_primary_term]")]
    [InlineData("PUT", "/logs/_create/1?op_type=index", """{"a":1}""", "opType must be 'create', found: [index]")]
    [InlineData(
        "PUT",
        "/logs/_doc/1?wait_for_active_shards=2",
        """{"a":1}""",
        "[wait_for_active_shards] is [2] but this gateway keeps one copy of each index: use 1 or all")]
    [InlineData("PUT", "/logs/_doc/1?require_alias=maybe", """{"a":1}""", "Failed to parse value [maybe] as only [true] or [false] are allowed.")]
    [InlineData("DELETE", "/logs/_doc/1?retry_on_conflict=3", null, "unrecognized parameter: [retry_on_conflict]")]
    public async Task Parameters_NotHonoured_AreRefusedNamingThem(string method, string path, string? body, string reason)
    {
        _ = await SendAsync(HttpMethod.Put, "/logs/_doc/1", """{"message":"one"}""");

        (HttpStatusCode status, JsonNode? answer) = await SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("illegal_argument_exception", (string?)answer!["error"]!["type"]);
        Assert.Contains(reason, (string?)answer["error"]!["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_RefusedParameter_StoresNothing()
    {
        (HttpStatusCode refused, _) = await SendAsync(HttpMethod.Put, "/logs/_doc/1?version_type=external", """{"message":"one"}""");
        (HttpStatusCode badFilter, JsonNode? filterError) = await SendAsync(HttpMethod.Put, "/logs/_doc/1?filter_path=-result", """{"message":"one"}""");
        (HttpStatusCode badTimeout, JsonNode? timeoutError) = await SendAsync(HttpMethod.Put, "/logs/_doc/1?timeout=soon", """{"message":"one"}""");
        (HttpStatusCode alias, JsonNode? aliasError) = await SendAsync(HttpMethod.Put, "/logs/_doc/1?require_alias=true", """{"message":"one"}""");

        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal(HttpStatusCode.BadRequest, badFilter);
        Assert.Equal(HttpStatusCode.BadRequest, badTimeout);
        Assert.Equal("parse_exception", (string?)timeoutError!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.NotFound, alias);
        Assert.Equal("no such index [logs] and [require_alias] request flag is [true] and [logs] is not an alias", (string?)aliasError!["error"]!["reason"]);
        Assert.NotNull(filterError!["error"]);
        Assert.DoesNotContain(_server.Logs.Store.ListIndices(), i => i.Name == "logs");
    }

    [Fact]
    public async Task Write_HonouredParameters_AreAccepted()
    {
        (HttpStatusCode status, JsonNode? answer) = await SendAsync(HttpMethod.Put,
            "/logs/_doc/1?refresh=false&routing=a&timeout=1m&wait_for_active_shards=all&require_alias=false&op_type=index&pretty&human&error_trace=false",
            """{"message":"one"}""");
        (HttpStatusCode created, JsonNode? create) =
            await SendAsync(HttpMethod.Put, "/logs/_create/2?op_type=create&wait_for_active_shards=1", """{"message":"two"}""");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("created", (string?)answer!["result"]);
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal("created", (string?)create!["result"]);
    }

    [Fact]
    public async Task FilterPath_AppliesToAWriteAndToANotFoundRead_AsToAnyAnswerButAnError()
    {
        (HttpStatusCode status, JsonNode? written) = await SendAsync(HttpMethod.Put, "/logs/_doc/1?filter_path=result,_id", """{"message":"one"}""");
        (HttpStatusCode missing, JsonNode? notFound) = await SendAsync(HttpMethod.Get, "/logs/_doc/2?filter_path=found");
        (HttpStatusCode error, JsonNode? refused) = await SendAsync(HttpMethod.Get, "/nothing/_doc/2?filter_path=found");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("""{"_id":"1","result":"created"}""", written!.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("""{"found":false}""", notFound!.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, error);
        Assert.Equal("index_not_found_exception", (string?)refused!["error"]!["type"]);
    }

    [Theory]
    [InlineData("_source=false&_source_includes=message", null)]
    [InlineData("_source_excludes=program", """{"message":"one"}""")]
    [InlineData("_source=program&_source_includes=message", """{"message":"one"}""")]
    [InlineData("stored_fields=message", null)]
    [InlineData("stored_fields=message,_source", """{"message":"one","program":"a"}""")]
    [InlineData("stored_fields=message&_source=program", """{"program":"a"}""")]
    [InlineData("refresh=false&realtime=false&routing=a&preference=_local", """{"message":"one","program":"a"}""")]
    public async Task Get_SourceAndStoredFieldsParameters_ChooseTheSourceAsElasticsearchDoes(string parameters, string? source)
    {
        _ = await SendAsync(HttpMethod.Put, "/logs/_doc/1", """{"message":"one","program":"a"}""");

        (HttpStatusCode status, JsonNode? get) = await SendAsync(HttpMethod.Get, "/logs/_doc/1?" + parameters);
        (HttpStatusCode many, JsonNode? mget) = await SendAsync(HttpMethod.Post, "/logs/_mget?" + parameters, """{"ids":["1"]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True((bool)get!["found"]!);
        Assert.Equal(source, get["_source"]?.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, many);
        Assert.Equal(source, mget!["docs"]![0]!["_source"]?.ToJsonString());
    }

    [Fact]
    public async Task MultiGet_StoredFieldsOfAnEntry_LeaveOutItsSourceUnlessItAsksForIt()
    {
        _ = await SendAsync(HttpMethod.Put, "/logs/_doc/1", """{"message":"one","program":"a"}""");

        (HttpStatusCode status, JsonNode? answer) = await SendAsync(HttpMethod.Post, "/_mget?stored_fields=message",
            """{"docs":[{"_index":"logs","_id":"1"},{"_index":"logs","_id":"1","stored_fields":["_source"]},{"_index":"logs","_id":"1","_source":["program"]}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        JsonArray docs = answer!["docs"]!.AsArray();
        Assert.Null(docs[0]!["_source"]);
        Assert.Equal("""{"message":"one","program":"a"}""", docs[1]!["_source"]!.ToJsonString());
        Assert.Equal("""{"program":"a"}""", docs[2]!["_source"]!.ToJsonString());
    }
}
