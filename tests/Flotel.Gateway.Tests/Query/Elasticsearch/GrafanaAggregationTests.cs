using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Store.Tests.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>
/// Aggregation requests through HTTP as Grafana's Elasticsearch data source sends them. The bodies are Grafana's own
/// request fixtures (grafana/grafana, pkg/tsdb/elasticsearch/testdata_request/metric_complex.request.line1.json and
/// metric_multi.request.line1.json: the structure, bounds, interval and parameters as they are), with its test field
/// names mapped onto the Logstash schema: testtime → @timestamp, label → program, float → severity.
/// </summary>
public sealed class GrafanaAggregationTests : IAsyncLifetime
{
    // The fixtures' time range: 2022-11-14T10:40:37.218Z … 10:43:45.668Z.
    private const long From = 1668422437218;
    private const long To = 1668422625668;

    private EsTestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await EsTestServer.StartAsync();
        DateTime t = DateTimeOffset.FromUnixTimeMilliseconds(From).UtcDateTime;
        await _server.Logs.Store.WriteAsync([
            TestLogStore.Event(t.AddSeconds(10), "a", priority: 3, program: "kernel"),
            TestLogStore.Event(t.AddSeconds(20), "b", priority: 6, program: "kernel"),
            TestLogStore.Event(t.AddSeconds(70), "c", priority: 4, program: "sshd"),
            TestLogStore.Event(t.AddSeconds(150), "d", priority: 7, program: "kernel"), // 10:43:07
            TestLogStore.Event(t.AddSeconds(-600), "outside the range", priority: 0, program: "cron"),
        ]);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonNode Body)> SearchAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _server.Client.PostAsync("/logstash-*/_search", content);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Fact]
    public async Task GrafanaMetricComplex_TermsThenDateHistogramWithMinAndMax()
    {
        // metric_complex.request.line1.json
        const string body = """
            {
              "aggs": {
                "4": {
                  "aggs": {
                    "2": {
                      "aggs": { "1": { "max": { "field": "severity" } }, "3": { "min": { "field": "severity" } } },
                      "date_histogram": {
                        "extended_bounds": { "max": 1668422625668, "min": 1668422437218 },
                        "field": "@timestamp", "fixed_interval": "1m", "format": "epoch_millis", "min_doc_count": 0
                      }
                    }
                  },
                  "terms": { "field": "program", "order": { "_key": "desc" }, "size": 10 }
                }
              },
              "query": { "bool": { "filter": { "range": { "@timestamp": { "format": "epoch_millis", "gte": 1668422437218, "lte": 1668422625668 } } } } },
              "size": 0
            }
            """;

        (HttpStatusCode status, JsonNode response) = await SearchAsync(body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, (long)response["hits"]!["total"]!["value"]!);
        Assert.Empty(response["hits"]!["hits"]!.AsArray());
        JsonNode terms = response["aggregations"]!["4"]!;
        Assert.Equal(0, (long)terms["sum_other_doc_count"]!);
        JsonArray programs = terms["buckets"]!.AsArray();
        Assert.Equal(["sshd", "kernel"], programs.Select(b => (string)b!["key"]!));
        // Minutes from 10:40 to 10:43 (the extended bounds), each with key_as_string in epoch_millis.
        JsonArray kernel = programs[1]!["2"]!["buckets"]!.AsArray();
        long firstMinute = From - (From % 60_000);
        Assert.Equal([firstMinute, firstMinute + 60_000, firstMinute + 120_000, firstMinute + 180_000], kernel.Select(b => (long)b!["key"]!));
        Assert.All(kernel, b => Assert.Equal(((long)b!["key"]!).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)b["key_as_string"]));
        Assert.Equal([2L, 0L, 0L, 1L], kernel.Select(b => (long)b!["doc_count"]!));
        Assert.Equal(6.0, (double)kernel[0]!["1"]!["value"]!);
        Assert.Equal(3.0, (double)kernel[0]!["3"]!["value"]!);
        Assert.Null(kernel[1]!["1"]!["value"]);
    }

    [Fact]
    public async Task GrafanaMetricMulti_DateHistogramOfSecondsWithMax()
    {
        // metric_multi.request.line1.json
        const string body = """
            {
              "size": 0,
              "query": { "bool": { "filter": { "range": { "@timestamp": { "gte": 1668422437218, "lte": 1668422625668, "format": "epoch_millis" } } } } },
              "aggs": {
                "2": {
                  "date_histogram": {
                    "field": "@timestamp", "min_doc_count": 0, "extended_bounds": { "min": 1668422437218, "max": 1668422625668 },
                    "format": "epoch_millis", "fixed_interval": "1000ms"
                  },
                  "aggs": { "1": { "max": { "field": "severity" } } }
                }
              }
            }
            """;

        (HttpStatusCode status, JsonNode response) = await SearchAsync(body);

        Assert.Equal(HttpStatusCode.OK, status);
        JsonArray buckets = response["aggregations"]!["2"]!["buckets"]!.AsArray();
        Assert.Equal(((To / 1000) - (From / 1000)) + 1, buckets.Count);
        Assert.Equal(4, buckets.Sum(b => (long)b!["doc_count"]!));
        Assert.Equal(7.0, buckets.Max(b => (double?)b!["1"]!["value"]));
    }

    [Fact]
    public async Task LogsRequest_NewestHitsAndTheVolumeHistogramTogether()
    {
        // Grafana's Logs query (size, range filter, query_string "*", sort with unmapped_type) with its volume histogram.
        const string body = """
            {"size":2,"query":{"bool":{"filter":[{"range":{"@timestamp":{"gte":1668422437218,"lte":1668422625668,"format":"epoch_millis"}}},{"query_string":{"analyze_wildcard":true,"query":"*"}}]}},
             "sort":[{"@timestamp":{"order":"desc","unmapped_type":"boolean"}},{"_doc":{"order":"desc"}}],
             "aggs":{"2":{"date_histogram":{"interval":"1m","field":"@timestamp","min_doc_count":0,"extended_bounds":{"min":1668422437218,"max":1668422625668},"format":"epoch_millis"}}}}
            """;

        (HttpStatusCode status, JsonNode response) = await SearchAsync(body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["d", "c"], response["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_source"]!["message"]!));
        Assert.Equal([2L, 1L, 0L, 1L], response["aggregations"]!["2"]!["buckets"]!.AsArray().Select(b => (long)b!["doc_count"]!));
    }

    [Fact]
    public async Task UnknownAggregationType_IsAnElasticsearch400()
    {
        (HttpStatusCode status, JsonNode response) = await SearchAsync("""{"aggs":{"1":{"geohash_grid":{"field":"location"}}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parsing_exception", (string?)response["error"]!["type"]);
        Assert.Equal("parsing_exception", (string?)response["error"]!["root_cause"]![0]!["type"]);
        Assert.Contains("geohash_grid", (string?)response["error"]!["reason"], StringComparison.Ordinal);
        Assert.Equal(400, (int)response["status"]!);
    }

    [Fact]
    public async Task TooManyBuckets_IsA400NotA500()
    {
        (HttpStatusCode status, JsonNode response) = await SearchAsync("""{"size":0,"aggs":{"1":{"date_histogram":{"field":"@timestamp","fixed_interval":"1ms","extended_bounds":{"min":0,"max":100000000}}}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("too_many_buckets_exception", (string?)response["error"]!["type"]);
    }

    // Every aggregation type and a sub-aggregation, to check the typed_keys name of each.
    private const string TypedBody = """
        {
          "size": 0,
          "aggs": {
            "2": {
              "date_histogram": { "field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1 },
              "aggs": { "1": { "avg": { "field": "severity" } }, "x": { "top_hits": { "size": 1 } } }
            },
            "3": { "terms": { "field": "program.keyword" }, "aggs": { "p": { "percentiles": { "field": "severity", "percents": [50] } } } },
            "4": { "terms": { "field": "severity" } },
            "h": { "histogram": { "field": "severity", "interval": 2 } },
            "f": { "filters": { "filters": { "k": { "match": { "program": "kernel" } } } } },
            "r": { "range": { "field": "severity", "ranges": [{ "to": 5 }] } },
            "d": { "range": { "field": "@timestamp", "ranges": [{ "from": 0 }] } },
            "s": { "sum": { "field": "severity" } }, "mn": { "min": { "field": "severity" } }, "mx": { "max": { "field": "severity" } },
            "c": { "value_count": { "field": "severity" } }, "u": { "cardinality": { "field": "program" } },
            "st": { "stats": { "field": "severity" } }, "es": { "extended_stats": { "field": "severity" } }
          }
        }
        """;

    private static readonly string[] TypedNames =
    [
        "date_histogram#2", "sterms#3", "lterms#4", "histogram#h", "filters#f", "range#r", "date_range#d", "sum#s", "min#mn",
        "max#mx", "value_count#c", "cardinality#u", "stats#st", "extended_stats#es",
    ];

    [Fact]
    public async Task Search_TypedKeys_NamesEveryAggregationTypeHashName()
    {
        using var content = new StringContent(TypedBody, Encoding.UTF8, "application/json");
        using HttpResponseMessage typed = await _server.Client.PostAsync("/logstash-*/_search?typed_keys=true", content);
        JsonNode body = JsonNode.Parse(await typed.Content.ReadAsStringAsync())!;
        (HttpStatusCode status, JsonNode plain) = await SearchAsync(TypedBody);

        Assert.Equal(HttpStatusCode.OK, typed.StatusCode);
        JsonObject aggregations = body["aggregations"]!.AsObject();
        Assert.Equal(TypedNames, aggregations.Select(a => a.Key));
        JsonNode minute = aggregations["date_histogram#2"]!["buckets"]![0]!;
        Assert.NotNull(minute["avg#1"]);
        Assert.NotNull(minute["top_hits#x"]!["hits"]);
        Assert.NotNull(aggregations["sterms#3"]!["buckets"]![0]!["tdigest_percentiles#p"]!["values"]);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["2", "3", "4", "h", "f", "r", "d", "s", "mn", "mx", "c", "u", "st", "es"], plain["aggregations"]!.AsObject().Select(a => a.Key));
        Assert.NotNull(plain["aggregations"]!["2"]!["buckets"]![0]!["1"]);
    }

    [Fact]
    public async Task MultiSearch_TypedKeys_NamesTheAggregationsOfEverySearch()
    {
        string body = "{\"index\":\"logstash-*\"}\n" + TypedBody.ReplaceLineEndings(string.Empty) + "\n{}\n" + TypedBody.ReplaceLineEndings(string.Empty) + "\n";
        using var content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");
        using HttpResponseMessage response = await _server.Client.PostAsync("/_msearch?typed_keys=true", content);
        JsonArray responses = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["responses"]!.AsArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, responses.Count);
        Assert.All(responses, r => Assert.Equal(TypedNames, r!["aggregations"]!.AsObject().Select(a => a.Key)));
    }

    [Fact]
    public async Task GrafanaTermsVariable_MultiSearch_AnswersTheFieldsValuesInTheRangeInKeyOrder()
    {
        // A dashboard variable {"find": "terms", "field": "program"}: the header of getQueryHeader and the body of
        // QueryBuilder.getTermsQuery (public/app/plugins/datasource/elasticsearch), $timeFrom/$timeTo replaced; Grafana
        // lists responses[0].aggregations["1"].buckets, each bucket's key_as_string or key.
        string body = """{"search_type":"query_then_fetch","ignore_unavailable":true,"index":"logstash-*"}""" + "\n" +
            """{"size":0,"query":{"bool":{"filter":[{"range":{"@timestamp":{"gte":$timeFrom,"lte":$timeTo,"format":"epoch_millis"}}},{"query_string":{"analyze_wildcard":true,"query":"*"}}]}},"aggs":{"1":{"terms":{"field":"program","size":500,"order":{"_key":"asc"}}}}}"""
                .Replace("$timeFrom", From.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("$timeTo", To.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) + "\n";
        using var content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");
        using HttpResponseMessage response = await _server.Client.PostAsync("/_msearch?max_concurrent_shard_requests=5", content);
        JsonNode answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["responses"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(200, (int)answer["status"]!);
        JsonArray buckets = answer["aggregations"]!["1"]!["buckets"]!.AsArray();
        Assert.Equal(["kernel", "sshd"], buckets.Select(b => (string)b!["key"]!));
        Assert.Equal([3L, 1L], buckets.Select(b => (long)b!["doc_count"]!));
    }
}
