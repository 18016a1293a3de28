using System.Text;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Wire.Logs;

namespace Flotel.Store.Tests.Logs;

public sealed class LogStorePagingTests
{
    private static readonly DateTime Day1 = new(2022, 5, 12, 10, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Day2 = new(2022, 5, 13, 10, 0, 0, DateTimeKind.Utc);

    // Two daily indices, many documents on few distinct timestamps: a page boundary falls inside runs of equal keys.
    private static async Task<TestLogStore> StoreWithTiesAsync(int perDay = 25)
    {
        var t = new TestLogStore();
        var events = new List<LogEvent>();
        for (int i = 0; i < perDay; i++)
        {
            events.Add(TestLogStore.Event(Day1.AddSeconds(i % 3), $"one {i}", program: i % 2 == 0 ? "even" : null));
            events.Add(TestLogStore.Event(Day2.AddSeconds(i % 3), $"two {i}", program: i % 2 == 0 ? "even" : null));
        }

        await t.Store.WriteAsync(events);
        return t;
    }

    private static string[] Indices(LogStore store) => [.. store.ListIndices().Select(i => i.Name)];

    private static List<string> PageThrough(LogStore store, IReadOnlyList<LogSort> sort, int size, LogSnapshot? snapshot = null)
    {
        var seen = new List<string>();
        IReadOnlyList<object?>? after = null;
        for (int pages = 0; pages < 1000; pages++)
        {
            LogSearchResult page = store.Search(new LogSearch(Indices(store), new Flotel.Store.Logs.MatchAllQuery(), sort, 0, size) { SearchAfter = after, Snapshot = snapshot }, countOnly: false);
            if (page.Hits.Count == 0)
            {
                return seen;
            }

            seen.AddRange(page.Hits.Select(h => h.Id));
            after = page.Hits[^1].SortValues;
        }

        throw new InvalidOperationException("paging did not end");
    }

    [Theory]
    [InlineData("@timestamp", true, 7)]
    [InlineData("@timestamp", false, 4)]
    [InlineData("program", false, 3)]
    [InlineData("program", true, 5)]
    [InlineData("message", true, 6)]
    public async Task SearchAfter_SortWithTiesAndDocOrder_ReturnsEveryDocumentOnceInTheOneShotOrder(string field, bool descending, int size)
    {
        using TestLogStore t = await StoreWithTiesAsync();
        IReadOnlyList<LogSort> sort = SearchPaging.StoreSort([new LogSort(field, descending)], appendDocOrder: true);
        List<string> all = [.. t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), sort, 0, 1000), countOnly: false).Hits.Select(h => h.Id)];

        List<string> paged = PageThrough(t.Store, sort, size);

        Assert.Equal(50, all.Count);
        Assert.Equal(all, paged);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SearchAfter_DocumentsWithoutTimestamp_ComeLastAndOnce(bool descending)
    {
        using var t = new TestLogStore();
        var documents = new List<LogDocument>();
        for (int i = 0; i < 30; i++)
        {
            string json = i % 4 == 0 ? $$"""{"message":"no time {{i}}"}""" : $$"""{"@timestamp":"2022-05-12T10:00:0{{i % 3}}Z","message":"m {{i}}"}""";
            documents.Add(new LogDocument("logs", "d" + i, Encoding.UTF8.GetBytes(json)));
        }

        _ = await t.Store.WriteDocumentsAsync(documents);
        IReadOnlyList<LogSort> sort = SearchPaging.StoreSort([new LogSort("@timestamp", descending)], appendDocOrder: true);
        List<string> all = [.. t.Store.Search(new LogSearch(["logs"], new Flotel.Store.Logs.MatchAllQuery(), sort, 0, 100), countOnly: false).Hits.Select(h => h.Id)];

        List<string> paged = PageThrough(t.Store, sort, 4);

        Assert.Equal(30, paged.Count);
        Assert.Equal(all, paged);
        Assert.All(paged[^8..], id => Assert.Equal(0, int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) % 4));
    }

    [Fact]
    public async Task SearchAfter_DocOrderDescending_WalksBothIndicesBackwards()
    {
        using TestLogStore t = await StoreWithTiesAsync();
        IReadOnlyList<LogSort> sort = [new LogSort("_doc", true)];

        List<string> paged = PageThrough(t.Store, sort, 6);

        List<string> forward = PageThrough(t.Store, [new LogSort("_doc", false)], 9);
        Assert.Equal(50, paged.Count);
        Assert.Equal(Enumerable.Reverse(forward), paged);
    }

    [Fact]
    public async Task SearchAfter_WithoutTheDocOrderValue_SkipsHitsEqualOnEveryKey()
    {
        using TestLogStore t = await StoreWithTiesAsync();
        IReadOnlyList<LogSort> sort = SearchPaging.StoreSort([new LogSort("@timestamp", false)], appendDocOrder: true);
        LogSearchResult first = t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), sort, 0, 1), countOnly: false);

        // Only the timestamp: everything at that timestamp is passed over, as Elasticsearch does without a tie-breaker.
        LogSearchResult next = t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), sort, 0, 100) { SearchAfter = [first.Hits[0].SortValues[0]] }, countOnly: false);

        Assert.Equal(50, next.Total);
        Assert.Equal(50 - 9, next.Hits.Count);
        Assert.DoesNotContain(next.Hits, h => Equals(h.SortValues[0], first.Hits[0].SortValues[0]));
    }

    [Fact]
    public async Task SearchAfter_TimestampAsDateText_IsReadAsMilliseconds()
    {
        using TestLogStore t = await StoreWithTiesAsync();
        IReadOnlyList<LogSort> sort = [new LogSort("@timestamp", false)];

        LogSearchResult next = t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), sort, 0, 100) { SearchAfter = ["2022-05-13T10:00:01Z"] }, countOnly: false);

        Assert.Equal(8, next.Hits.Count); // day 2, second 2: i % 3 == 2 for 8 of 25
    }

    [Fact]
    public async Task SearchAfter_DocValueThatIsNotANumber_IsRefused()
    {
        using TestLogStore t = await StoreWithTiesAsync();

        Assert.Throws<LogQueryException>(() => t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), [new LogSort("_doc", false)], 0, 10) { SearchAfter = ["x"] }, countOnly: false));
    }

    [Fact]
    public async Task Snapshot_DocumentsAndIndicesWrittenLater_AreInvisible()
    {
        using TestLogStore t = await StoreWithTiesAsync();
        LogSnapshot snapshot = t.Store.Snapshot(Indices(t.Store));

        await t.Store.WriteAsync([TestLogStore.Event(Day1, "later one"), TestLogStore.Event(Day2.AddDays(1), "later three")]);
        string[] now = Indices(t.Store);
        LogSearchResult frozen = t.Store.Search(new LogSearch(now, new Flotel.Store.Logs.MatchAllQuery(), [new LogSort("_doc", false)], 0, 1000) { Snapshot = snapshot }, countOnly: false);
        LogSearchResult live = t.Store.Search(new LogSearch(now, new Flotel.Store.Logs.MatchAllQuery(), [new LogSort("_doc", false)], 0, 1000), countOnly: false);

        Assert.Equal(3, now.Length);
        Assert.Equal(50, frozen.Total);
        Assert.Equal(50, frozen.Hits.Count);
        Assert.Equal(52, live.Total);
        Assert.DoesNotContain(frozen.Hits, h => h.Source.Contains("later", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Snapshot_IndexDroppedAndRecreatedUnderTheSameName_StaysInvisible()
    {
        using var t = new TestLogStore();
        await t.Store.WriteAsync([TestLogStore.Event(Day1, "old")]);
        LogSnapshot snapshot = t.Store.Snapshot(Indices(t.Store));
        Assert.True(await t.Store.DeleteIndexAsync("logstash-2022.05.12"));
        await t.Store.WriteAsync([TestLogStore.Event(Day1, "new")]);

        LogSearchResult frozen = t.Store.Search(new LogSearch(Indices(t.Store), new Flotel.Store.Logs.MatchAllQuery(), [], 0, 10) { Snapshot = snapshot }, countOnly: false);

        Assert.Equal(0, frozen.Total);
        Assert.Empty(frozen.Hits);
    }

    [Fact]
    public async Task Snapshot_DocumentReplacedById_LeavesTheSnapshot()
    {
        using var t = new TestLogStore();
        byte[] doc = Encoding.UTF8.GetBytes("""{"@timestamp":"2022-05-12T10:00:00Z","message":"v1"}""");
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", doc), new LogDocument("logs", "b", doc)]);
        LogSnapshot snapshot = t.Store.Snapshot(["logs"]);
        _ = await t.Store.WriteDocumentsAsync([new LogDocument("logs", "a", Encoding.UTF8.GetBytes("""{"message":"v2"}"""))]);

        LogSearchResult frozen = t.Store.Search(new LogSearch(["logs"], new Flotel.Store.Logs.MatchAllQuery(), [], 0, 10) { Snapshot = snapshot }, countOnly: false);

        Assert.Equal(["b"], frozen.Hits.Select(h => h.Id));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(1, false)]
    [InlineData(4, false)]
    public void StoreSearchAfter_ValueCount_MustFitTheSortWithOrWithoutTheDocOrder(int count, bool accepted)
    {
        IReadOnlyList<LogSort> sort = [new LogSort("@timestamp", true), new LogSort("_score", true)];
        object?[] values = [.. Enumerable.Repeat<object?>(1L, count)];

        if (accepted)
        {
            // _score's value is dropped: the store does not sort on it.
            Assert.Equal(count - 1, SearchPaging.StoreSearchAfter(sort, appendDocOrder: true, values).Count);
        }
        else
        {
            ElasticsearchException e = Assert.Throws<ElasticsearchException>(() => SearchPaging.StoreSearchAfter(sort, appendDocOrder: true, values));
            Assert.Equal(400, e.Status);
        }
    }

    [Fact]
    public void AppendsDocOrder_SortNamingDocOrShardDoc_AddsNothing()
    {
        Assert.False(SearchPaging.AppendsDocOrder([new LogSort("@timestamp", true), new LogSort("_shard_doc", false)], pages: true));
        Assert.False(SearchPaging.AppendsDocOrder([], pages: false));
        Assert.True(SearchPaging.AppendsDocOrder([], pages: true));
        Assert.True(SearchPaging.AppendsDocOrder([new LogSort("host", false)], pages: false));
    }
}
