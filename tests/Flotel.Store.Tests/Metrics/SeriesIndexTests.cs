using System.Globalization;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class SeriesIndexTests
{
    private static string N(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static LabelSet Numbered(int n) => LabelSet.Of("__name__", "m", "group", "g" + N(n % 3), "n", N(n));

    /// <summary>The series key the store builds: UTF-8 <c>name 0xFF value 0xFF …</c> in name order.</summary>
    private static byte[] Key(LabelSet labels)
    {
        var key = new List<byte>();
        foreach (var l in labels)
        {
            key.AddRange(Encoding.UTF8.GetBytes(l.Name));
            key.Add(0xFF);
            key.AddRange(Encoding.UTF8.GetBytes(l.Value));
            key.Add(0xFF);
        }

        return [.. key];
    }

    private static LabelMatcher M(LabelMatchType type, string name, string value) => new(type, name, value);

    [Fact]
    public void Find_SeriesAddedFromLabelsOrFromStoredKey_ComparesTheKeyWithTheirPairs()
    {
        var index = new SeriesIndex();
        var zurich = LabelSet.Of("__name__", "m", "site", "Zürich");
        var plain = LabelSet.Of("__name__", "m", "site", "Zurich");
        var a = index.Add(1, hash: 7, zurich);
        var b = index.Add(2, hash: 7, Key(plain)); // the same hash: one chain

        Assert.Same(a, index.Find(Key(zurich), 7));
        Assert.Same(b, index.Find(Key(plain), 7));
        Assert.Null(index.Find(Key(LabelSet.Of("__name__", "m", "site", "Zürich", "x", "1")), 7));
        Assert.Null(index.Find(Key(zurich), 8));
        Assert.Equal(zurich, index.LabelsOf(a));
        Assert.Equal(plain, index.LabelsOf(b));
        Assert.Same(index.LabelsOf(a)[0].Value, index.LabelsOf(b)[0].Value); // "m": one pair, one string
        Assert.Equal("m", index.MetricNameOf(b));
        Assert.Equal(5, index.InternedStrings); // 2 names, 3 pairs (__name__="m" shared)
    }

    [Fact]
    public void Remove_HalfOfManySeriesInOneChain_LookupsPostingsAndSlotReuseStayRight()
    {
        var index = new SeriesIndex();
        var all = new MemSeries[3000];
        for (var n = 0; n < all.Length; n++)
        {
            // Every series in one of two hash chains: removal unlinks from the middle of long chains.
            all[n] = index.Add(n + 1, hash: n % 2 == 0 ? 1 : 1 << 20, Numbered(n));
        }

        index.Remove([.. all.Where((_, n) => n % 4 < 2)]);

        Assert.Equal(1500, index.Count);
        for (var n = 0; n < all.Length; n++)
        {
            var found = index.Find(Key(Numbered(n)), n % 2 == 0 ? 1 : 1 << 20);
            Assert.Equal(n % 4 < 2 ? null : all[n], found);
            var byValue = index.Resolve([M(LabelMatchType.Equal, "n", N(n))], default);
            Assert.Equal(n % 4 < 2 ? [] : [all[n]], byValue);
        }

        for (var g = 0; g < 3; g++)
        {
            var group = index.Resolve([M(LabelMatchType.Equal, "group", "g" + N(g))], default);
            Assert.Equal(Enumerable.Range(0, 3000).Where(n => n % 4 >= 2 && n % 3 == g).Select(n => all[n]), group);
        }

        var freed = all.Where((_, n) => n % 4 < 2).Select(s => s.Slot).ToHashSet();
        var again = index.Add(10_000, hash: 1, Numbered(0));
        Assert.Contains(again.Slot, freed);
        Assert.Same(again, index.Find(Key(Numbered(0)), 1));
        Assert.Equal([again], index.Resolve([M(LabelMatchType.Equal, "n", "0")], default));
        Assert.Equal(1501, index.Count);
    }

    [Fact]
    public void Remove_EverySeries_LeavesNoPairOrName()
    {
        var index = new SeriesIndex();
        var all = Enumerable.Range(0, 100).Select(n => index.Add(n, n, Numbered(n))).ToList();
        Assert.Equal(3 + 1 + 3 + 100, index.InternedStrings);

        index.Remove(all);

        Assert.Equal(0, index.Count);
        Assert.Equal(0, index.InternedStrings);
        Assert.Empty(index.All());
        Assert.Empty(index.Resolve([M(LabelMatchType.RegexMatch, "n", ".*")], default));
    }

    [Fact]
    public void Resolve_EveryMatcherType_AbsentLabelReadsAsEmpty()
    {
        var index = new SeriesIndex();
        var a = index.Add(1, 1, LabelSet.Of("__name__", "up", "job", "node", "zone", "a"));
        var b = index.Add(2, 2, LabelSet.Of("__name__", "up", "job", "api"));
        var c = index.Add(3, 3, LabelSet.Of("__name__", "down", "job", "node", "zone", "b"));

        Assert.Equal([a, b], index.Resolve([M(LabelMatchType.Equal, "__name__", "up")], default));
        Assert.Equal([a, c], index.Resolve([M(LabelMatchType.NotEqual, "job", "api")], default));
        Assert.Equal([a, c], index.Resolve([M(LabelMatchType.RegexMatch, "zone", "a|b")], default));
        Assert.Equal([b], index.Resolve([M(LabelMatchType.RegexNoMatch, "zone", ".+")], default));
        Assert.Equal([b], index.Resolve([M(LabelMatchType.Equal, "zone", "")], default));
        Assert.Equal([a, b, c], index.Resolve([M(LabelMatchType.Equal, "nothere", "")], default));
        Assert.Empty(index.Resolve([M(LabelMatchType.Equal, "nothere", "x")], default));
        Assert.Equal([a], index.Resolve([M(LabelMatchType.Equal, "job", "node"), M(LabelMatchType.RegexMatch, "zone", "a.*")], default));
        Assert.Empty(index.Resolve([M(LabelMatchType.Equal, "job", "node"), M(LabelMatchType.Equal, "__name__", "none")], default));
    }

    [Fact]
    public void Resolve_CancelledToken_Throws()
    {
        var index = new SeriesIndex();
        index.Add(1, 1, Numbered(1));
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() => index.Resolve([M(LabelMatchType.RegexMatch, "n", ".*")], cts.Token));
    }

    [Fact]
    public void Remove_SeriesOnManySlotPages_LookupsAndMatchersFindOnlyTheRest()
    {
        // 20,000 series: more than two pages of slots (8,192 references each) and of buckets (16,384 ints).
        var index = new SeriesIndex();
        var all = new MemSeries[20_000];
        for (var n = 0; n < all.Length; n++)
        {
            all[n] = index.Add(n + 1, hash: n * 7919, Numbered(n));
        }

        index.Remove([.. all.Where(s => s.Id % 5 == 0)]);
        for (var n = 0; n < all.Length; n++)
        {
            var found = index.Find(Key(Numbered(n)), n * 7919);
            Assert.Equal(all[n].Id % 5 == 0 ? null : all[n], found);
        }

        var g1 = index.Resolve([M(LabelMatchType.Equal, "group", "g1")], CancellationToken.None);
        Assert.Equal(all.Where(s => s.Id % 5 != 0 && (s.Id - 1) % 3 == 1).Select(s => s.Id), g1.Select(s => s.Id));

        // Freed slots are taken again; the new series are found by key and by their shared pair.
        var again = index.Add(50_000, hash: 5, Numbered(30_001));
        Assert.Equal(0, (again.Slot + 1) % 5);
        Assert.Same(again, index.Find(Key(Numbered(30_001)), 5));
        Assert.Contains(again, index.Resolve([M(LabelMatchType.Equal, "group", "g1")], CancellationToken.None));
        Assert.Equal(16_001, index.Count);
    }

    [Fact]
    public void Resolve_MatchersOnValuesUniqueToEachSeries_SameAnswerAsStringsWithoutAStringPerCandidate()
    {
        var index = new SeriesIndex();
        var all = new MemSeries[20_000];
        for (var n = 0; n < all.Length; n++)
        {
            all[n] = index.Add(n + 1, hash: n, Numbered(n));
        }

        LabelMatcher[][] queries =
        [
            [M(LabelMatchType.RegexMatch, "n", "1[0-9]*7")],
            [M(LabelMatchType.RegexMatch, "n", "42|4242|x")],
            [M(LabelMatchType.RegexNoMatch, "n", "[0-9]*[1-9]"), M(LabelMatchType.NotEqual, "group", "g1")],
            [M(LabelMatchType.Equal, "__name__", "m"), M(LabelMatchType.Equal, "n", "19999")],
        ];
        foreach (var matchers in queries)
        {
            var expected = Enumerable.Range(0, all.Length).Where(n => matchers.All(m => m.Matches(Numbered(n)))).Select(n => (long)n + 1);
            Assert.Equal(expected, index.Resolve(matchers, CancellationToken.None).Select(s => s.Id));
        }

        // A string per candidate would be at least 32 bytes × 20,000.
        index.Resolve(queries[1], CancellationToken.None);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var found = index.Resolve(queries[1], CancellationToken.None);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 20_000);
        Assert.Equal(2, found.Count);
    }

    [Fact]
    public void LabelArena_GrowsByPagesAndDropsHolesOfRemovedSeries_LabelsStayRight()
    {
        var index = new SeriesIndex();
        var live = new Dictionary<int, MemSeries>();
        for (var n = 0; n < 12_000; n++)
        {
            live[n] = index.Add(n, n, Numbered(n)); // 3 pairs each: 36,000 ints over three 16,384-int pages
        }

        // A page holds 5,461 series and leaves one int unused at its end.
        Assert.Equal((36_002, 2, 3 * 16_384), index.ArenaSize);
        var gone = live.Where(e => e.Key % 4 != 0).ToList();
        index.Remove([.. gone.Select(e => e.Value)]);
        foreach (var (n, _) in gone)
        {
            live.Remove(n);
        }

        Assert.Equal((36_002, 27_002), (index.ArenaSize.Used, index.ArenaSize.Holes));
        var next = 12_000;
        while (index.ArenaSize.Used + 3 <= index.ArenaSize.Length)
        {
            live[next] = index.Add(next, next, Numbered(next));
            next++;
        }

        // The next series needs a new page and the holes outnumber half the live ids: the pages are rebuilt.
        live[next] = index.Add(next, next, Numbered(next));
        Assert.True(index.ArenaSize.Holes < live.Count * 3 / 16_384 + 1);
        Assert.Equal(live.Count * 3, index.ArenaSize.Used - index.ArenaSize.Holes);
        Assert.Equal(2 * 16_384, index.ArenaSize.Length);
        foreach (var (n, s) in live)
        {
            Assert.Equal(Numbered(n), index.LabelsOf(s));
            Assert.Same(s, index.Find(Key(Numbered(n)), n));
        }

        Assert.Equal(live.Count, index.Count);
        var empty = index.Add(99_999, 5, LabelSet.Empty);
        Assert.Equal(LabelSet.Empty, index.LabelsOf(empty));
        Assert.Same(empty, index.Find([], 5));
    }
}
