using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Flotel.Store.Tests.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Store.Tests.Query.Elasticsearch.Aggregations;

/// <summary>Search bodies with <c>aggs</c> parsed and run against a store holding six known events.</summary>
public sealed class AggregationTests : IDisposable
{
    private static readonly DateTime T0 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
    private readonly TestLogStore _t = new();

    public AggregationTests()
    {
        // Severity = priority % 8: m1 3, m2 6, m3 4, m4 6, m5 3, m6 7.
        _t.Store.WriteAsync([
            TestLogStore.Event(T0, "disk full on /var", priority: 3 * 8 + 3, program: "kernel", logsource: "edge1", deviceId: "dev1", workload: "w1"),
            TestLogStore.Event(T0.AddMinutes(1), "New message at: Thu May 12", priority: 6, program: "random-workload", deviceId: "dev1", workload: "random-workload"),
            TestLogStore.Event(T0.AddMinutes(2), "message queue is full", priority: 1 * 8 + 4, program: "broker", deviceId: "dev2", workload: "w2"),
            TestLogStore.Event(T0.AddMinutes(3), "user login ok", priority: 4 * 8 + 6, program: "sshd", logsource: "edge2", deviceId: "dev2"),
            TestLogStore.Event(T0.AddMinutes(14), "full disk again, message lost", priority: 3, program: "kernel", deviceId: "dev3"),
            TestLogStore.Event(T0.AddMinutes(15), "Another new message", priority: 7, program: "random-workload", deviceId: "dev3", host: null),
        ]).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose() => _t.Dispose();

    private JsonNode Aggs(string body, string index = "logstash-2022.05.12", CancellationToken cancellationToken = default) =>
        Run(_t.Store, body, index, cancellationToken);

    internal static JsonNode Run(LogStore store, string body, string index, CancellationToken cancellationToken = default)
    {
        SearchRequest request = QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000);
        AggregationResults results = store.Aggregate(IndexNames.Resolve(index, store.ListIndices(), true), request.Query, request.Aggregations, cancellationToken);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            results.WriteTo(writer);
            writer.WriteEndObject();
        }

        return JsonNode.Parse(buffer.WrittenSpan)!["aggregations"]!;
    }

    private static ElasticsearchException Refused(string body) =>
        Assert.Throws<ElasticsearchException>(() => QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000));

    private static string Bounds(string body, long min, long max) =>
        body.Replace("MIN", min.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("MAX", max.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static long Ms(DateTime t) => new DateTimeOffset(t).ToUnixTimeMilliseconds();

    private static List<(string? KeyAsString, long Key, long Count)> Buckets(JsonNode agg) =>
        [.. agg["buckets"]!.AsArray().Select(b => ((string?)b!["key_as_string"], (long)b["key"]!, (long)b["doc_count"]!))];

    [Fact]
    public void DateHistogram_FixedInterval_WritesKeyAsStringKeyAndCountInElasticsearchOrder()
    {
        JsonNode aggs = Aggs("""{"size":0,"aggs":{"1":{"date_histogram":{"field":"@timestamp","fixed_interval":"5m","min_doc_count":1}}}}""");

        Assert.Equal(
            """{"buckets":[{"key_as_string":"2022-05-12T10:00:00.000Z","key":1652349600000,"doc_count":4},{"key_as_string":"2022-05-12T10:10:00.000Z","key":1652350200000,"doc_count":1},{"key_as_string":"2022-05-12T10:15:00.000Z","key":1652350500000,"doc_count":1}]}""",
            aggs["1"]!.ToJsonString());
    }

    [Fact]
    public void DateHistogram_DefaultMinDocCount_FillsTheGapBetweenFirstAndLastBucket()
    {
        JsonNode aggs = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"5m"}}}}""");

        Assert.Equal([4L, 0L, 1L, 1L], Buckets(aggs["v"]!).Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_MinDocCountZeroWithExtendedBounds_FillsEmptyBucketsToTheBounds()
    {
        long min = Ms(T0.AddMinutes(-10)), max = Ms(T0.AddMinutes(29));
        JsonNode aggs = Aggs(Bounds("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"10m","min_doc_count":0,"extended_bounds":{"min":MIN,"max":MAX},"format":"epoch_millis"}}}}""", min, max));

        List<(string? KeyAsString, long Key, long Count)> buckets = Buckets(aggs["v"]!);
        Assert.Equal([Ms(T0.AddMinutes(-10)), Ms(T0), Ms(T0.AddMinutes(10)), Ms(T0.AddMinutes(20))], buckets.Select(b => b.Key));
        Assert.Equal([0L, 4L, 2L, 0L], buckets.Select(b => b.Count));
        Assert.All(buckets, b => Assert.Equal(b.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), b.KeyAsString));
    }

    [Fact]
    public void DateHistogram_NoMatchesButExtendedBounds_ReturnsOnlyEmptyBuckets()
    {
        long min = Ms(T0), max = Ms(T0.AddMinutes(2));
        JsonNode aggs = Aggs(Bounds("""{"query":{"match":{"message":"nothing-matches-this"}},"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"1m","extended_bounds":{"min":MIN,"max":MAX}}}}}""", min, max));

        Assert.Equal([0L, 0L, 0L], Buckets(aggs["v"]!).Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_RespectsTheQuery()
    {
        JsonNode aggs = Aggs("""{"query":{"term":{"program":"kernel"}},"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"1h"}}}}""");

        Assert.Equal([2L], Buckets(aggs["v"]!).Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_Offset_ShiftsBucketStarts()
    {
        JsonNode aggs = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"10m","offset":"+2m","min_doc_count":1}}}}""");

        List<(string? KeyAsString, long Key, long Count)> buckets = Buckets(aggs["v"]!);
        Assert.Equal([Ms(T0.AddMinutes(-8)), Ms(T0.AddMinutes(2)), Ms(T0.AddMinutes(12))], buckets.Select(b => b.Key));
        Assert.Equal([2L, 2L, 2L], buckets.Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_LegacyInterval_CalendarUnitAndMilliseconds()
    {
        JsonNode hour = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","interval":"1h"}}}}""");
        JsonNode ms = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","interval":600000,"min_doc_count":1}}}}""");

        Assert.Equal([(Ms(T0), 6L)], Buckets(hour["v"]!).Select(b => (b.Key, b.Count)));
        Assert.Equal([4L, 2L], Buckets(ms["v"]!).Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_Keyed_WritesBucketsAsAnObjectByKeyAsString()
    {
        JsonNode aggs = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","calendar_interval":"hour","keyed":true,"format":"yyyy-MM-dd HH:mm"}}}}""");

        Assert.Equal("""{"buckets":{"2022-05-12 10:00":{"key_as_string":"2022-05-12 10:00","key":1652349600000,"doc_count":6}}}""", aggs["v"]!.ToJsonString());
    }

    [Fact]
    public void DateHistogram_HardBounds_DropsDocumentsOutside()
    {
        long min = 0, max = Ms(T0.AddMinutes(5));
        JsonNode aggs = Aggs(Bounds("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"5m","hard_bounds":{"max":MAX}}}}}""", min, max));

        Assert.Equal([4L], Buckets(aggs["v"]!).Select(b => b.Count));
    }

    [Fact]
    public void DateHistogram_TooManyBuckets_Is400()
    {
        long min = Ms(T0.AddDays(-1)), max = Ms(T0.AddDays(1));
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => Aggs(Bounds("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"1s","extended_bounds":{"min":MIN,"max":MAX}}}}}""", min, max)));

        Assert.Equal(400, e.Status);
        Assert.Equal("too_many_buckets_exception", e.Type);
    }

    [Fact]
    public void Terms_Program_OrdersByCountThenKeyAndCountsTheRest()
    {
        JsonNode aggs = Aggs("""{"aggs":{"p":{"terms":{"field":"program","size":2}}}}""");

        Assert.Equal(
            """{"doc_count_error_upper_bound":0,"sum_other_doc_count":2,"buckets":[{"key":"kernel","doc_count":2},{"key":"random-workload","doc_count":2}]}""",
            aggs["p"]!.ToJsonString());
    }

    [Fact]
    public void Terms_KeywordSubfield_IsTheSameValues()
    {
        Assert.Equal(
            Aggs("""{"aggs":{"p":{"terms":{"field":"program"}}}}""")["p"]!.ToJsonString(),
            Aggs("""{"aggs":{"p":{"terms":{"field":"program.keyword"}}}}""")["p"]!.ToJsonString());
    }

    [Fact]
    public void Terms_OrderByKeyDescending()
    {
        JsonNode aggs = Aggs("""{"aggs":{"p":{"terms":{"field":"program","order":{"_key":"desc"}}}}}""");

        Assert.Equal(["sshd", "random-workload", "kernel", "broker"], aggs["p"]!["buckets"]!.AsArray().Select(b => (string)b!["key"]!));
    }

    [Fact]
    public void Terms_OrderBySubAggregationMetric()
    {
        JsonNode aggs = Aggs("""{"aggs":{"p":{"terms":{"field":"program","order":{"m":"desc"}},"aggs":{"m":{"max":{"field":"severity"}}}}}}""");

        JsonArray buckets = aggs["p"]!["buckets"]!.AsArray();
        Assert.Equal(["random-workload", "sshd", "broker", "kernel"], buckets.Select(b => (string)b!["key"]!));
        Assert.Equal(7.0, (double)buckets[0]!["m"]!["value"]!);
    }

    [Fact]
    public void Terms_OrderByUnknownSubAggregation_Is400()
    {
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => Aggs("""{"aggs":{"p":{"terms":{"field":"program","order":{"nope":"desc"}}}}}"""));

        Assert.Equal(400, e.Status);
        Assert.Contains("Invalid aggregation order path [nope]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Terms_Missing_CountsDocumentsWithoutTheField()
    {
        JsonNode without = Aggs("""{"aggs":{"h":{"terms":{"field":"host"}}}}""");
        JsonNode with = Aggs("""{"aggs":{"h":{"terms":{"field":"host","missing":"N/A"}}}}""");

        Assert.Equal([("10.0.0.1", 5L)], without["h"]!["buckets"]!.AsArray().Select(b => ((string)b!["key"]!, (long)b["doc_count"]!)));
        Assert.Equal([("10.0.0.1", 5L), ("N/A", 1L)], with["h"]!["buckets"]!.AsArray().Select(b => ((string)b!["key"]!, (long)b["doc_count"]!)));
    }

    [Fact]
    public void Terms_MinDocCountZero_ListsValuesTheQueryExcludes()
    {
        JsonNode aggs = Aggs("""{"query":{"term":{"program":"kernel"}},"aggs":{"p":{"terms":{"field":"program","min_doc_count":0}}}}""");

        Assert.Equal([("kernel", 2L), ("broker", 0L), ("random-workload", 0L), ("sshd", 0L)],
            aggs["p"]!["buckets"]!.AsArray().Select(b => ((string)b!["key"]!, (long)b["doc_count"]!)));
    }

    [Fact]
    public void Terms_NumericField_WritesNumericKeys()
    {
        JsonNode aggs = Aggs("""{"aggs":{"s":{"terms":{"field":"severity"}}}}""");

        Assert.Equal("""[{"key":3,"doc_count":2},{"key":6,"doc_count":2},{"key":4,"doc_count":1},{"key":7,"doc_count":1}]""", aggs["s"]!["buckets"]!.ToJsonString());
    }

    [Fact]
    public void Terms_ThenDateHistogram_NestsBucketsPerTerm()
    {
        JsonNode aggs = Aggs("""{"size":0,"aggs":{"p":{"terms":{"field":"program","size":10,"order":{"_key":"asc"}},"aggs":{"t":{"date_histogram":{"field":"@timestamp","fixed_interval":"10m","min_doc_count":0,"format":"epoch_millis"}}}}}}""");

        JsonNode kernel = aggs["p"]!["buckets"]!.AsArray().Single(b => (string)b!["key"]! == "kernel")!;
        Assert.Equal([(Ms(T0), 1L), (Ms(T0.AddMinutes(10)), 1L)], Buckets(kernel["t"]!).Select(b => (b.Key, b.Count)));
        JsonNode sshd = aggs["p"]!["buckets"]!.AsArray().Single(b => (string)b!["key"]! == "sshd")!;
        Assert.Equal([(Ms(T0), 1L)], Buckets(sshd["t"]!).Select(b => (b.Key, b.Count)));
    }

    [Fact]
    public void Filters_NamedAndAnonymous_WithOtherBucket()
    {
        JsonNode named = Aggs("""{"aggs":{"f":{"filters":{"filters":{"errors":{"range":{"severity":{"lte":3}}},"disk":{"match":{"message":"disk"}}},"other_bucket_key":"rest"}}}}""");
        JsonNode anonymous = Aggs("""{"aggs":{"f":{"filters":{"filters":[{"term":{"program":"kernel"}},{"query_string":{"query":"program:sshd OR program:broker"}}]}}}}""");

        Assert.Equal("""{"buckets":{"errors":{"doc_count":2},"disk":{"doc_count":2},"rest":{"doc_count":4}}}""", named["f"]!.ToJsonString());
        Assert.Equal("""{"buckets":[{"doc_count":2},{"doc_count":2}]}""", anonymous["f"]!.ToJsonString());
    }

    [Fact]
    public void Range_UnkeyedAndKeyed_ElasticsearchKeysAndBounds()
    {
        JsonNode list = Aggs("""{"aggs":{"r":{"range":{"field":"severity","ranges":[{"to":4},{"from":4,"to":7},{"from":7}]}}}}""");
        JsonNode keyed = Aggs("""{"aggs":{"r":{"range":{"field":"severity","keyed":true,"ranges":[{"key":"bad","to":4},{"from":4}]}}}}""");

        Assert.Equal("""{"buckets":[{"key":"*-4.0","to":4,"doc_count":2},{"key":"4.0-7.0","from":4,"to":7,"doc_count":3},{"key":"7.0-*","from":7,"doc_count":1}]}""", list["r"]!.ToJsonString());
        Assert.Equal("""{"buckets":{"bad":{"to":4,"doc_count":2},"4.0-*":{"from":4,"doc_count":4}}}""", keyed["r"]!.ToJsonString());
    }

    [Fact]
    public void Histogram_Severity_DoubleKeysAndFilledGaps()
    {
        JsonNode aggs = Aggs("""{"aggs":{"h":{"histogram":{"field":"severity","interval":2}}}}""");

        Assert.Equal("""{"buckets":[{"key":2,"doc_count":2},{"key":4,"doc_count":1},{"key":6,"doc_count":3}]}""", aggs["h"]!.ToJsonString());
    }

    [Fact]
    public void Metrics_OverSeverity_ComputeElasticsearchValues()
    {
        JsonNode aggs = Aggs("""
            {"aggs":{
              "avg":{"avg":{"field":"severity"}},"sum":{"sum":{"field":"severity"}},"min":{"min":{"field":"severity"}},
              "max":{"max":{"field":"severity"}},"count":{"value_count":{"field":"severity"}},"card":{"cardinality":{"field":"program"}},
              "pct":{"percentiles":{"field":"severity","percents":[50,100]}},"ext":{"extended_stats":{"field":"severity"}}}}
            """);

        Assert.Equal(29.0 / 6, (double)aggs["avg"]!["value"]!, 9);
        Assert.Equal(29.0, (double)aggs["sum"]!["value"]!);
        Assert.Equal(3.0, (double)aggs["min"]!["value"]!);
        Assert.Equal(7.0, (double)aggs["max"]!["value"]!);
        Assert.Equal(6, (long)aggs["count"]!["value"]!);
        Assert.Equal(4, (long)aggs["card"]!["value"]!);
        Assert.Equal("""{"values":{"50.0":5,"100.0":7}}""", aggs["pct"]!.ToJsonString());
        JsonNode ext = aggs["ext"]!;
        Assert.Equal(6, (long)ext["count"]!);
        Assert.Equal(155.0, (double)ext["sum_of_squares"]!);
        double variance = (155.0 / 6) - (29.0 / 6 * 29.0 / 6);
        Assert.Equal(variance, (double)ext["variance"]!, 9);
        Assert.Equal(Math.Sqrt(variance), (double)ext["std_deviation"]!, 9);
        Assert.Equal((29.0 / 6) + (2 * Math.Sqrt(variance)), (double)ext["std_deviation_bounds"]!["upper"]!, 9);
    }

    [Fact]
    public void Stats_WritesCountMinMaxAvgSum()
    {
        JsonNode aggs = Aggs("""{"query":{"terms":{"severity":[3,4]}},"aggs":{"s":{"stats":{"field":"severity"}}}}""");

        Assert.Equal("""{"count":3,"min":3,"max":4,"avg":3.3333333333333335,"sum":10}""", aggs["s"]!.ToJsonString());
    }

    [Fact]
    public void Metrics_NoDocuments_AreNullExceptSumAndCounts()
    {
        JsonNode aggs = Aggs("""{"query":{"match_none":{}},"aggs":{"a":{"avg":{"field":"severity"}},"s":{"sum":{"field":"severity"}},"m":{"min":{"field":"severity"}},"c":{"value_count":{"field":"severity"}},"p":{"percentiles":{"field":"severity","percents":[99],"keyed":false}}}}""");

        Assert.Equal("""{"a":{"value":null},"s":{"value":0},"m":{"value":null},"c":{"value":0},"p":{"values":[{"key":99,"value":null}]}}""", aggs.ToJsonString());
    }

    [Fact]
    public void Max_OfTimestamp_AlsoWritesValueAsString()
    {
        JsonNode aggs = Aggs("""{"aggs":{"newest":{"max":{"field":"@timestamp"}}}}""");

        Assert.Equal("2022-05-12T10:15:00.000Z", (string?)aggs["newest"]!["value_as_string"]);
    }

    [Fact]
    public void TopHits_NewestPerProgram_WithSourceFilter()
    {
        JsonNode aggs = Aggs("""{"aggs":{"p":{"terms":{"field":"program","order":{"_key":"asc"}},"aggs":{"last":{"top_hits":{"size":1,"sort":[{"@timestamp":{"order":"desc"}}],"_source":["message"]}}}}}}""");

        JsonNode kernel = aggs["p"]!["buckets"]![1]!;
        Assert.Equal("kernel", (string?)kernel["key"]);
        JsonNode hits = kernel["last"]!["hits"]!;
        Assert.Equal(2, (long)hits["total"]!["value"]!);
        JsonNode hit = hits["hits"]![0]!;
        Assert.Equal("logstash-2022.05.12", (string?)hit["_index"]);
        Assert.Equal("""{"message":"full disk again, message lost"}""", hit["_source"]!.ToJsonString());
        Assert.Equal(Ms(T0.AddMinutes(14)), (long)hit["sort"]![0]!);
        Assert.Null(hit["_score"]?.GetValue<double?>());
    }

    [Fact]
    public async Task SourceFields_ArraysAndNumbersOutsideTheIndexedColumns()
    {
        _ = await _t.Store.WriteDocumentsAsync([
            new LogDocument("bulk", null, Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T10:00:00Z","tags":["a","b","a"],"latency":{"ms":10.5}}""")),
            new LogDocument("bulk", null, Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T10:00:01Z","tags":"b","latency":{"ms":20}}""")),
            new LogDocument("bulk", null, Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T10:00:02Z"}""")),
        ]);

        JsonNode aggs = Aggs("""{"aggs":{"t":{"terms":{"field":"tags.keyword"}},"l":{"avg":{"field":"latency.ms"}},"n":{"value_count":{"field":"tags"}}}}""", "bulk");

        Assert.Equal("""[{"key":"b","doc_count":2},{"key":"a","doc_count":1}]""", aggs["t"]!["buckets"]!.ToJsonString());
        Assert.Equal(15.25, (double)aggs["l"]!["value"]!);
        Assert.Equal(4, (long)aggs["n"]!["value"]!);
    }

    [Fact]
    public void Avg_OfATextField_Is400()
    {
        ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => Aggs("""{"aggs":{"a":{"avg":{"field":"program"}}}}"""));

        Assert.Equal(400, e.Status);
        Assert.Contains("program", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregate_CancelledToken_Stops()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"1m"}}}}""", cancellationToken: cancelled.Token));
    }

    [Fact]
    public void Aggregate_UnknownIndex_IsEmpty()
    {
        JsonNode aggs = Aggs("""{"aggs":{"v":{"date_histogram":{"field":"@timestamp","fixed_interval":"1m"}},"c":{"value_count":{"field":"severity"}}}}""", "logstash-2000.01.01");

        Assert.Equal("""{"v":{"buckets":[]},"c":{"value":0}}""", aggs.ToJsonString());
    }

    [Theory]
    [InlineData("""{"aggs":{"x":{"moving_fn":{}}}}""", "parsing_exception", "[moving_fn] aggregations are not supported")]
    [InlineData("""{"aggs":{"x":{"nonsense":{}}}}""", "parsing_exception", "Unknown aggregation type [nonsense]")]
    [InlineData("""{"aggs":{"x":{"date_histogram":{"field":"@timestamp"}}}}""", "illegal_argument_exception", "Invalid interval")]
    [InlineData("""{"aggs":{"x":{"date_histogram":{"field":"@timestamp","fixed_interval":"1M"}}}}""", "illegal_argument_exception", "fixedInterval")]
    [InlineData("""{"aggs":{"x":{"date_histogram":{"field":"@timestamp","calendar_interval":"2d"}}}}""", "illegal_argument_exception", "calendar interval")]
    [InlineData("""{"aggs":{"x":{"date_histogram":{"field":"@timestamp","fixed_interval":"1m","time_zone":"Mars/Olympus"}}}}""", "illegal_argument_exception", "Unknown time-zone ID")]
    [InlineData("""{"aggs":{"x":{"date_histogram":{"field":"@timestamp","fixed_interval":"1m","format":"yyyy-QQ"}}}}""", "illegal_argument_exception", "Invalid format")]
    [InlineData("""{"aggs":{"x":{"terms":{"field":"program","sizes":3}}}}""", "parsing_exception", "unknown field [sizes]")]
    [InlineData("""{"aggs":{"x":{"terms":{"field":"program","size":0}}}}""", "illegal_argument_exception", "[size] must be greater than 0")]
    [InlineData("""{"aggs":{"x":{"terms":{}}}}""", "illegal_argument_exception", "Required one of fields [field, script]")]
    [InlineData("""{"aggs":{"x":{"avg":{"field":"severity"},"aggs":{"y":{"max":{"field":"severity"}}}}}}""", "aggregation_initialization_exception", "cannot accept sub-aggregations")]
    [InlineData("""{"aggs":{"x>y":{"avg":{"field":"severity"}}}}""", "parsing_exception", "Invalid aggregation name")]
    [InlineData("""{"aggs":{"x":{"terms":{"field":"program"},"avg":{"field":"severity"}}}}""", "parsing_exception", "two aggregation type definitions")]
    [InlineData("""{"aggs":{"x":{"percentiles":{"field":"severity","percents":[101]}}}}""", "illegal_argument_exception", "percent must be in [0,100]")]
    [InlineData("""{"aggs":{"x":{"top_hits":{"size":101}}}}""", "illegal_argument_exception", "Top hits result window is too large")]
    [InlineData("""{"aggs":[]}""", "parsing_exception", "[aggs] must be an object")]
    public void Parse_BadAggregation_IsA400NamingThePart(string body, string type, string reason)
    {
        ElasticsearchException e = Refused(body);

        Assert.Equal(400, e.Status);
        Assert.Equal(type, e.Type);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingDeeperThanTheLimit_Is400()
    {
        string body = "{\"field\":\"program\"}";
        string nested = "{\"a\":{\"terms\":" + body + "}}";
        for (int i = 1; i < AggregationParser.MaxDepth + 1; i++)
        {
            nested = "{\"a\":{\"terms\":" + body + ",\"aggs\":" + nested + "}}";
        }

        ElasticsearchException e = Refused("{\"aggs\":" + nested + "}");

        Assert.Contains("nested more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_Runs()
    {
        string body = "{\"field\":\"program\"}";
        string nested = "{\"a\":{\"terms\":" + body + "}}";
        for (int i = 1; i < AggregationParser.MaxDepth; i++)
        {
            nested = "{\"a\":{\"terms\":" + body + ",\"aggs\":" + nested + "}}";
        }

        JsonNode aggs = Aggs("{\"aggs\":" + nested + "}");

        Assert.Equal(4, aggs["a"]!["buckets"]!.AsArray().Count);
    }
}
