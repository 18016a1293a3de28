using System.Runtime.InteropServices;
using System.Text;

namespace Flotel.Store.Metrics;

/// <summary>
/// The distinct label name/value pairs of the metric store's series, each with a small id and its postings: the slots
/// (<see cref="SeriesIndex"/>) of the series that carry it, as 32-bit ids. A series keeps only its pairs' ids, so a
/// label shared by many series (a job, a metric name, a device's id on each of its series) costs each of them 4 bytes
/// of posting; a value unique to one series costs one pair entry and its UTF-8 bytes.
/// <code>
/// pair     = value (offset and length of its UTF-8 in the value arena) · name id · posting (count; the one slot inline,
///            an int[] of slots in insertion order, or past 64 KiB of them int[][] pages of PostingPageLength slots)
///            · next pair in its hash chain (32 bytes; the hash is computed again when the buckets grow)
/// values   = UTF-8 in a <see cref="Utf8Arena"/> (a value longer than its page: its own byte[], by pair id); a shared
///            pair (two series or more) also keeps its value's string, made once, for queries
/// names    = one string per distinct label name, counted by the pairs that use it
/// lookup   = power-of-two bucket table of pair ids chained through the pairs (no dictionary entry per pair)
/// </code>
/// A value unique to a series (an id, an address) is made a string only when a query returns it, each time; matchers
/// read it decoded into a buffer (<see cref="ValueChars"/>).
/// The pair and bucket tables and the long postings are in pages of at most 64 KiB (<see cref="PagedArray{T}"/>): a
/// million series grow them to megabytes without a large array copied and left free at each doubling.
/// A pair leaves the table when its last series is removed, and a name with its last pair, so the table holds at most
/// the pairs of the series in the index (bounded by <see cref="MetricStoreOptions.MaxSeries"/> × the remote-write
/// limit on labels per series). Ids of removed pairs and names are reused. Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class LabelPairs
{
    private const int NoPair = -1;

    /// <summary>Postings up to this length double when full; longer ones grow by half (less unused room in the large ones).</summary>
    private const int DoublingPostingLength = 1024;

    /// <summary>Slots per posting page (64 KiB, a small object): a posting this long continues in pages of this length.</summary>
    internal const int PostingPageLength = 1 << PostingPageShift;

    private const int PostingPageShift = 14;

    private readonly PagedArray<Pair> _pairs = new(64);
    private int _highWater;
    private int _freePair = NoPair;
    private PagedArray<int> _buckets = new(64);

    private readonly Dictionary<string, int> _nameIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _nameIdsByChars;
    private string?[] _names = new string?[16];
    private int[] _nameUses = new int[16];
    private readonly Stack<int> _freeNames = new();

    private Utf8Arena _values = new();
    private readonly Dictionary<int, byte[]> _longValues = [];
    private readonly Dictionary<int, string> _sharedValues = [];
    private byte[] _utf8Scratch = new byte[256];

    public LabelPairs() => _nameIdsByChars = _nameIds.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Distinct pairs held.</summary>
    public int Count { get; private set; }

    /// <summary>Distinct label names held.</summary>
    public int NameCount => _nameIds.Count;

    /// <summary>
    /// Adds series slot <paramref name="slot"/> to the posting of <paramref name="name"/> = <paramref name="value"/>
    /// (creating the pair) and returns the pair's id.
    /// </summary>
    public int Add(ReadOnlySpan<char> name, ReadOnlySpan<char> value, int slot, string? nameText = null) => Add(name, Utf8(value), slot, nameText);

    /// <summary>
    /// Adds series slot <paramref name="slot"/> to the posting of <paramref name="name"/> = the UTF-8 value
    /// <paramref name="value"/> (creating the pair) and returns the pair's id. A new name keeps <paramref name="nameText"/>
    /// when given, else a string is made from the characters.
    /// </summary>
    public int Add(ReadOnlySpan<char> name, ReadOnlySpan<byte> value, int slot, string? nameText = null)
    {
        var nameId = NameId(name, nameText);
        var hash = Hash(nameId, value);
        var id = Find(nameId, value, hash);
        if (id == NoPair)
        {
            id = NewPair(nameId, value, hash);
        }
        else
        {
            // The name was counted for a new pair; an existing pair counts it already.
            _nameUses[nameId]--;
        }

        Post(id, slot);
        return id;
    }

    /// <summary>The id of the pair <paramref name="name"/> = <paramref name="value"/>, if held.</summary>
    public bool TryFind(string name, string value, out int pair)
    {
        pair = NoPair;
        if (!_nameIds.TryGetValue(name, out var nameId))
        {
            return false;
        }

        var utf8 = Utf8(value);
        pair = Find(nameId, utf8, Hash(nameId, utf8));
        return pair != NoPair;
    }

    /// <summary>The id of label name <paramref name="name"/>, or -1 when no pair has it.</summary>
    public int NameIdOf(string name) => _nameIds.TryGetValue(name, out var id) ? id : -1;

    public string NameOf(int pair) => _names[_pairs[pair].NameId]!;

    public int NameIdOfPair(int pair) => _pairs[pair].NameId;

    /// <summary>The value of <paramref name="pair"/>: a shared pair's one string, else a new string of its UTF-8.</summary>
    public string ValueOf(int pair) => _sharedValues.TryGetValue(pair, out var text) ? text : Encoding.UTF8.GetString(Utf8Of(pair));

    /// <summary>
    /// The value of <paramref name="pair"/> as characters: a shared pair's string, else its UTF-8 decoded into
    /// <paramref name="buffer"/> (grown when short); valid until the buffer is used again. No string is made.
    /// </summary>
    public ReadOnlySpan<char> ValueChars(int pair, ref char[] buffer)
    {
        if (_sharedValues.TryGetValue(pair, out var text))
        {
            return text;
        }

        var utf8 = Utf8Of(pair);
        if (buffer.Length < utf8.Length)
        {
            // UTF-8 never decodes to more UTF-16 code units than it has bytes.
            buffer = new char[Math.Max(utf8.Length, buffer.Length * 2)];
        }

        return buffer.AsSpan(0, Encoding.UTF8.GetChars(utf8, buffer));
    }

    /// <summary>The UTF-8 value of <paramref name="pair"/>; valid until the table changes.</summary>
    public ReadOnlySpan<byte> Utf8Of(int pair)
    {
        ref var p = ref _pairs[pair];
        return p.Text < 0 ? _longValues[pair] : _values.Get(p.Text, p.Length);
    }

    /// <summary>The value arena's bytes written, holes and length, and the values kept apart; for tests.</summary>
    internal (long Used, long Holes, long Length, int Long) ValueArenaSize => (_values.Used, _values.Holes, _values.Length, _longValues.Count);

    /// <summary>Whether the value of <paramref name="pair"/> is kept as a string (a shared pair); for tests.</summary>
    internal bool HasValueString(int pair) => _sharedValues.ContainsKey(pair);

    /// <summary>Pages of the posting of <paramref name="pair"/> (<see cref="PostingPage(int, int)"/>).</summary>
    public int PostingPages(int pair)
    {
        ref var p = ref _pairs[pair];
        return p.Series is int[][] ? (p.Count + PostingPageLength - 1) >> PostingPageShift : p.Count > 0 ? 1 : 0;
    }

    /// <summary>Slots of the series carrying <paramref name="pair"/>, page <paramref name="page"/>; valid until the table changes.</summary>
    public ReadOnlySpan<int> PostingPage(int pair, int page)
    {
        ref var p = ref _pairs[pair];
        return p.Series switch
        {
            int[][] pages => pages[page].AsSpan(0, Math.Min(PostingPageLength, p.Count - (page << PostingPageShift))),
            int[] slots => slots.AsSpan(0, p.Count),
            _ => MemoryMarshal.CreateReadOnlySpan(ref p.Single, 1),
        };
    }

    /// <summary>Every slot of the posting of <paramref name="pair"/>, copied; for tests.</summary>
    internal int[] Posting(int pair)
    {
        var all = new List<int>();
        for (var page = 0; page < PostingPages(pair); page++)
        {
            all.AddRange(PostingPage(pair, page));
        }

        return [.. all];
    }

    /// <summary>
    /// Takes the slots in <paramref name="removed"/> out of the posting of <paramref name="pair"/> (one pass, order kept);
    /// a pair left without series leaves the table, and its name with its last pair.
    /// </summary>
    public void Unpost(int pair, HashSet<int> removed)
    {
        ref var p = ref _pairs[pair];
        if (p.Count == 1)
        {
            if (removed.Contains(p.Single))
            {
                Free(pair);
            }

            return;
        }

        var n = 0;
        if (p.Series is int[][] pages)
        {
            // One pass over every page, writing the kept slots back from the start (order kept).
            for (var i = 0; i < p.Count; i++)
            {
                var slot = pages[i >> PostingPageShift][i & (PostingPageLength - 1)];
                if (!removed.Contains(slot))
                {
                    pages[n >> PostingPageShift][n & (PostingPageLength - 1)] = slot;
                    n++;
                }
            }

            for (var page = (n + PostingPageLength - 1) >> PostingPageShift; page < pages.Length; page++)
            {
                pages[page] = null!;
            }

            p.Series = n <= PostingPageLength ? pages[0] : pages;
        }
        else
        {
            var kept = (int[])p.Series!;
            for (var i = 0; i < p.Count; i++)
            {
                if (!removed.Contains(kept[i]))
                {
                    kept[n++] = kept[i];
                }
            }
        }

        p.Count = n;
        if (n == 0)
        {
            Free(pair);
        }
        else if (n == 1)
        {
            p.Single = ((int[])p.Series!)[0];
            p.Series = null;
        }
        else if (p.Series is int[] slots && n < slots.Length / 4)
        {
            Array.Resize(ref slots, n * 2);
            p.Series = slots;
        }
    }

    /// <summary>Posting length of <paramref name="pair"/> and the room its array holds; for tests.</summary>
    internal (int Count, int Capacity) PostingSize(int pair) => _pairs[pair].Series switch
    {
        int[][] pages => (_pairs[pair].Count, pages.Count(page => page is not null) * PostingPageLength),
        int[] slots => (_pairs[pair].Count, slots.Length),
        _ => (_pairs[pair].Count, 1),
    };

    private static int Hash(int nameId, ReadOnlySpan<byte> value)
    {
        // HashCode is seeded per process: chains cannot be lengthened by values chosen offline.
        var hash = default(HashCode);
        hash.Add(nameId);
        hash.AddBytes(value);
        return hash.ToHashCode();
    }

    private int Find(int nameId, ReadOnlySpan<byte> value, int hash)
    {
        for (var id = _buckets[hash & (_buckets.Length - 1)] - 1; id != NoPair; id = _pairs[id].Next)
        {
            ref var p = ref _pairs[id];
            if (p.NameId == nameId && p.Length == value.Length && value.SequenceEqual(Utf8Of(id)))
            {
                return id;
            }
        }

        return NoPair;
    }

    /// <summary>The UTF-8 of <paramref name="text"/> in a scratch buffer; valid until the next call.</summary>
    private ReadOnlySpan<byte> Utf8(ReadOnlySpan<char> text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (_utf8Scratch.Length < max)
        {
            _utf8Scratch = new byte[Math.Max(max, _utf8Scratch.Length * 2)];
        }

        return _utf8Scratch.AsSpan(0, Encoding.UTF8.GetBytes(text, _utf8Scratch));
    }

    /// <summary>The id of a label name, counting one more pair using it (new names take <paramref name="given"/> when set).</summary>
    private int NameId(ReadOnlySpan<char> name, string? given)
    {
        if (_nameIdsByChars.TryGetValue(name, out var id))
        {
            _nameUses[id]++;
            return id;
        }

        if (!_freeNames.TryPop(out id))
        {
            id = _nameIds.Count;
            if (id == _names.Length)
            {
                Array.Resize(ref _names, id * 2);
                Array.Resize(ref _nameUses, id * 2);
            }
        }

        var text = given ?? new string(name);
        _names[id] = text;
        _nameUses[id] = 1;
        _nameIds.Add(text, id);
        return id;
    }

    private int NewPair(int nameId, ReadOnlySpan<byte> value, int hash)
    {
        int id;
        if (_freePair != NoPair)
        {
            id = _freePair;
            _freePair = _pairs[id].Next;
        }
        else
        {
            _pairs.Grow(_highWater + 1);
            id = _highWater++;
        }

        if (++Count > _buckets.Length)
        {
            GrowBuckets();
        }

        int text;
        if (value.Length > Utf8Arena.PageBytes)
        {
            text = -1;
            _longValues[id] = value.ToArray();
        }
        else
        {
            if (_values.WorthRebuilding(value.Length))
            {
                RebuildValues();
            }

            text = _values.Add(value);
        }

        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        _pairs[id] = new Pair { Text = text, Length = value.Length, NameId = nameId, Next = bucket - 1 };
        bucket = id + 1;
        return id;
    }

    /// <summary>Copies the live pairs' values into a new arena, in id order, dropping the holes of removed ones.</summary>
    private void RebuildValues()
    {
        var old = _values;
        _values = new Utf8Arena();
        for (var id = 0; id < _highWater; id++)
        {
            ref var p = ref _pairs[id];
            if (p.Count > 0 && p.Text >= 0)
            {
                p.Text = _values.Add(old.Get(p.Text, p.Length));
            }
        }
    }

    private void Post(int id, int slot)
    {
        ref var p = ref _pairs[id];
        if (p.Count == 1)
        {
            // A second series: the value is now read by more than one, its string made once.
            _sharedValues.TryAdd(id, Encoding.UTF8.GetString(Utf8Of(id)));
        }

        Post(ref p, slot);
    }

    private static void Post(ref Pair p, int slot)
    {
        switch (p.Series)
        {
            case null when p.Count == 0:
                p.Single = slot;
                break;
            case null:
                p.Series = new int[] { p.Single, slot };
                break;
            case int[][] pages:
                var page = p.Count >> PostingPageShift;
                if (page == pages.Length)
                {
                    Array.Resize(ref pages, pages.Length * 2);
                    p.Series = pages;
                }

                (pages[page] ??= new int[PostingPageLength])[p.Count & (PostingPageLength - 1)] = slot;
                break;
            case int[] slots when p.Count < slots.Length:
                slots[p.Count] = slot;
                break;
            case int[] slots when slots.Length < PostingPageLength:
                Array.Resize(ref slots, Math.Min(PostingPageLength, p.Count < DoublingPostingLength ? p.Count * 2 : p.Count + (p.Count / 2)));
                slots[p.Count] = slot;
                p.Series = slots;
                break;
            case int[] full:
                // A full page: the posting continues in pages (no larger array, none copied).
                var grown = new int[4][];
                grown[0] = full;
                grown[1] = new int[PostingPageLength];
                grown[1][0] = slot;
                p.Series = grown;
                break;
        }

        p.Count++;
    }

    private void Free(int id)
    {
        Unlink(id);
        ref var p = ref _pairs[id];
        var nameId = p.NameId;
        if (--_nameUses[nameId] == 0)
        {
            _nameIds.Remove(_names[nameId]!);
            _names[nameId] = null;
            _freeNames.Push(nameId);
        }

        if (p.Text < 0)
        {
            _longValues.Remove(id);
        }
        else
        {
            _values.Remove(p.Length);
        }

        _sharedValues.Remove(id);
        p = new Pair { Next = _freePair };
        _freePair = id;
        Count--;
    }

    /// <summary>Removes pair <paramref name="id"/> from its hash chain.</summary>
    private void Unlink(int id)
    {
        var b = Hash(_pairs[id].NameId, Utf8Of(id)) & (_buckets.Length - 1);
        if (_buckets[b] - 1 == id)
        {
            _buckets[b] = _pairs[id].Next + 1;
            return;
        }

        for (var prev = _buckets[b] - 1; prev != NoPair; prev = _pairs[prev].Next)
        {
            if (_pairs[prev].Next == id)
            {
                _pairs[prev].Next = _pairs[id].Next;
                return;
            }
        }
    }

    /// <summary>Doubles the bucket array (at most one pair per bucket on average) and relinks every chain.</summary>
    private void GrowBuckets()
    {
        var grown = new PagedArray<int>(_buckets.Length * 2);
        for (var id = 0; id < _highWater; id++)
        {
            ref var p = ref _pairs[id];
            if (p.Count > 0)
            {
                ref var bucket = ref grown[Hash(p.NameId, Utf8Of(id)) & (grown.Length - 1)];
                p.Next = bucket - 1;
                bucket = id + 1;
            }
        }

        _buckets = grown;
    }

    private struct Pair
    {
        /// <summary>
        /// The posting when <see cref="Count"/> &gt; 1: an int[] (its first Count entries), or past
        /// <see cref="PostingPageLength"/> slots int[][] pages of that length (a null page holds none).
        /// </summary>
        public object? Series;

        /// <summary>The posting when <see cref="Count"/> is 1.</summary>
        public int Single;

        public int NameId;

        /// <summary>Series carrying the pair.</summary>
        public int Count;

        /// <summary>Next pair id in the hash chain (or in the free list), -1 at the end.</summary>
        public int Next;

        /// <summary>Offset of the UTF-8 value in the value arena; -1 for a value kept apart (longer than an arena page).</summary>
        public int Text;

        /// <summary>Bytes of the UTF-8 value.</summary>
        public int Length;
    }
}
