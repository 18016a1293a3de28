namespace Flotel.Store.Metrics;

/// <summary>
/// Stored chunks kept in memory per series, so a repeated range query (a dashboard refreshing its panels) reads no
/// SQLite rows: for 1,000 series over 24 h that is 24,000 rows, whose reading under the store's lock was the largest
/// fixed cost of such a query. The bytes are the rows' own, shared with the queries that read them (a stored chunk
/// never changes: a rewrite replaces the row with new bytes), so a hit copies nothing.
/// <para>
/// An entry is exact: it holds every row of its series whose <c>max_t</c> ≥ its <c>From</c>, as the database has
/// them. The store keeps it so under its lock: a row written (a closed chunk, a flushed head, the head's row replaced
/// when it closes) is put into the entry of its series after the transaction commits; retention deletes rows and
/// series, so it empties the cache. A query from minT is answered by an entry whose <c>From</c> ≤ minT.
/// </para>
/// Least recently used entries are evicted once <see cref="MaxBytes"/> is exceeded (chunk bytes plus
/// <see cref="ChunkOverheadBytes"/> per chunk); an entry larger than the whole bound is not kept. Not thread-safe:
/// guarded by the store's lock.
/// </summary>
internal sealed class ChunkCache(long maxBytes)
{
    /// <summary>Memory of one cached chunk besides its bytes: the array header and the entry's slot.</summary>
    internal const int ChunkOverheadBytes = 48;

    /// <summary>Memory of one entry besides its chunks: the entry object and its dictionary slot.</summary>
    internal const int EntryOverheadBytes = 96;

    private readonly Dictionary<long, Entry> _entries = [];
    private Entry? _newest;
    private Entry? _oldest;

    /// <summary>The bound on <see cref="Bytes"/>; 0 = no cache.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>Memory the entries account for (at most <see cref="MaxBytes"/>).</summary>
    public long Bytes { get; private set; }

    /// <summary>Series entries held.</summary>
    public int Count => _entries.Count;

    /// <summary>Series whose chunks a query found here.</summary>
    public long Hits { get; private set; }

    /// <summary>Series whose chunks a query had to read from the database.</summary>
    public long Misses { get; private set; }

    /// <summary>
    /// The chunks of series <paramref name="seriesId"/> with max_t ≥ <paramref name="minT"/> are all here (oldest first; may hold
    /// older ones too).
    /// </summary>
    public bool TryGet(long seriesId, long minT, out CachedChunk[] chunks)
    {
        if (_entries.TryGetValue(seriesId, out var e) && e.From <= minT)
        {
            Hits++;
            MoveToNewest(e);
            chunks = e.Chunks;
            return true;
        }

        Misses++;
        chunks = [];
        return false;
    }

    /// <summary>
    /// Keeps <paramref name="chunks"/> (oldest first): every row of the series with max_t ≥ <paramref name="from"/>,
    /// read under the same lock as this call. Replaces the series' entry.
    /// </summary>
    public void Put(long seriesId, long from, CachedChunk[] chunks)
    {
        if (MaxBytes == 0)
        {
            return;
        }

        Remove(seriesId);
        var e = new Entry(seriesId, from, chunks);
        if (e.Bytes > MaxBytes)
        {
            return;
        }

        _entries[seriesId] = e;
        Bytes += e.Bytes;
        Link(e);
        Evict();
    }

    /// <summary>
    /// A row was written (inserted, or replaced: same series and min_t): the series' entry, if any, takes it. Entries
    /// are replaced, not changed, because queries may still hold the previous array.
    /// </summary>
    public void Written(long seriesId, long minT, long maxT, byte[] data)
    {
        if (!_entries.TryGetValue(seriesId, out var e) || maxT < e.From)
        {
            return;
        }

        var old = e.Chunks;
        var at = 0;
        while (at < old.Length && old[at].MinT < minT)
        {
            at++;
        }

        var replace = at < old.Length && old[at].MinT == minT;
        var chunks = new CachedChunk[replace ? old.Length : old.Length + 1];
        old.AsSpan(0, at).CopyTo(chunks);
        chunks[at] = new CachedChunk(minT, maxT, data);
        old.AsSpan(replace ? at + 1 : at).CopyTo(chunks.AsSpan(at + 1));
        Put(seriesId, e.From, chunks);
    }

    /// <summary>Forgets series <paramref name="seriesId"/>.</summary>
    public void Remove(long seriesId)
    {
        if (_entries.Remove(seriesId, out var e))
        {
            Bytes -= e.Bytes;
            Unlink(e);
        }
    }

    /// <summary>Forgets everything (rows were deleted).</summary>
    public void Clear()
    {
        _entries.Clear();
        _newest = _oldest = null;
        Bytes = 0;
    }

    private void Evict()
    {
        while (Bytes > MaxBytes && _oldest is { } victim)
        {
            Remove(victim.SeriesId);
        }
    }

    private void MoveToNewest(Entry e)
    {
        if (!ReferenceEquals(_newest, e))
        {
            Unlink(e);
            Link(e);
        }
    }

    private void Link(Entry e)
    {
        e.Older = _newest;
        e.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = e;
        }

        _newest = e;
        _oldest ??= e;
    }

    private void Unlink(Entry e)
    {
        if (e.Newer is null)
        {
            _newest = e.Older;
        }
        else
        {
            e.Newer.Older = e.Older;
        }

        if (e.Older is null)
        {
            _oldest = e.Newer;
        }
        else
        {
            e.Older.Newer = e.Newer;
        }

        e.Newer = e.Older = null;
    }

    /// <summary>One stored chunk row: its time bounds and bytes (never changed once stored).</summary>
    internal readonly record struct CachedChunk(long MinT, long MaxT, byte[] Data);

    private sealed class Entry
    {
        public Entry(long seriesId, long from, CachedChunk[] chunks)
        {
            SeriesId = seriesId;
            From = from;
            Chunks = chunks;
            Bytes = EntryOverheadBytes;
            foreach (var c in chunks)
            {
                Bytes += c.Data.Length + ChunkOverheadBytes;
            }
        }

        public long SeriesId { get; }

        public long From { get; }

        public CachedChunk[] Chunks { get; }

        public long Bytes { get; }

        public Entry? Newer { get; set; }

        public Entry? Older { get; set; }
    }
}
