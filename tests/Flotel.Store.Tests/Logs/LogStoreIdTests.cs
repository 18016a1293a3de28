using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Flotel.Wire.Logs;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// Generated <c>_id</c>s computed from the row (<see cref="LogDocumentId"/>): nothing stored for them, and every way of
/// naming a document by id answers as when they were stored text, in indices of both layouts.
/// </summary>
public sealed class LogStoreIdTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 0, 0, DateTimeKind.Utc);
    private const string OldIndex = "logstash-2022.05.12";
    private const string NewIndex = "logstash-2022.05.13";

    private static long Scalar(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static LogSearchResult Find(LogStore store, string index, LogQuery query, int size = 100, params LogSort[] sort) =>
        store.Search(new LogSearch([index], query, sort, 0, size), countOnly: false);

    private static string Message(LogHit hit) => JsonNode.Parse(hit.Source)!["message"]!.GetValue<string>();

    // An index of the layout before (ids stored as NOT NULL text) and one of the current layout, 20 events each.
    private static async Task<TestLogStore> BothLayoutsAsync()
    {
        TestLogStore t = TestLogStore.WithPreviousLayoutIndex(OldIndex);
        await t.Store.WriteAsync([.. Enumerable.Range(0, 40).Select(i =>
            TestLogStore.Event(May12.AddDays(i / 20).AddSeconds(i), "event " + (i % 20).ToString(System.Globalization.CultureInfo.InvariantCulture)))]);
        return t;
    }

    [Fact]
    public void ForRow_RoundTrips_AndNoOtherTextNamesTheRow()
    {
        byte[] key = LogDocumentId.KeyOf("uuid0000000000000000aa");
        byte[] other = LogDocumentId.KeyOf("uuid0000000000000000ab");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (long rowId in new long[] { 1, 2, 255, 256, 1L << 40, (1L << 48) - 1 })
        {
            string id = LogDocumentId.ForRow(key, rowId);
            Assert.Equal(LogDocumentId.Length, id.Length);
            Assert.DoesNotContain(id, c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
            Assert.True(LogDocumentId.TryRowOf(key, id, out long back));
            Assert.Equal(rowId, back);
            Assert.False(LogDocumentId.TryRowOf(other, id, out _));
            Assert.False(LogDocumentId.TryRowOf(key, id.AsSpan(0, id.Length - 1), out _));
            Assert.False(LogDocumentId.TryRowOf(key, id[..10] + " " + id[10..^1], out _));
            Assert.False(LogDocumentId.TryRowOf(key, "!" + id[1..], out _));
            Assert.True(ids.Add(id));
        }

        Assert.False(LogDocumentId.TryRowOf(key, LogDocumentId.New(), out _));
        Assert.NotEqual(LogDocumentId.ForRow(key, 7), LogDocumentId.ForRow(other, 7));
    }

    [Fact]
    public void KeyOf_TheStoresUuids_IsTheirOwnRandomBytes_AndDiffersPerUuid()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 1000; i++)
        {
            string uuid = LogDocumentId.NewIndexUuid();
            Assert.Equal(LogDocumentId.UuidLength, uuid.Length);
            byte[] bytes = System.Buffers.Text.Base64Url.DecodeFromChars(uuid);
            Assert.Equal(4, bytes[7] >> 4); // a version 4 Guid's bytes, as written

            byte[] key = LogDocumentId.KeyOf(uuid);
            Assert.Equal([.. bytes[2..8], .. bytes[9..], .. bytes[..2]], key);
            Assert.True(keys.Add(Convert.ToHexString(key.AsSpan(6))));
        }
    }

    [Fact]
    public void KeyOf_AUuidInAnotherSpelling_IsKeyedByItsText()
    {
        // "…aa" and "…ab" decode to the same 16 bytes (the last character's unused bits differ); neither is canonical.
        byte[] a = LogDocumentId.KeyOf("uuid0000000000000000aa");
        byte[] b = LogDocumentId.KeyOf("uuid0000000000000000ab");
        Assert.Equal(LogDocumentId.KeyBytes, a.Length);
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, LogDocumentId.KeyOf("short"));
    }

    [Fact]
    public async Task WriteAsync_GeneratedIds_AreNotStoredAndNameTheirDocumentsEverywhere()
    {
        using TestLogStore t = await BothLayoutsAsync();
        string db = t.Options.DatabasePath;
        Assert.Equal(20, Scalar(db, "SELECT count(*) FROM docs_2 WHERE id IS NULL"));
        Assert.Equal(0, Scalar(db, "SELECT count(*) FROM docs_1 WHERE id IS NULL"));

        foreach (string index in new[] { OldIndex, NewIndex })
        {
            List<LogHit> hits = Find(t.Store, index, MatchAllQuery.Instance).Hits.ToList();
            Assert.Equal(20, hits.Select(h => h.Id).Distinct().Count());
            LogHit third = hits[3];
            Assert.Equal(third.Source, t.Store.Get(index, third.Id)!.Source);
            Assert.Equal(third.Source, Assert.Single(t.Store.GetMany(index, [third.Id, "missing"])).Value.Source);

            LogSearchResult byIds = Find(t.Store, index, new TermsQuery("_id", [hits[1].Id, hits[5].Id, "nope"]));
            Assert.Equal(new[] { hits[1].Id, hits[5].Id }.Order(StringComparer.Ordinal), byIds.Hits.Select(h => h.Id).Order(StringComparer.Ordinal));
            Assert.Equal(2, byIds.Total);
            Assert.Equal(18, Find(t.Store, index, new BoolQuery([], [], [], [new TermsQuery("_id", [hits[1].Id, hits[5].Id])], null)).Total);

            // Sorted by _id: the ids' own order, whatever stores them.
            List<string> sorted = [.. Find(t.Store, index, MatchAllQuery.Instance, 100, new LogSort("_id", false)).Hits.Select(h => h.Id)];
            Assert.Equal(hits.Select(h => h.Id).Order(StringComparer.Ordinal), sorted);
            Assert.Equal(hits[7].Id, Assert.Single(Find(t.Store, index, new PrefixQuery("_id", hits[7].Id)).Hits).Id);
            Assert.Equal(hits[9].Id, Assert.Single(Find(t.Store, index, new RangeQuery("_id", null, hits[9].Id, null, hits[9].Id)).Hits).Id);
        }

        // The same id in two indices names nothing in the other.
        string newId = Find(t.Store, NewIndex, MatchAllQuery.Instance, 1).Hits[0].Id;
        Assert.Null(t.Store.Get(OldIndex, newId));
        Assert.Equal(0, Find(t.Store, OldIndex, new TermsQuery("_id", [newId])).Total);
    }

    [Fact]
    public async Task Aggregate_TermsOnId_CountsEachGeneratedId()
    {
        using TestLogStore t = await BothLayoutsAsync();
        List<string> ids = [.. Find(t.Store, NewIndex, MatchAllQuery.Instance).Hits.Select(h => h.Id)];
        AggregationResults results = t.Store.Aggregate([NewIndex], MatchAllQuery.Instance,
            [new TermsAggregation("ids", "_id", 100, 1, [new TermsOrder("_key", false)], null)]);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            results.WriteTo(writer);
            writer.WriteEndObject();
        }

        JsonArray buckets = JsonNode.Parse(buffer.ToArray())!["aggregations"]!["ids"]!["buckets"]!.AsArray();
        Assert.Equal(ids.Order(StringComparer.Ordinal), buckets.Select(b => b!["key"]!.GetValue<string>()));
        Assert.All(buckets, b => Assert.Equal(1, b!["doc_count"]!.GetValue<long>()));
    }

    [Fact]
    public async Task WriteDocumentsAsync_GivenIdOfAGeneratedDocument_ReplacesItOrConflicts()
    {
        using TestLogStore t = await BothLayoutsAsync();
        foreach (string index in new[] { OldIndex, NewIndex })
        {
            LogHit hit = Find(t.Store, index, MatchAllQuery.Instance, 1).Hits[0];
            Assert.True(t.Store.ContainsId(index, hit.Id) is true or null);
            byte[] replacement = Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T20:00:00Z","message":"replacement"}""");

            LogDocumentResult[] created = await t.Store.WriteDocumentsAsync([new LogDocument(index, hit.Id, replacement, CreateOnly: true)]);
            Assert.Equal(LogDocumentOutcome.Conflict, created[0].Outcome);
            LogDocumentResult[] updated = await t.Store.WriteDocumentsAsync([new LogDocument(index, hit.Id, replacement)]);
            Assert.Equal(LogDocumentOutcome.Updated, updated[0].Outcome);
            Assert.Equal(hit.Id, updated[0].Id);

            Assert.Equal(20, Find(t.Store, index, MatchAllQuery.Instance).Total);
            Assert.Equal("replacement", Message(Assert.Single(Find(t.Store, index, new TermsQuery("_id", [hit.Id])).Hits)));
            Assert.Equal("replacement", JsonNode.Parse(t.Store.Get(index, hit.Id)!.Source)!["message"]!.GetValue<string>());
            Assert.True(t.Store.ContainsId(index, hit.Id));
        }
    }

    [Fact]
    public async Task WriteDocumentsAsync_NoId_ReturnsTheGeneratedIdThatFindsIt()
    {
        using TestLogStore t = await BothLayoutsAsync();
        byte[] source = Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-13T20:00:00Z","message":"posted"}""");
        LogDocumentResult[] results = await t.Store.WriteDocumentsAsync([new LogDocument(NewIndex, null, source), new LogDocument(OldIndex, null, source)]);

        Assert.All(results, r => Assert.Equal(LogDocumentOutcome.Created, r.Outcome));
        Assert.Equal("posted", JsonNode.Parse(t.Store.Get(NewIndex, results[0].Id)!.Source)!["message"]!.GetValue<string>());
        Assert.Equal("posted", JsonNode.Parse(t.Store.Get(OldIndex, results[1].Id)!.Source)!["message"]!.GetValue<string>());
        Assert.Equal(0, Scalar(t.Options.DatabasePath, "SELECT count(*) FROM docs_2 WHERE id IS NOT NULL"));
    }

    [Fact]
    public async Task WriteDocumentsAsync_GivenIdNamingARowNotWrittenYet_IsRefused()
    {
        using TestLogStore t = await BothLayoutsAsync();
        LogHit last = Find(t.Store, NewIndex, MatchAllQuery.Instance, 1, new LogSort("@timestamp", true)).Hits[0];
        Assert.True(LogDocumentId.TryRowOf(LogDocumentId.KeyOf(t.Store.ListIndices().Single(i => i.Name == NewIndex).Uuid), last.Id, out long rowId));
        string future = LogDocumentId.ForRow(LogDocumentId.KeyOf(t.Store.ListIndices().Single(i => i.Name == NewIndex).Uuid), rowId + 1);
        byte[] source = Encoding.UTF8.GetBytes("""{"message":"crafted"}""");

        LogDocumentResult[] results = await t.Store.WriteDocumentsAsync([new LogDocument(NewIndex, future, source)]);
        Assert.Equal(LogDocumentOutcome.Invalid, results[0].Outcome);
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddDays(1).AddHours(1), "the next generated row")]);
        Assert.Equal("the next generated row", JsonNode.Parse(t.Store.Get(NewIndex, future)!.Source)!["message"]!.GetValue<string>());
        Assert.Equal(1, Find(t.Store, NewIndex, new TermsQuery("_id", [future])).Total);
    }

    [Fact]
    public async Task Reopen_GeneratedIds_StayTheSame()
    {
        using TestLogStore t = await BothLayoutsAsync();
        List<string> before = [.. Find(t.Store, NewIndex, MatchAllQuery.Instance).Hits.Select(h => h.Id)];
        t.Reopen();
        Assert.Equal(before, Find(t.Store, NewIndex, MatchAllQuery.Instance).Hits.Select(h => h.Id));
    }
}
