using System.Text.Json.Nodes;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Flotel.Store.Tests.Logs;

namespace Flotel.Store.Tests.Query.Elasticsearch.Aggregations;

/// <summary>
/// Date histograms in time zones across Berlin's DST changes of 2022 (spring forward 2022-03-27 01:00 UTC, fall back
/// 2022-10-30 01:00 UTC), the rounding and formatting underneath, and the named formats clients send.
/// </summary>
public sealed class DateHistogramTimeZoneTests : IDisposable
{
    private readonly TestLogStore _t = new();

    public void Dispose() => _t.Dispose();

    private static DateTime Utc(string text) => DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

    private static long Ms(string text) => new DateTimeOffset(Utc(text)).ToUnixTimeMilliseconds();

    private async Task<List<(string KeyAsString, long Key, long Count)>> HistogramAsync(string index, string histogram, params string[] times)
    {
        await _t.Store.WriteAsync([.. times.Select(t => TestLogStore.Event(Utc(t), "m"))]);
        JsonNode aggs = AggregationTests.Run(_t.Store, "{\"aggs\":{\"h\":{\"date_histogram\":" + histogram + "}}}", index);
        return [.. aggs["h"]!["buckets"]!.AsArray().Select(b => ((string)b!["key_as_string"]!, (long)b["key"]!, (long)b["doc_count"]!))];
    }

    [Fact]
    public async Task CalendarDay_Berlin_SpringForwardDayIs23HoursLong()
    {
        List<(string KeyAsString, long Key, long Count)> buckets = await HistogramAsync("logstash-2022.03.*",
            """{"field":"@timestamp","calendar_interval":"1d","time_zone":"Europe/Berlin","min_doc_count":1}""",
            "2022-03-26T22:30:00Z", "2022-03-26T23:30:00Z", "2022-03-27T21:30:00Z", "2022-03-27T22:30:00Z");

        Assert.Equal(
            [("2022-03-26T00:00:00.000+01:00", Ms("2022-03-25T23:00:00Z"), 1L), ("2022-03-27T00:00:00.000+01:00", Ms("2022-03-26T23:00:00Z"), 2L), ("2022-03-28T00:00:00.000+02:00", Ms("2022-03-27T22:00:00Z"), 1L)],
            buckets);
    }

    [Fact]
    public async Task FixedHour_Berlin_FallBack_TheRepeatedHourIsTwoBuckets()
    {
        List<(string KeyAsString, long Key, long Count)> buckets = await HistogramAsync("logstash-2022.10.30",
            """{"field":"@timestamp","fixed_interval":"1h","time_zone":"Europe/Berlin"}""",
            "2022-10-30T00:30:00Z", "2022-10-30T01:30:00Z", "2022-10-30T01:45:00Z");

        Assert.Equal(
            [("2022-10-30T02:00:00.000+02:00", Ms("2022-10-30T00:00:00Z"), 1L), ("2022-10-30T02:00:00.000+01:00", Ms("2022-10-30T01:00:00Z"), 2L)],
            buckets);
    }

    [Fact]
    public async Task CalendarDay_MinDocCountZero_FillsAcrossTheDstChangeWithLocalMidnights()
    {
        List<(string KeyAsString, long Key, long Count)> buckets = await HistogramAsync("logstash-2022.*",
            """{"field":"@timestamp","calendar_interval":"day","time_zone":"Europe/Berlin","min_doc_count":0,"format":"yyyy-MM-dd"}""",
            "2022-10-29T12:00:00Z", "2022-10-31T12:00:00Z");

        Assert.Equal(
            [("2022-10-29", Ms("2022-10-28T22:00:00Z"), 1L), ("2022-10-30", Ms("2022-10-29T22:00:00Z"), 0L), ("2022-10-31", Ms("2022-10-30T23:00:00Z"), 1L)],
            buckets);
    }

    [Fact]
    public async Task CalendarMonthAndWeek_FixedOffset_StartAtLocalMidnightMonday()
    {
        List<(string KeyAsString, long Key, long Count)> months = await HistogramAsync("logstash-2022.*",
            """{"field":"@timestamp","calendar_interval":"month","time_zone":"-05:00","min_doc_count":1}""",
            "2022-05-01T03:00:00Z", "2022-05-12T10:00:00Z");
        JsonNode weeks = AggregationTests.Run(_t.Store, """{"aggs":{"h":{"date_histogram":{"field":"@timestamp","calendar_interval":"week","min_doc_count":1}}}}""", "logstash-2022.*");

        Assert.Equal([("2022-04-01T00:00:00.000-05:00", Ms("2022-04-01T05:00:00Z"), 1L), ("2022-05-01T00:00:00.000-05:00", Ms("2022-05-01T05:00:00Z"), 1L)], months);
        Assert.Equal(["2022-04-25T00:00:00.000Z", "2022-05-09T00:00:00.000Z"], weeks["h"]!["buckets"]!.AsArray().Select(b => (string)b!["key_as_string"]!));
    }

    [Theory]
    [InlineData("""{"field":"@timestamp","fixed_interval":"1h","time_zone":"Europe/Berlin"}""")]
    [InlineData("""{"field":"@timestamp","fixed_interval":"90m","offset":"+10m","min_doc_count":1}""")]
    [InlineData("""{"field":"@timestamp","calendar_interval":"day","time_zone":"America/New_York"}""")]
    [InlineData("""{"field":"@timestamp","calendar_interval":"hour","time_zone":"Australia/Lord_Howe","min_doc_count":0}""")]
    [InlineData("""{"field":"@timestamp","calendar_interval":"week","time_zone":"+05:30","hard_bounds":{"min":"2022-10-29T00:00:00Z"}}""")]
    public async Task CountedBuckets_EqualBucketsOfReadRows(string histogram)
    {
        // A histogram alone is counted per bucket on the ts index; with a sub-aggregation every row is read. Same buckets.
        var times = Enumerable.Range(0, 500).Select(i => new DateTime(2022, 10, 28, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i * 17).ToString("o", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        List<(string KeyAsString, long Key, long Count)> counted = await HistogramAsync("logstash-2022.*", histogram, times);
        JsonNode read = AggregationTests.Run(_t.Store, "{\"aggs\":{\"h\":{\"date_histogram\":" + histogram + ",\"aggs\":{\"n\":{\"value_count\":{\"field\":\"@timestamp\"}}}}}}", "logstash-2022.*");

        JsonArray buckets = read["h"]!["buckets"]!.AsArray();
        Assert.Equal(counted, buckets.Select(b => ((string)b!["key_as_string"]!, (long)b["key"]!, (long)b["doc_count"]!)));
        Assert.All(buckets, b => Assert.Equal((long)b!["doc_count"]!, (long)b["n"]!["value"]!));
        Assert.True(counted.Sum(b => b.Count) > 0);
    }

    [Theory]
    [InlineData("+01:00", 3_600_000)]
    [InlineData("-0530", -19_800_000)]
    [InlineData("+5", 18_000_000)]
    [InlineData("Z", 0)]
    [InlineData("UTC", 0)]
    public void DateZone_Offsets_Parse(string text, long offsetMs) =>
        Assert.Equal(offsetMs, DateZone.TryParse(text)!.OffsetAt(0));

    [Theory]
    [InlineData("Mars/Olympus")]
    [InlineData("+25:00")]
    [InlineData("+1:0")]
    public void DateZone_Unknown_IsNull(string text) => Assert.Null(DateZone.TryParse(text));

    [Theory]
    [InlineData("epoch_millis", "UTC", "1652349600123")]
    [InlineData("epoch_second", "UTC", "1652349600")]
    [InlineData("strict_date_optional_time", "UTC", "2022-05-12T10:00:00.123Z")]
    [InlineData("date_time_no_millis", "Europe/Berlin", "2022-05-12T12:00:00+02:00")]
    [InlineData("yyyy-MM-dd HH:mm:ss.SSS", "UTC", "2022-05-12 10:00:00.123")]
    [InlineData("dd/MMM/yyyy:HH:mm:ss Z", "-05:00", "12/May/2022:05:00:00 -0500")]
    [InlineData("yyyy-MM-dd'T'HH:mm:ssXXX||epoch_millis", "+05:30", "2022-05-12T15:30:00+05:30")]
    [InlineData("h:mm a, EEE", "UTC", "10:00 AM, Thu")]
    public void DateFormat_NamedAndPatterns_PrintAsElasticsearch(string format, string zone, string expected) =>
        Assert.Equal(expected, DateFormat.Parse(format).Format(1652349600123, DateZone.TryParse(zone)!));
}
