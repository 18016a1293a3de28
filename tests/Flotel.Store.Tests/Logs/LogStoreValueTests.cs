using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// The five repeated strings (program, logsource, host, device_id, workload) stored as ids of <c>values_N</c> (compact
/// layout, schema in <see cref="LogStore"/>) against the text columns of the previous layout: every query, sort and
/// aggregation over them answers the same.
/// </summary>
public sealed class LogStoreValueTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 0, 0, DateTimeKind.Utc);
    private const string OldIndex = "logstash-2022.05.12";
    private const string NewIndex = "logstash-2022.05.13";

    // Values a comparison could confuse with an id or a number: digits, booleans, the empty string, case, non-ASCII.
    private static readonly string?[] Values = ["sensor-agent", "5", "1", "2", "true", "", "CRON", "cron", "ümlaut", null, "0", "6.5", "sensor", "Z"];

    private static readonly string[] Bodies =
    [
        """{"query":{"term":{"program":"5"}}}""",
        """{"query":{"term":{"program":5}}}""",
        """{"query":{"terms":{"program":[1, true, 6.5]}}}""",
        """{"query":{"term":{"host":""}}}""",
        """{"query":{"term":{"program.keyword":"sensor-agent"}}}""",
        """{"query":{"terms":{"device_id":["2","nope"]}}}""",
        """{"query":{"prefix":{"program":"sen"}}}""",
        """{"query":{"range":{"program":{"gte":"c","lt":"t"}}}}""",
        """{"query":{"range":{"workload":{"gte":1,"lte":5}}}}""",
        """{"query":{"exists":{"field":"program"}}}""",
        """{"query":{"bool":{"must_not":[{"term":{"program":"CRON"}},{"term":{"logsource":"1"}}]}}}""",
        """{"query":{"bool":{"must_not":[{"terms":{"program":["nope", "neither"]}}]}}}""",
        """{"query":{"match":{"workload":"sensor-agent"}}}""",
        """{"query":{"query_string":{"query":"program:5 OR host:CRON"}}}""",
        """{"query":{"query_string":{"query":"program:sen* AND NOT workload:5"}}}""",
        """
        {"query":{"match_all":{}},"aggs":{"p":{"terms":{"field":"program","size":50,"missing":"none"}},"h":{"terms":{"field":"host","size":3}},
          "d":{"cardinality":{"field":"device_id"}}}}
        """,
        """{"query":{"term":{"program":"sensor-agent"}},"aggs":{"w":{"terms":{"field":"workload","size":50,"order":{"_key":"asc"}}}}}""",
    ];

    private static async Task<TestLogStore> BothLayoutsAsync()
    {
        TestLogStore t = TestLogStore.WithPreviousLayoutIndex(OldIndex);
        var events = new List<LogEvent>();
        for (int day = 0; day < 2; day++)
        {
            for (int i = 0; i < 200; i++)
            {
                events.Add(TestLogStore.Event(May12.AddDays(day).AddSeconds(i), $"event {i}", program: Values[i % Values.Length],
                    host: Values[(i / 3) % Values.Length], logsource: Values[(i * 7) % Values.Length], deviceId: Values[(i * 5 + 1) % Values.Length],
                    workload: Values[(i / 2 + 3) % Values.Length]));
            }
        }

        await t.Store.WriteAsync(events);
        return t;
    }

    private static string Answer(LogStore store, string index, string body, IReadOnlyList<LogSort> sort)
    {
        SearchRequest request = QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000);
        LogSearchResult result = store.Search(new LogSearch([index], request.Query, sort, 0, 1000), countOnly: false);
        var answer = new StringBuilder().Append(result.Total).Append(':');
        foreach (LogHit hit in result.Hits)
        {
            answer.Append(JsonNode.Parse(hit.Source)!["message"]!.GetValue<string>()).Append(',');
        }

        if (request.Aggregations.Count > 0)
        {
            AggregationResults aggregations = store.Aggregate([index], request.Query, request.Aggregations);
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                aggregations.WriteTo(writer);
                writer.WriteEndObject();
            }

            answer.Append(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return answer.ToString();
    }

    [Fact]
    public async Task Search_QueriesSortsAndAggregationsOnValueColumns_CompactLayoutAnswersAsTextColumns()
    {
        using TestLogStore t = await BothLayoutsAsync();
        IReadOnlyList<LogSort>[] sorts =
        [
            [new LogSort("@timestamp", false)],
            [new LogSort("program", false), new LogSort("@timestamp", true)],
            [new LogSort("host", true), new LogSort("device_id", false), new LogSort("@timestamp", false)],
        ];
        int nonEmpty = 0;
        foreach (string body in Bodies)
        {
            foreach (IReadOnlyList<LogSort> sort in sorts)
            {
                string old = Answer(t.Store, OldIndex, body, sort);
                string compact = Answer(t.Store, NewIndex, body, sort);
                Assert.True(old == compact, $"{body} sorted by {string.Join(", ", sort)}:\n  text columns: {old}\n  value ids:    {compact}");
                nonEmpty += old.StartsWith("0:", StringComparison.Ordinal) ? 0 : 1;
            }
        }

        Assert.True(nonEmpty > Bodies.Length * 2, $"only {nonEmpty} answers were not empty");

        // The compact index holds ids: one row per distinct value, and integers in the rows.
        string db = t.Options.DatabasePath;
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT count(*) FROM values_2), (SELECT count(*) FROM docs_2 WHERE typeof(program) = 'integer')";
        using SqliteDataReader reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(Values.Count(v => v is not null), reader.GetInt64(0));
        Assert.Equal(Enumerable.Range(0, 200).Count(i => Values[i % Values.Length] is not null), reader.GetInt64(1));
    }

    [Fact]
    public async Task WriteAsync_MoreDistinctValuesThanTheBound_LaterOnesStoredAsTextAndFoundTheSame()
    {
        using var t = new TestLogStore();
        int count = LogStore.MaxValues + 50;
        var events = new List<LogEvent>(count);
        for (int i = 0; i < count; i++)
        {
            events.Add(TestLogStore.Event(May12.AddMilliseconds(i), "e", program: "p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                host: "h" + (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        await t.Store.WriteAsync(events);
        t.Reopen();
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddHours(1), "later", program: "p5", host: "h9")]);

        string index = t.Store.ListIndices()[0].Name;
        long Count(string body) => t.Store.Search(new LogSearch([index],
            QueryDslParser.Parse(Encoding.UTF8.GetBytes(body), new Dictionary<string, string>(), 10_000).Query, [], 0, 0), countOnly: true).Total;

        Assert.Equal(2, Count("""{"query":{"term":{"program":"p5"}}}"""));
        Assert.Equal(1, Count("{\"query\":{\"term\":{\"program\":\"p" + (count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"}}}"));
        Assert.Equal(1, Count("""{"query":{"term":{"host":"h9"}}}"""));
        Assert.True(count - 1 == 65_585, "the prefix below assumes the bound");
        Assert.Equal(7, Count("""{"query":{"prefix":{"program":"p6558"}}}""")); // p6558 has an id, p65580…p65585 are text
        List<LogHit> last = [.. t.Store.Search(new LogSearch([index], new MatchAllQuery(), [new LogSort("program", true)], 0, 2), countOnly: false).Hits];
        Assert.Equal(["p9999", "p9998"], last.Select(h => JsonNode.Parse(h.Source)!["program"]!.GetValue<string>()));
    }
}
