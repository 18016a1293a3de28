using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Store.Metrics;

/// <summary>
/// The metric store's in-memory index of every series (guarded by the store's lock).
/// <code>
/// slots    table of MemSeries?: a series' slot is its 32-bit id in postings; freed slots are reused
/// lookup   power-of-two bucket table of slot + 1, chained through MemSeries.NextInBucket, by series key hash
/// labels   ids of interned name/value pairs (<see cref="LabelPairs"/>, which hold the postings), every series' ids in
///          one int arena of 64 KiB pages (MemSeries.PairsStart, PairsCount): no array object per series, and no large
///          array copied or left behind as the arena grows. A removed series leaves a hole; when a new page is needed
///          and holes are more than half the live ids, the pages are rebuilt with the live series only
/// </code>
/// The slot and bucket tables are in 64 KiB pages (<see cref="PagedArray{T}"/>, no large array left free as they grow).
/// Label sets are built from the pairs when asked for (a query's selected series), never kept per series.
/// </summary>
internal sealed class SeriesIndex
{
    private const byte KeySeparator = 0xFF;

    /// <summary>Buckets and slots at open (powers of two; doubled when the series outnumber them).</summary>
    private const int InitialSize = 1024;

    /// <summary>Ints per label arena page: 64 KiB, below the runtime's large object size (85,000 bytes), so pages are compacted like any object.</summary>
    private const int ArenaPageShift = 14;

    private const int ArenaPage = 1 << ArenaPageShift;

    private readonly LabelPairs _pairs = new();
    private readonly PagedArray<MemSeries?> _slots = new(InitialSize);
    private int _highWater;
    private readonly Stack<int> _freeSlots = new();
    private PagedArray<int> _buckets = new(InitialSize);
    private List<int[]> _arena = [];
    private int _arenaUsed;
    private int _arenaHoles;
    private readonly List<int> _scratchPairs = [];
    private char[] _nameChars = new char[64];
    private char[] _valueChars = new char[256];

    /// <summary>Series held.</summary>
    public int Count { get; private set; }

    /// <summary>Distinct label names plus distinct name/value pairs (each pair holds its value once, as UTF-8).</summary>
    public int InternedStrings => _pairs.Count + _pairs.NameCount;

    /// <summary>The pair table; for tests.</summary>
    internal LabelPairs Pairs => _pairs;

    /// <summary>The label arena: ints written (live and holes), ints of removed series, length; for tests.</summary>
    internal (int Used, int Holes, int Length) ArenaSize => (_arenaUsed, _arenaHoles, _arena.Count * ArenaPage);

    /// <summary>Ids of the label pairs of <paramref name="series"/>, in name order; valid until the next series is added.</summary>
    public ReadOnlySpan<int> PairsOf(MemSeries series) => ArenaSpan(series.PairsStart, series.PairsCount);

    /// <summary>The series whose key is <paramref name="key"/> (hash <paramref name="hash"/>), if held.</summary>
    public MemSeries? Find(ReadOnlySpan<byte> key, int hash)
    {
        for (var slot = _buckets[hash & (_buckets.Length - 1)] - 1; slot >= 0;)
        {
            var s = _slots[slot]!;
            if (s.Hash == hash && KeyEquals(key, s))
            {
                return s;
            }

            slot = s.NextInBucket - 1;
        }

        return null;
    }

    /// <summary>A new series with the labels of a remote-write request (sorted by name, no empty value).</summary>
    public MemSeries Add(long id, int hash, SeriesLabels labels)
    {
        var series = NewSeries(id, hash);
        Reserve(series, labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            ArenaSpan(series.PairsStart, labels.Count)[i] =
                _pairs.Add(Decode(labels.GetName(i), ref _nameChars), labels.GetValue(i), series.Slot);
        }

        return series;
    }

    /// <summary>A new series with <paramref name="labels"/> (no empty value); new names keep its strings.</summary>
    public MemSeries Add(long id, int hash, LabelSet labels)
    {
        var series = NewSeries(id, hash);
        Reserve(series, labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            var l = labels[i];
            ArenaSpan(series.PairsStart, labels.Count)[i] = _pairs.Add(l.Name, l.Value, series.Slot, l.Name);
        }

        return series;
    }

    /// <summary>A new series from its stored key (<c>name 0xFF value 0xFF …</c>, sorted by name).</summary>
    public MemSeries Add(long id, int hash, ReadOnlySpan<byte> key)
    {
        var series = NewSeries(id, hash);
        var pairs = _scratchPairs;
        pairs.Clear();
        while (!key.IsEmpty)
        {
            var n = key.IndexOf(KeySeparator);
            var name = Decode(key[..n], ref _nameChars);
            key = key[(n + 1)..];
            var v = key.IndexOf(KeySeparator);
            pairs.Add(_pairs.Add(name, key[..v], series.Slot));
            key = key[(v + 1)..];
        }

        Reserve(series, pairs.Count);
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pairs).CopyTo(ArenaSpan(series.PairsStart, pairs.Count));
        return series;
    }

    /// <summary>Removes every series of <paramref name="batch"/>: one pass over each posting they are in, however many go.</summary>
    public void Remove(IReadOnlyCollection<MemSeries> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var slots = new HashSet<int>(batch.Count);
        var touched = new HashSet<int>();
        foreach (var s in batch)
        {
            Unlink(s);
            _slots[s.Slot] = null;
            slots.Add(s.Slot);
            foreach (var pair in PairsOf(s))
            {
                touched.Add(pair);
            }

            _arenaHoles += s.PairsCount;
            Count--;
        }

        foreach (var pair in touched)
        {
            _pairs.Unpost(pair, slots);
        }

        foreach (var slot in slots)
        {
            _freeSlots.Push(slot);
        }
    }

    /// <summary>Every series held, in slot order.</summary>
    public IEnumerable<MemSeries> All()
    {
        for (var slot = 0; slot < _highWater; slot++)
        {
            if (_slots[slot] is { } s)
            {
                yield return s;
            }
        }
    }

    /// <summary>The labels of <paramref name="series"/> (a new set sharing the interned strings).</summary>
    public LabelSet LabelsOf(MemSeries series)
    {
        var pairs = PairsOf(series);
        var labels = new Label[pairs.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = new Label(_pairs.NameOf(pairs[i]), _pairs.ValueOf(pairs[i]));
        }

        return LabelSet.UnsafeFromSorted(labels);
    }

    /// <summary>
    /// The labels of <paramref name="series"/> named in <paramref name="names"/> (those it has), in name order: an
    /// aggregation's grouping labels without the rest of the set.
    /// </summary>
    public LabelSet LabelsOf(MemSeries series, IReadOnlyList<string> names)
    {
        var kept = new List<Label>(names.Count);
        foreach (var pair in PairsOf(series))
        {
            var name = _pairs.NameOf(pair);
            foreach (var wanted in names)
            {
                if (string.Equals(name, wanted, StringComparison.Ordinal))
                {
                    kept.Add(new Label(name, _pairs.ValueOf(pair)));
                    break;
                }
            }
        }

        return kept.Count == 0 ? LabelSet.Empty : LabelSet.UnsafeFromSorted([.. kept]);
    }

    /// <summary>
    /// Orders two series as their label sets compare (label by label, name then value, ordinal UTF-16, shorter set first:
    /// Prometheus's labels.Compare, PromEngine.CompareLabels) without making the sets: equal pairs are equal ids, and
    /// values are compared as UTF-8, which orders as UTF-16 up to the first non-ASCII difference.
    /// </summary>
    public int CompareLabels(MemSeries a, MemSeries b)
    {
        var x = PairsOf(a);
        var y = PairsOf(b);
        var n = Math.Min(x.Length, y.Length);
        for (var i = 0; i < n; i++)
        {
            if (x[i] == y[i])
            {
                continue;
            }

            var c = _pairs.NameIdOfPair(x[i]) == _pairs.NameIdOfPair(y[i]) ? 0 : string.CompareOrdinal(_pairs.NameOf(x[i]), _pairs.NameOf(y[i]));
            if (c != 0)
            {
                return c;
            }

            c = CompareValues(x[i], y[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return x.Length.CompareTo(y.Length);
    }

    private int CompareValues(int pair, int other)
    {
        var u = _pairs.Utf8Of(pair);
        var v = _pairs.Utf8Of(other);
        var at = u.CommonPrefixLength(v);
        if (at == u.Length || at == v.Length)
        {
            return u.Length.CompareTo(v.Length);
        }

        if (u[at] < 0x80 && v[at] < 0x80)
        {
            return u[at].CompareTo(v[at]);
        }

        // UTF-8 orders by code point; UTF-16 puts a surrogate pair (above U+FFFF) before U+E000..U+FFFF.
        return string.CompareOrdinal(_pairs.ValueOf(pair), _pairs.ValueOf(other));
    }

    /// <summary>Adds the label names of <paramref name="series"/> to <paramref name="names"/>.</summary>
    public void AddNames(MemSeries series, ISet<string> names)
    {
        foreach (var pair in PairsOf(series))
        {
            names.Add(_pairs.NameOf(pair));
        }
    }

    /// <summary>The value of label <paramref name="name"/> of <paramref name="series"/> (empty when it has none).</summary>
    public string ValueOf(MemSeries series, string name) => ValueOf(series, _pairs.NameIdOf(name));

    /// <summary>The value of <c>__name__</c> of <paramref name="series"/> (empty when it has none).</summary>
    public string MetricNameOf(MemSeries series) => ValueOf(series, _pairs.NameIdOf(Label.MetricNameLabel));

    /// <summary>
    /// The series matching every matcher: the posting of the first non-empty equality matcher (else every series),
    /// filtered by all of them. <paramref name="cancellationToken"/> is looked at every
    /// <see cref="MetricStore.SeriesPerCancellationCheck"/> candidates: a regular expression over every series is the long case.
    /// </summary>
    public List<MemSeries> Resolve(IReadOnlyList<LabelMatcher> matchers, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var nameIds = new int[matchers.Count];
        for (var i = 0; i < nameIds.Length; i++)
        {
            nameIds[i] = _pairs.NameIdOf(matchers[i].Name);
        }

        var result = new List<MemSeries>();
        var checkIn = MetricStore.SeriesPerCancellationCheck;
        foreach (var m in matchers)
        {
            if (m.Type == LabelMatchType.Equal && m.Value.Length > 0)
            {
                if (_pairs.TryFind(m.Name, m.Value, out var pair))
                {
                    for (var page = 0; page < _pairs.PostingPages(pair); page++)
                    {
                        foreach (var slot in _pairs.PostingPage(pair, page))
                        {
                            Consider(_slots[slot]!, ref checkIn);
                        }
                    }
                }

                return result;
            }
        }

        for (var slot = 0; slot < _highWater; slot++)
        {
            if (_slots[slot] is { } s)
            {
                Consider(s, ref checkIn);
            }
        }

        return result;

        void Consider(MemSeries s, ref int checkIn)
        {
            if (--checkIn == 0)
            {
                checkIn = MetricStore.SeriesPerCancellationCheck;
                cancellationToken.ThrowIfCancellationRequested();
            }

            for (var i = 0; i < nameIds.Length; i++)
            {
                // A value unique to the series is decoded into a buffer, not made a string, for every candidate.
                if (!matchers[i].Matches(ValueChars(s, nameIds[i])))
                {
                    return;
                }
            }

            result.Add(s);
        }
    }

    /// <summary>
    /// The value of the label with name id <paramref name="nameId"/> in <paramref name="series"/> (empty when absent), as
    /// characters valid until the next call.
    /// </summary>
    private ReadOnlySpan<char> ValueChars(MemSeries series, int nameId)
    {
        if (nameId >= 0)
        {
            foreach (var pair in PairsOf(series))
            {
                if (_pairs.NameIdOfPair(pair) == nameId)
                {
                    return _pairs.ValueChars(pair, ref _valueChars);
                }
            }
        }

        return [];
    }

    /// <summary>The value of the label with name id <paramref name="nameId"/> in <paramref name="series"/>; empty when absent.</summary>
    private string ValueOf(MemSeries series, int nameId)
    {
        if (nameId >= 0)
        {
            foreach (var pair in PairsOf(series))
            {
                if (_pairs.NameIdOfPair(pair) == nameId)
                {
                    return _pairs.ValueOf(pair);
                }
            }
        }

        return string.Empty;
    }

    private MemSeries NewSeries(long id, int hash)
    {
        if (!_freeSlots.TryPop(out var slot))
        {
            _slots.Grow(_highWater + 1);

            slot = _highWater++;
        }

        if (++Count > _buckets.Length)
        {
            GrowBuckets();
        }

        var series = new MemSeries(id, slot, hash);
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        series.NextInBucket = bucket;
        bucket = slot + 1;
        _slots[slot] = series;
        return series;
    }

    /// <summary>
    /// Gives <paramref name="series"/> room for <paramref name="count"/> pair ids at the end of the arena (never across a
    /// page end: the rest of a page too short for them is a hole). When a new page is needed and the holes outnumber half
    /// the live ids, the pages are first rebuilt from the live series.
    /// </summary>
    /// <exception cref="ArgumentException">More labels than a page holds (the remote-write limit is far lower).</exception>
    private void Reserve(MemSeries series, int count)
    {
        if (count > ArenaPage)
        {
            throw new ArgumentException($"a series has at most {ArenaPage} labels");
        }

        if (_arenaUsed + count > _arena.Count * ArenaPage && _arenaHoles > (_arenaUsed - _arenaHoles) / 2)
        {
            Compact();
        }

        Place(series, count);
    }

    private void Place(MemSeries series, int count)
    {
        var inPage = _arenaUsed & (ArenaPage - 1);
        if (inPage + count > ArenaPage)
        {
            _arenaHoles += ArenaPage - inPage;
            _arenaUsed += ArenaPage - inPage;
        }

        if (_arenaUsed + count > _arena.Count * ArenaPage)
        {
            _arena.Add(new int[ArenaPage]);
        }

        series.PairsStart = _arenaUsed;
        series.PairsCount = count;
        _arenaUsed += count;
    }

    /// <summary>Copies every live series' pair ids into new pages, in slot order, dropping the holes.</summary>
    private void Compact()
    {
        var old = _arena;
        _arena = [];
        _arenaUsed = 0;
        _arenaHoles = 0;
        for (var slot = 0; slot < _highWater; slot++)
        {
            if (_slots[slot] is { PairsCount: > 0 } s)
            {
                var from = old[s.PairsStart >> ArenaPageShift].AsSpan(s.PairsStart & (ArenaPage - 1), s.PairsCount);
                Place(s, s.PairsCount);
                from.CopyTo(ArenaSpan(s.PairsStart, s.PairsCount));
            }
        }
    }

    /// <summary>The arena ints at [start, start + count) (empty for a series without labels, whose start may be past the last page).</summary>
    private Span<int> ArenaSpan(int start, int count) => count == 0 ? [] : _arena[start >> ArenaPageShift].AsSpan(start & (ArenaPage - 1), count);

    private void Unlink(MemSeries series)
    {
        ref var link = ref _buckets[series.Hash & (_buckets.Length - 1)];
        while (link != 0 && link - 1 != series.Slot)
        {
            link = ref _slots[link - 1]!.NextInBucket;
        }

        if (link != 0)
        {
            link = series.NextInBucket;
        }
    }

    /// <summary>Doubles the bucket array (at most one series per bucket on average) and relinks every chain.</summary>
    private void GrowBuckets()
    {
        var grown = new PagedArray<int>(_buckets.Length * 2);
        for (var slot = 0; slot < _highWater; slot++)
        {
            if (_slots[slot] is { } s)
            {
                ref var bucket = ref grown[s.Hash & (grown.Length - 1)];
                s.NextInBucket = bucket;
                bucket = slot + 1;
            }
        }

        _buckets = grown;
    }

    private static ReadOnlySpan<char> Decode(ReadOnlySpan<byte> utf8, ref char[] buffer)
    {
        if (buffer.Length < utf8.Length)
        {
            // UTF-8 never decodes to more UTF-16 code units than it has bytes.
            buffer = new char[Math.Max(utf8.Length, buffer.Length * 2)];
        }

        return buffer.AsSpan(0, Encoding.UTF8.GetChars(utf8, buffer));
    }

    /// <summary>Whether <paramref name="key"/> is the series key of <paramref name="series"/> (no key copy is kept per series).</summary>
    private bool KeyEquals(ReadOnlySpan<byte> key, MemSeries series)
    {
        foreach (var pair in PairsOf(series))
        {
            if (!SkipText(ref key, _pairs.NameOf(pair)) || !SkipUtf8(ref key, _pairs.Utf8Of(pair)))
            {
                return false;
            }
        }

        return key.IsEmpty;
    }

    /// <summary>When <paramref name="key"/> starts with the UTF-8 of <paramref name="text"/> and a separator, moves past both.</summary>
    private static bool SkipText(ref ReadOnlySpan<byte> key, string text)
    {
        var end = key.IndexOf(KeySeparator);
        if (end < 0)
        {
            return false;
        }

        // Label names and most values are ASCII: compared vectorized, without encoding; an ASCII text equals only its own bytes.
        var segment = key[..end];
        if (!Ascii.Equals(segment, text) && (Ascii.IsValid(text) || !Utf8Equals(segment, text)))
        {
            return false;
        }

        key = key[(end + 1)..];
        return true;
    }

    /// <summary>When <paramref name="key"/> starts with <paramref name="utf8"/> and a separator, moves past both.</summary>
    private static bool SkipUtf8(ref ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8)
    {
        if (key.Length <= utf8.Length || key[utf8.Length] != KeySeparator || !key.StartsWith(utf8))
        {
            return false;
        }

        key = key[(utf8.Length + 1)..];
        return true;
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
    {
        if (Encoding.UTF8.GetByteCount(text) != utf8.Length)
        {
            return false;
        }

        var rented = utf8.Length <= 256 ? null : System.Buffers.ArrayPool<byte>.Shared.Rent(utf8.Length);
        var encoded = rented is null ? stackalloc byte[256] : rented.AsSpan();
        var n = Encoding.UTF8.GetBytes(text, encoded);
        var equal = encoded[..n].SequenceEqual(utf8);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return equal;
    }
}
