using System.Globalization;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class LabelPairsTests
{
    private static string N(int i) => i.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Add_SamePairFromCharsAndFromUtf8_OneIdOneStringOnePostingEach()
    {
        var pairs = new LabelPairs();
        var a = pairs.Add("job", "node", slot: 0, "job");
        var b = pairs.Add("job".AsSpan(), "node"u8, slot: 1);
        var c = pairs.Add("instance", "node", slot: 1);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(2, pairs.Count);
        Assert.Equal(2, pairs.NameCount);
        Assert.Equal("node", pairs.ValueOf(a));
        Assert.Same(pairs.ValueOf(a), pairs.ValueOf(b)); // a shared pair's value: one string, made once
        Assert.Same("job", pairs.NameOf(a)); // the name given first is the one kept
        Assert.Equal("job", pairs.NameOf(a));
        Assert.Equal([0, 1], pairs.Posting(a).ToArray());
        Assert.Equal([1], pairs.Posting(c).ToArray());
        Assert.True(pairs.TryFind("job", "node", out var found));
        Assert.Equal(a, found);
        Assert.False(pairs.TryFind("job", "nodes", out _));
        Assert.False(pairs.TryFind("region", "node", out _));
    }

    [Fact]
    public void Add_NonAsciiAndLongValues_AreDistinctPairs()
    {
        var pairs = new LabelPairs();
        var longValue = new string('x', 5000);
        var zurich = pairs.Add("site", "Zürich", 0);
        var plain = pairs.Add("site", "Zurich", 1);
        var big = pairs.Add("site", longValue, 2);

        Assert.Equal(3, new HashSet<int> { zurich, plain, big }.Count);
        Assert.Equal("Zürich", pairs.ValueOf(zurich));
        Assert.Equal(longValue, pairs.ValueOf(big));
        Assert.Equal(1, pairs.NameCount);
    }

    [Fact]
    public void ValueOf_UniqueAndSharedPairs_UniqueValuesAreUtf8OnlySharedOnesKeepAString()
    {
        var pairs = new LabelPairs();
        var unique = pairs.Add("instance", "10.0.0.1:9100", 0);
        var shared = pairs.Add("job", "node", 0);
        pairs.Add("job", "node", 1);

        Assert.False(pairs.HasValueString(unique));
        Assert.True(pairs.HasValueString(shared));
        Assert.Equal("10.0.0.1:9100", pairs.ValueOf(unique));
        Assert.Equal("10.0.0.1:9100"u8, pairs.Utf8Of(unique));
        Assert.Equal((13 + 4, 0, 65_536, 0), pairs.ValueArenaSize); // the two values' bytes, one page

        // Back to one series: the string stays until the pair goes.
        pairs.Unpost(shared, [1]);
        Assert.True(pairs.HasValueString(shared));
        pairs.Unpost(shared, [0]);
        Assert.False(pairs.HasValueString(shared));
    }

    [Fact]
    public void Add_ValueLongerThanAnArenaPage_IsKeptApartAndFoundAgain()
    {
        var pairs = new LabelPairs();
        var huge = new string('v', Utf8Arena.PageBytes + 1);
        var id = pairs.Add("blob", huge, 0);

        Assert.Equal(1, pairs.ValueArenaSize.Long);
        Assert.Equal(0, pairs.ValueArenaSize.Used);
        Assert.Equal(huge, pairs.ValueOf(id));
        Assert.True(pairs.TryFind("blob", huge, out var found));
        Assert.Equal(id, found);

        pairs.Unpost(id, [0]);
        Assert.Equal(0, pairs.ValueArenaSize.Long);
        Assert.False(pairs.TryFind("blob", huge, out _));
    }

    [Fact]
    public void ValueArena_RemovedPairsLeaveHoles_RebuiltWhenMoreThanHalfWithValuesIntact()
    {
        // 7-byte values: 9,362 in a 64 KiB page.
        var pairs = new LabelPairs();
        var ids = new Dictionary<int, int>();
        for (var i = 0; i < 20_000; i++)
        {
            ids[i] = pairs.Add("n", (1_000_000 + i).ToString(CultureInfo.InvariantCulture), slot: i);
        }

        Assert.Equal(3 * Utf8Arena.PageBytes, pairs.ValueArenaSize.Length);
        for (var i = 0; i < 20_000; i++)
        {
            if (i % 4 != 0)
            {
                pairs.Unpost(ids[i], [i]);
                ids.Remove(i);
            }
        }

        // Two full pages of 9,362 values (the 2 bytes left at each end are holes) and 1,276 on the third.
        Assert.Equal(((2 * 65_536) + (1_276 * 7), (15_000 * 7) + 4), (pairs.ValueArenaSize.Used, pairs.ValueArenaSize.Holes));

        // Values added until a page is needed: then the arena is rebuilt from the 5,000 live values and the new ones.
        var next = 20_000;
        while (pairs.ValueArenaSize.Used + 7 <= pairs.ValueArenaSize.Length)
        {
            ids[next] = pairs.Add("n", (1_000_000 + next).ToString(CultureInfo.InvariantCulture), slot: next);
            next++;
        }

        ids[next] = pairs.Add("n", (1_000_000 + next).ToString(CultureInfo.InvariantCulture), slot: next);
        Assert.Equal(ids.Count * 7, pairs.ValueArenaSize.Used - pairs.ValueArenaSize.Holes);
        Assert.True(pairs.ValueArenaSize.Length < 3 * Utf8Arena.PageBytes);
        foreach (var (i, id) in ids)
        {
            var value = (1_000_000 + i).ToString(CultureInfo.InvariantCulture);
            Assert.Equal(value, pairs.ValueOf(id));
            Assert.True(pairs.TryFind("n", value, out var found));
            Assert.Equal(id, found);
            Assert.Equal([i], pairs.Posting(id));
        }
    }

    [Fact]
    public void Posting_ManySeries_KeepsInsertionOrderAndGrowsByHalfWhenLarge()
    {
        var pairs = new LabelPairs();
        var id = 0;
        for (var slot = 0; slot < 5000; slot++)
        {
            id = pairs.Add("job", "node", slot);
        }

        Assert.Equal(Enumerable.Range(0, 5000), pairs.Posting(id).ToArray());
        var (count, capacity) = pairs.PostingSize(id);
        Assert.Equal(5000, count);
        // 2 → 4 → … → 1024 doubling, then 1536, 2304, 3456, 5184: at most half again what it holds.
        Assert.Equal(5184, capacity);
    }

    [Fact]
    public void Posting_LongerThanOnePage_ContinuesInPagesInInsertionOrder()
    {
        var pairs = new LabelPairs();
        var id = 0;
        var n = (2 * LabelPairs.PostingPageLength) + 100;
        for (var slot = 0; slot < n; slot++)
        {
            id = pairs.Add("job", "node", slot);
        }

        Assert.Equal(3, pairs.PostingPages(id));
        Assert.Equal(LabelPairs.PostingPageLength, pairs.PostingPage(id, 0).Length);
        Assert.Equal(100, pairs.PostingPage(id, 2).Length);
        Assert.Equal(Enumerable.Range(0, n), pairs.Posting(id));
        // Whole pages, none copied into a larger array: the room is at most one page more than the slots.
        Assert.Equal((n, 3 * LabelPairs.PostingPageLength), pairs.PostingSize(id));
    }

    [Fact]
    public void Unpost_AcrossPages_KeepsOrderDropsEmptyPagesThenReturnsToOneArray()
    {
        var pairs = new LabelPairs();
        var id = 0;
        var n = 3 * LabelPairs.PostingPageLength;
        for (var slot = 0; slot < n; slot++)
        {
            id = pairs.Add("job", "node", slot);
        }

        pairs.Unpost(id, [.. Enumerable.Range(0, n).Where(s => s % 3 == 0)]);
        var kept = Enumerable.Range(0, n).Where(s => s % 3 != 0).ToArray();
        Assert.Equal(kept, pairs.Posting(id));
        Assert.Equal((kept.Length, 2 * LabelPairs.PostingPageLength), pairs.PostingSize(id));

        // Posting again after a removal fills the pages from where the kept slots end.
        pairs.Add("job", "node", n);
        Assert.Equal([.. kept, n], pairs.Posting(id));

        pairs.Unpost(id, [.. Enumerable.Range(0, n + 1).Where(s => s >= 10)]);
        Assert.Equal([1, 2, 4, 5, 7, 8], pairs.Posting(id));
        Assert.Equal((6, 12), pairs.PostingSize(id)); // one array again, shrunk to twice its slots
        Assert.Equal(1, pairs.PostingPages(id));
    }

    [Fact]
    public void Unpost_RemovesOnlyTheGivenSlots_DownToOneThenNone()
    {
        var pairs = new LabelPairs();
        var id = 0;
        for (var slot = 0; slot < 10; slot++)
        {
            id = pairs.Add("job", "node", slot);
        }

        pairs.Unpost(id, [1, 3, 5, 7, 9, 42]);
        Assert.Equal([0, 2, 4, 6, 8], pairs.Posting(id).ToArray());

        pairs.Unpost(id, [0, 2, 4, 6]);
        Assert.Equal([8], pairs.Posting(id).ToArray());
        Assert.Equal((1, 1), pairs.PostingSize(id)); // back to the inline slot, no array

        pairs.Unpost(id, [7]);
        Assert.Equal([8], pairs.Posting(id).ToArray());

        pairs.Unpost(id, [8]);
        Assert.Equal(0, pairs.Count);
        Assert.Equal(0, pairs.NameCount);
        Assert.False(pairs.TryFind("job", "node", out _));
        Assert.Equal(-1, pairs.NameIdOf("job"));
    }

    [Fact]
    public void Unpost_MostOfALargePosting_ShrinksItsArray()
    {
        var pairs = new LabelPairs();
        var id = 0;
        for (var slot = 0; slot < 4096; slot++)
        {
            id = pairs.Add("job", "node", slot);
        }

        pairs.Unpost(id, [.. Enumerable.Range(0, 4000)]);

        Assert.Equal(Enumerable.Range(4000, 96), pairs.Posting(id).ToArray());
        Assert.Equal((96, 192), pairs.PostingSize(id));

        pairs.Unpost(id, [.. Enumerable.Range(4000, 96)]);
        Assert.Equal(0, pairs.Count);
        Assert.False(pairs.TryFind("job", "node", out _));
    }

    [Fact]
    public void Unpost_HalfOfManyUniquePairs_RestStayFoundAndFreedIdsAreReused()
    {
        // 20,000 pairs grow the bucket array many times; removing every other one unlinks from the middle of chains.
        var pairs = new LabelPairs();
        var ids = new int[20_000];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = pairs.Add("n", N(i), slot: i);
            pairs.Add("group", "g" + N(i % 3), slot: i);
        }

        Assert.Equal(20_003, pairs.Count);
        for (var i = 0; i < ids.Length; i += 2)
        {
            pairs.Unpost(ids[i], [i]);
        }

        Assert.Equal(10_003, pairs.Count);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(i % 2 == 1, pairs.TryFind("n", N(i), out var found));
            if (i % 2 == 1)
            {
                Assert.Equal(ids[i], found);
                Assert.Equal([i], pairs.Posting(found).ToArray());
            }
        }

        var freed = new HashSet<int>();
        for (var i = 0; i < ids.Length; i += 2)
        {
            freed.Add(ids[i]);
        }

        for (var i = 0; i < 10_000; i++)
        {
            Assert.Contains(pairs.Add("m", N(i), slot: 100_000 + i), freed);
        }

        Assert.Equal(20_003, pairs.Count);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(pairs.TryFind("m", N(i), out var found));
            Assert.Equal("m", pairs.NameOf(found));
            Assert.Equal(N(i), pairs.ValueOf(found));
            Assert.Equal([100_000 + i], pairs.Posting(found).ToArray());
        }
    }

    [Fact]
    public void NameOfARemovedPair_IsFreedAndItsIdReused()
    {
        var pairs = new LabelPairs();
        var a = pairs.Add("a", "1", 0);
        var b = pairs.Add("b", "1", 0);
        var nameB = pairs.NameIdOfPair(b);
        pairs.Unpost(b, [0]);

        Assert.Equal(-1, pairs.NameIdOf("b"));
        var c = pairs.Add("c", "1", 0);
        Assert.Equal(nameB, pairs.NameIdOfPair(c));
        Assert.Equal("c", pairs.NameOf(c));
        Assert.Equal("a", pairs.NameOf(a));
        Assert.Equal(2, pairs.NameCount);
    }
}
