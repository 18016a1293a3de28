using System.Globalization;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Metrics;

/// <summary>
/// The gateway's embedded metric store: an SQLite index plus compressed sample chunks (heads in
/// <see cref="XorChunkAppender"/>'s Gorilla XOR bytes; a closing chunk of decimal values in <see cref="CompactChunkEncoder"/>'s).
/// <code>
/// metrics.db (WAL, auto_vacuum = INCREMENTAL, 16 KiB pages)
///   series   (id INTEGER PK, labels BLOB         -- name 0xFF value 0xFF …, sorted by name (unique: the
///                                                 -- in-memory index finds series; no second copy on disk)
///             name TEXT)                         -- __name__, for humans and tools
///   chunks   (id INTEGER PK, series_id, min_t, max_t, data BLOB)  UNIQUE (series_id, min_t)
///            -- rowid order = write order, so blob pages fill completely; the small index is the random part
/// memory: every series with its open head chunk (or, once a flush wrote it, only the samples since: see below), labels
///         as ids of interned name/value pairs and each pair's
///         postings as 32-bit series slots (<see cref="SeriesIndex"/>; built from the series rows at open; an older
///         store's on-disk postings table, never read, is dropped at open),
///         recently queried series' stored chunks (<see cref="ChunkCache"/>, bounded by ChunkCacheBytes)
/// </code>
/// Each series has one open head chunk in memory; it is closed at <see cref="MetricStoreOptions.MaxSamplesPerChunk"/>
/// samples or <see cref="MetricStoreOptions.MaxChunkSpan"/>, and closed chunks are written in the same SQLite
/// transaction as the request that closed them. <see cref="FlushAsync"/> writes every head as a row keyed by its
/// first timestamp (replaced when the head grows or closes); only heads that took samples since the previous flush are
/// written, so a flush costs the series that changed, not every series. After the commit, a head whose bytes outgrew the
/// series object's inline part is spilled (<see cref="MemSeries"/>): its bytes leave memory, the row holds them, and the
/// next flush or its close reads the row back and writes the head whole again, so a head costs memory for the samples
/// since the last flush, not for its length, and the disk keeps one row per head, sealed as before (same bytes/sample).
/// Queries read a spilled head's row and its in-memory tail. Heads are not otherwise durable: the gateway keeps
/// the remote-write body in its durable queue until the batch is reported written, and replaying it is safe
/// because a sample at or before its series' last timestamp is dropped and counted (as Prometheus does).
/// All public members are thread-safe (one lock; SQLite has one connection).
/// </summary>
public sealed class MetricStore : IDisposable, ISeriesAdmission
{
    private const byte KeySeparator = 0xFF;

    /// <summary>Candidates matched between two looks at a query's cancellation token (a memory read; matching 1,024 series takes microseconds).</summary>
    internal const int SeriesPerCancellationCheck = 1024;

    private readonly Lock _lock = new();
    private readonly MetricStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly long _maxChunkSpanMs;
    private readonly SqliteConnection _db;
    private readonly string _path;

    // Index of every series, guarded by _lock: by key hash, by slot, and postings of interned label pairs.
    private readonly SeriesIndex _index = new();

    // Written by appends, drained by Commit in one transaction (a new series with its key, the row's labels blob).
    private readonly List<(MemSeries Series, byte[] Key)> _pendingSeries = [];
    private readonly List<PendingChunk> _pendingChunks = [];

    // Series whose head took samples since the last flush (MemSeries.Unflushed set): what the next flush writes.
    private readonly List<MemSeries> _unflushed = [];

    private readonly ChunkCache _cache;
    private readonly Visitor _visitor;
    private readonly SqliteCommand _insertSeries;
    private readonly SqliteCommand _insertChunk;
    private readonly SqliteCommand _selectChunks;
    private readonly SqliteCommand _selectHead;
    private readonly SqliteCommand _selectHeads;

    // The rows of the spilled heads in the part of the flush list being written (series id → row), read in one statement.
    private readonly Dictionary<long, byte[]> _spilledRows = [];
    private readonly XorChunkAppender _sealAppender = new(256);
    private byte[] _keyScratch = new byte[1024];
    private Sample[] _sealScratch = new Sample[256];
    private long _nextId;
    private long _appendedTotal;
    private long _outOfOrderTotal;
    private long _duplicateTotal;
    private long _refusedSeriesTotal;
    private long _refusedSamplesTotal;

    // Written under _lock whenever the index grows or shrinks, read without it by AtSeriesLimit (a cheap ingest check).
    private volatile bool _atSeriesLimit;
    private bool _disposed;

    private MetricStore(MetricStoreOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _maxChunkSpanMs = (long)options.MaxChunkSpan.TotalMilliseconds;
        Directory.CreateDirectory(options.DataDirectory);
        _path = Path.Combine(options.DataDirectory, "metrics.db");
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString());
        _db.Open();
        // 16 KiB pages (set before the first table exists): a chunk row is ~0.5 KiB, and with 4 KiB pages the space
        // left at the end of each page alone cost ~0.2 bytes per sample.
        Execute("PRAGMA page_size = 16384; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
        Execute(
            "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, labels BLOB NOT NULL, name TEXT NOT NULL);" +
            // Earlier stores wrote every label as a postings row that nothing read (postings are built in memory at
            // open); it cost about as much as the series row itself on every new series.
            "DROP TABLE IF EXISTS postings;" +
            "CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, min_t INTEGER NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL);" +
            "CREATE UNIQUE INDEX IF NOT EXISTS chunks_series ON chunks (series_id, min_t);");
        // The row a flush updates when its checkpoint could not complete (WalSync).
        Execute(WalSync.CreateTable);
        _insertSeries = Prepare("INSERT INTO series (id, labels, name) VALUES ($id, $labels, $name)", "$id", "$labels", "$name");
        _insertChunk = Prepare("INSERT OR REPLACE INTO chunks (series_id, min_t, max_t, data) VALUES ($s, $min, $max, $data)", "$s", "$min", "$max", "$data");
        // Every selected series' chunks in one statement (ids as a JSON array): one statement per series cost more than its rows.
        _selectChunks = Prepare("SELECT series_id, min_t, max_t, data FROM chunks WHERE series_id IN (SELECT value FROM json_each($ids)) AND max_t >= $min AND min_t <= $max", "$ids", "$min", "$max");
        _selectHead = Prepare("SELECT data FROM chunks WHERE series_id = $s AND min_t = $min", "$s", "$min");
        // A flush's spilled heads' rows by (series_id, min_t) pairs as a JSON array: one statement for many point reads
        // (CROSS JOIN keeps the pairs as the outer loop, each one an index lookup).
        _selectHeads = Prepare(
            "SELECT c.series_id, c.data FROM json_each($keys) AS k CROSS JOIN chunks AS c " +
            "ON c.series_id = json_extract(k.value, '$[0]') AND c.min_t = json_extract(k.value, '$[1]')", "$keys");
        _cache = new ChunkCache(options.ChunkCacheBytes);
        _visitor = new Visitor(this);
        Load();
    }

    /// <summary>Opens (creating if needed) the store in <see cref="MetricStoreOptions.DataDirectory"/>.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static MetricStore Open(MetricStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new MetricStore(options, time ?? TimeProvider.System);
    }

    /// <summary>Number of series in the index.</summary>
    public int SeriesCount
    {
        get
        {
            lock (_lock)
            {
                return _index.Count;
            }
        }
    }

    /// <summary>New series refused since open because the store held <see cref="MetricStoreOptions.MaxSeries"/>.</summary>
    public long RefusedSeriesTotal => Interlocked.Read(ref _refusedSeriesTotal);

    /// <summary>Samples dropped since open because their series was refused (series limit).</summary>
    public long RefusedSamplesTotal => Interlocked.Read(ref _refusedSamplesTotal);

    /// <inheritdoc/>
    public int MaxSeries => _options.MaxSeries;

    /// <inheritdoc/>
    public bool AtSeriesLimit => _atSeriesLimit;

    /// <inheritdoc/>
    public bool HasSeries(SeriesLabels labels)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var key = KeyOf(labels);
            return Find(key, HashKey(key)) is not null;
        }
    }

    /// <summary>Flushes whose checkpoint could not complete and that committed a sync point instead (<see cref="CheckpointOrSync"/>).</summary>
    internal long WalSyncsTotal { get; private set; }

    /// <summary>Head snapshots written by flushes since open (a flush writes only the heads that changed).</summary>
    internal long FlushedHeadsTotal { get; private set; }

    /// <summary>Times a flushed head's bytes were dropped from memory since open (<see cref="SpillAboveBytes"/>).</summary>
    internal long SpilledHeadsTotal { get; private set; }

    /// <summary>Heads whose bytes are spilled, and the chunk bytes every head holds in memory (header included).</summary>
    internal (int Spilled, long Bytes) HeadMemory()
    {
        lock (_lock)
        {
            var spilled = 0;
            long bytes = 0;
            foreach (var s in _index.All())
            {
                spilled += s.SpilledCount > 0 ? 1 : 0;
                bytes += s.Head.ByteLength;
            }

            return (spilled, bytes);
        }
    }

    /// <summary>Distinct label names and name/value pairs held by the index (shared by the series that use them).</summary>
    internal int InternedStrings
    {
        get
        {
            lock (_lock)
            {
                return _index.InternedStrings;
            }
        }
    }

    /// <summary>The chunk cache's state: memory it accounts for, series entries, and series a query found there or not (since open).</summary>
    public (long Bytes, int Series, long Hits, long Misses) ChunkCacheStatistics()
    {
        lock (_lock)
        {
            return (_cache.Bytes, _cache.Count, _cache.Hits, _cache.Misses);
        }
    }

    /// <summary>Samples stored since open.</summary>
    public long AppendedTotal => Interlocked.Read(ref _appendedTotal);

    /// <summary>Samples dropped since open because they were older than their series' last sample.</summary>
    public long OutOfOrderTotal => Interlocked.Read(ref _outOfOrderTotal);

    /// <summary>Samples dropped since open because their timestamp equalled their series' last sample.</summary>
    public long DuplicateTotal => Interlocked.Read(ref _duplicateTotal);

    /// <summary>Bytes of the database and its write-ahead log on disk.</summary>
    public long DiskBytes
    {
        get
        {
            var wal = new FileInfo(_path + "-wal");
            return new FileInfo(_path).Length + (wal.Exists ? wal.Length : 0);
        }
    }

    /// <summary>Closed and flushed chunks in the database: count and total bytes of their data (for size reports).</summary>
    public (long Chunks, long DataBytes) ChunkStatistics()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM chunks";
            using var reader = cmd.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
    }

    /// <summary>Bytes of database pages in use (file size minus free pages), what size retention compares to its limit.</summary>
    public long UsedBytes()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return UsedBytesLocked();
        }
    }

    /// <summary>Stores the samples of an uncompressed remote-write protobuf, streaming (no per-sample allocation).</summary>
    /// <exception cref="RemoteWriteException">The bytes are not a valid WriteRequest; series before the bad one are stored.</exception>
    public AppendResult Append(ReadOnlySpan<byte> protobuf)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _visitor.Reset();
            try
            {
                WriteRequestDecoder.Decode(protobuf, _visitor);
            }
            finally
            {
                Commit();
                Count(_visitor.Result);
            }

            return _visitor.Result;
        }
    }

    /// <summary>Stores the samples of a remote-write HTTP body (snappy block around the protobuf).</summary>
    /// <exception cref="RemoteWriteException">The body is not acceptable.</exception>
    public AppendResult AppendRemoteWriteBody(ReadOnlySpan<byte> snappyBody, RemoteWriteLimits? limits = null)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _visitor.Reset();
            try
            {
                RemoteWriteCodec.Decode(snappyBody, _visitor, limits);
            }
            finally
            {
                Commit();
                Count(_visitor.Result);
            }

            return _visitor.Result;
        }
    }

    /// <summary>Stores one series' samples given as model objects (tests, tools). Empty-valued labels are dropped.</summary>
    public AppendResult Append(LabelSet labels, ReadOnlySpan<Sample> samples)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var kept = new List<Label>(labels.Count);
        foreach (var l in labels)
        {
            if (l.Value.Length > 0)
            {
                kept.Add(l);
            }
        }

        var set = new LabelSet(kept);
        var key = BuildKey(set);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _visitor.Reset();
            var hash = HashKey(key);
            var series = Find(key, hash);
            if (series is null && !HasRoomForSeries())
            {
                _visitor.RefusedSeries++;
                _visitor.RefusedSamples += samples.Length;
            }
            else
            {
                if (series is null)
                {
                    series = Create(set, key, hash);
                    _visitor.NewSeries++;
                }

                foreach (var s in samples)
                {
                    AppendSample(series, s.TimestampMs, s.Value, _visitor);
                }
            }

            Commit();
            Count(_visitor.Result);
            return _visitor.Result;
        }
    }

    /// <summary>
    /// The series matching every matcher that have samples in [<paramref name="minT"/>, <paramref name="maxT"/>]
    /// (milliseconds, inclusive), with those samples.
    /// </summary>
    /// <param name="matchers">Every one must match.</param>
    /// <param name="minT">Start, milliseconds.</param>
    /// <param name="maxT">End, milliseconds.</param>
    /// <param name="cancellationToken">Looked at before each series' chunks are read (the lock is held meanwhile, so a
    /// stopped query also stops holding up ingest).</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyList<SeriesSamples> Select(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken cancellationToken = default)
    {
        var selected = SelectChunks(matchers, minT, maxT, cancellationToken);
        long samples = 0;
        foreach (var s in selected)
        {
            samples += s.MaxSamples;
        }

        // Decoded outside the lock (ingest waits only for the reads), on every core when there is much to decode.
        var decoded = new Sample[selected.Count][];
        if (samples >= ParallelDecodeSamples && selected.Count > 1 && Environment.ProcessorCount > 1)
        {
            try
            {
                Parallel.For(0, selected.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => decoded[i] = selected[i].Decode());
            }
            catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
            }
        }
        else
        {
            for (var i = 0; i < selected.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                decoded[i] = selected[i].Decode();
            }
        }

        var result = new List<SeriesSamples>(decoded.Length);
        for (var i = 0; i < decoded.Length; i++)
        {
            if (decoded[i].Length > 0)
            {
                result.Add(new SeriesSamples(selected[i].Labels, decoded[i]));
            }
        }

        return result;
    }

    /// <summary>
    /// What a series' head (<see cref="MemSeries"/>) holds before it needs an array: its inline bytes, one sample (19 bytes
    /// with the header) and a few more. A series sampled once a minute then grows the array by doubling; a pre-sized
    /// buffer would be mostly empty in every one of a million such heads.
    /// </summary>
    internal const int InitialHeadBytes = XorChunkAppender.InlineBytes;

    /// <summary>
    /// A flushed head is spilled (its bytes dropped from memory, <see cref="MemSeries"/>) once they are more than this:
    /// the inline bytes, which cost nothing to keep (they are part of the series object), so only a head with an array
    /// is spilled, and a series sampled a minute apart reads its row back about once per flush after its third sample.
    /// </summary>
    internal const int SpillAboveBytes = XorChunkAppender.InlineBytes;

    /// <summary>
    /// Spilled heads whose rows a flush reads in one statement: one statement per head cost more than its row (a point
    /// read through the driver ~10 µs), and the rows of one statement are held until their heads are sealed.
    /// </summary>
    internal const int SpilledRowsPerRead = 1024;

    /// <summary>
    /// What a series read by a streamed selection would take in the chunk cache at least: the entry's and one chunk's
    /// overhead (<see cref="ChunkCache.EntryOverheadBytes"/>, <see cref="ChunkCache.ChunkOverheadBytes"/>) and a chunk of
    /// ten-odd samples (about 100 bytes). A selection of more series than fit (262,144 at the default 64 MiB) is not cached.
    /// </summary>
    internal const int StreamedSeriesCacheBytes = 256;

    /// <summary>Samples to decode above which a query decodes series in parallel (below, the threads cost more than they save).</summary>
    internal const long ParallelDecodeSamples = 200_000;

    /// <summary>
    /// The series matching every matcher with chunks overlapping [<paramref name="minT"/>, <paramref name="maxT"/>], and
    /// those chunks (copies), for the caller to decode outside the store's lock. A series may have no sample in the range
    /// (a chunk can span it without a sample inside).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    internal IReadOnlyList<SeriesChunks> SelectChunks(
        IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken cancellationToken = default) =>
        SelectChunks(matchers, minT, maxT, int.MaxValue, cancellationToken)!;

    /// <summary>
    /// As <see cref="SelectChunks(IReadOnlyList{LabelMatcher}, long, long, CancellationToken)"/>, or null as soon as more
    /// than <paramref name="maxSeries"/> series match (a query's series limit): before any label set or chunk is copied.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    internal IReadOnlyList<SeriesChunks>? SelectChunks(
        IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, int maxSeries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var matched = MatchedInRange(matchers, minT, maxT, maxSeries, cancellationToken);
            if (matched is null)
            {
                return null;
            }

            var selected = new List<SeriesChunks>(matched.Count);
            CopyChunks(matched, 0, matched.Count, minT, maxT, null, fillCache: true, selected, cancellationToken);
            return selected;
        }
    }

    /// <summary>
    /// The series matching every matcher with samples overlapping [<paramref name="minT"/>, <paramref name="maxT"/>], in
    /// the label order Prometheus's storage returns them in, for a query to read in batches
    /// (<see cref="SelectBatch"/>) instead of all at once: one reference per series, no label set, no chunk. Null as soon
    /// as more than <paramref name="maxSeries"/> match (the same count <see cref="SelectChunks(IReadOnlyList{LabelMatcher},
    /// long, long, int, CancellationToken)"/> refuses at).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    /// <remarks>
    /// A selection of more series than the chunk cache holds small entries for (<see cref="StreamedSeriesCacheBytes"/>
    /// each) reads its stored rows without caching them: read in order and least recently used first out, such a scan
    /// would evict every entry, its own first ones included before the next scan reaches them, and leave the evicted
    /// rows as garbage promoted to the oldest generation.
    /// </remarks>
    internal SeriesSelection? SelectSeries(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, int maxSeries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var matched = MatchedInRange(matchers, minT, maxT, maxSeries, cancellationToken);
            if (matched is null)
            {
                return null;
            }

            // Sorted under the lock: a series' pair ids and the pair table are valid only while nothing is added or removed.
            matched.Sort(_index.CompareLabels);
            return new SeriesSelection(matched, minT, maxT) { FillsCache = matched.Count <= _cache.MaxBytes / StreamedSeriesCacheBytes };
        }
    }

    /// <summary>
    /// The chunks of <paramref name="count"/> series of <paramref name="selection"/> from <paramref name="start"/> on, as
    /// <see cref="SelectChunks(IReadOnlyList{LabelMatcher}, long, long, int, CancellationToken)"/> copies them (a series
    /// without a chunk in the range, or removed by retention since it was selected, is left out), added to
    /// <paramref name="into"/>. Each carries only the labels named in <paramref name="labelNames"/> (all of them when null,
    /// none when empty): an aggregation needs only its grouping labels.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    internal void SelectBatch(
        SeriesSelection selection, int start, int count, IReadOnlyList<string>? labelNames, List<SeriesChunks> into, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selection);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var batch = new List<MemSeries>(count);
            for (var i = start; i < start + count; i++)
            {
                if (!selection.Series[i].Deleted)
                {
                    batch.Add(selection.Series[i]);
                }
            }

            CopyChunks(batch, 0, batch.Count, selection.MinT, selection.MaxT, labelNames, selection.FillsCache, into, cancellationToken);
        }
    }

    /// <summary>
    /// guarded: the series matching every matcher with samples overlapping the range; null past <paramref name="maxSeries"/>.
    /// Filtered in the resolved list itself: over a million series each list is megabytes of the large object heap.
    /// </summary>
    private List<MemSeries>? MatchedInRange(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, int maxSeries, CancellationToken cancellationToken)
    {
        var matched = _index.Resolve(matchers, cancellationToken);
        var kept = 0;
        for (var i = 0; i < matched.Count; i++)
        {
            var series = matched[i];
            if (series.LastT >= minT && series.MinT <= maxT)
            {
                matched[kept++] = series;
                if (kept > maxSeries)
                {
                    return null;
                }
            }
        }

        matched.RemoveRange(kept, matched.Count - kept);
        return matched;
    }

    /// <summary>
    /// guarded: copies the chunks overlapping [minT, maxT] of <paramref name="series"/>[start, start + count) (from the
    /// head, the chunk cache or one database read for the rest) into <paramref name="into"/>, with their labels
    /// (<see cref="SelectBatch"/>'s <c>labelNames</c>).
    /// </summary>
    private void CopyChunks(
        List<MemSeries> series, int start, int count, long minT, long maxT, IReadOnlyList<string>? labelNames, bool fillCache, List<SeriesChunks> into,
        CancellationToken cancellationToken)
    {
        var matched = new List<(MemSeries Series, ChunkCache.CachedChunk[]? Cached)>(count);
        var missed = new List<MemSeries>();
        for (var i = start; i < start + count; i++)
        {
            var s = series[i];
            if (HeadHoldsRange(s, minT))
            {
                matched.Add((s, [])); // no stored row can hold a sample of the range (see HeadHoldsRange)
            }
            else if (_cache.TryGet(s.Id, minT, out var cached))
            {
                matched.Add((s, cached));
            }
            else
            {
                matched.Add((s, null));
                missed.Add(s);
            }
        }

        var read = ReadMissedChunks(missed, minT, maxT, fillCache, cancellationToken);
        foreach (var (s, cached) in matched)
        {
            var rows = cached ?? read[s.Id];
            var chunks = new List<(byte[], bool)>(rows.Length + 1);
            // The row of a head held whole in memory is an older copy of it; a spilled head's row holds its first
            // SpilledCount samples, and the memory only those after them.
            var headMinT = s.Head.Count > 0 && s.SpilledCount == 0 ? s.Head.FirstTimestamp : long.MinValue;
            foreach (var row in rows)
            {
                // Rows outside the range (a cache entry or a read for it holds more); a flushed head snapshot,
                // whose in-memory head is newer.
                if (row.MaxT >= minT && row.MinT <= maxT && row.MinT != headMinT)
                {
                    chunks.Add((row.Data, row.MinT >= minT && row.MaxT <= maxT));
                }
            }

            if (s.Head is { Count: > 0 } head && head.LastTimestamp >= minT && head.ChunkFirstTimestamp <= maxT)
            {
                // A copy: the head keeps growing under ingest once the lock is released.
                chunks.Add((head.ToArray(), head.ChunkFirstTimestamp >= minT && head.LastTimestamp <= maxT));
            }

            if (chunks.Count > 0)
            {
                var labels = labelNames is null ? _index.LabelsOf(s) : labelNames.Count == 0 ? LabelSet.Empty : _index.LabelsOf(s, labelNames);
                into.Add(new SeriesChunks(labels, chunks, minT, maxT));
            }
        }
    }

    /// <summary>
    /// guarded: whether every sample of <paramref name="series"/> from <paramref name="minT"/> on is in its head, so a
    /// read needs none of its stored rows: the head starts at or before minT, or holds the series' oldest sample
    /// (<see cref="MemSeries.MinT"/>). Closed chunks end before the head starts (samples come in time order), and the
    /// stored snapshot of the head itself is skipped by the read anyway. A series written for less than a chunk's span
    /// — every series of a young fleet — then costs a query no database row, no lookup entry and no cache entry: reading
    /// and dropping those rows was most of what a query over a million such series held. A spilled head
    /// (<see cref="MemSeries.SpilledCount"/>) never qualifies: its first samples are only in its row.
    /// </summary>
    private static bool HeadHoldsRange(MemSeries series, long minT) =>
        series.SpilledCount == 0 && series.Head is { Count: > 0 } head && (head.FirstTimestamp <= minT || series.MinT >= head.FirstTimestamp);

    /// <summary>
    /// guarded: the stored chunks overlapping [minT, maxT] of series the cache did not have (oldest first, by series
    /// id), in one statement. A series whose range reaches its newest hours is read to its end and cached (the rows
    /// after maxT are at most those few hours); an older range, or any range when <paramref name="fillCache"/> is false,
    /// is read as asked and not cached.
    /// </summary>
    private Dictionary<long, ChunkCache.CachedChunk[]> ReadMissedChunks(
        List<MemSeries> missed, long minT, long maxT, bool fillCache, CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, ChunkCache.CachedChunk[]>(missed.Count);
        if (missed.Count == 0)
        {
            return result;
        }

        var rows = new Dictionary<long, List<ChunkCache.CachedChunk>>(missed.Count);
        var byId = missed.ToDictionary(s => s.Id);
        var toEnd = new List<MemSeries>();
        var asAsked = new List<MemSeries>();
        foreach (var series in missed)
        {
            rows[series.Id] = [];
            (fillCache && ReadsToEnd(series, maxT) ? toEnd : asAsked).Add(series);
        }

        ReadRows(toEnd, minT, long.MaxValue, rows, cancellationToken);
        ReadRows(asAsked, minT, maxT, rows, cancellationToken);
        foreach (var (id, list) in rows)
        {
            list.Sort(static (a, b) => a.MinT.CompareTo(b.MinT));
            var chunks = list.ToArray();
            result[id] = chunks;
            if (fillCache && ReadsToEnd(byId[id], maxT))
            {
                _cache.Put(id, minT, chunks);
            }
        }

        return result;
    }

    /// <summary>
    /// guarded: whether a read of <paramref name="series"/> up to <paramref name="maxT"/> goes on to its newest row and
    /// is cached: when maxT is at most one chunk span (<see cref="MetricStoreOptions.MaxChunkSpan"/>) before its newest
    /// sample (written without overflow: timestamps are any 64-bit value).
    /// </summary>
    private bool ReadsToEnd(MemSeries series, long maxT)
    {
        var behind = series.LastT - maxT;
        return _cache.MaxBytes > 0 && (series.LastT <= maxT || (behind > 0 && behind <= _maxChunkSpanMs));
    }

    /// <summary>guarded: appends the rows of <paramref name="series"/> overlapping [minT, maxT] to their lists in <paramref name="rows"/>.</summary>
    private void ReadRows(List<MemSeries> series, long minT, long maxT, Dictionary<long, List<ChunkCache.CachedChunk>> rows, CancellationToken cancellationToken)
    {
        if (series.Count == 0)
        {
            return;
        }

        var ids = new StringBuilder("[");
        foreach (var s in series)
        {
            ids.Append(ids.Length == 1 ? "" : ",").Append(s.Id.ToString(CultureInfo.InvariantCulture));
        }

        _selectChunks.Parameters[0].Value = ids.Append(']').ToString();
        _selectChunks.Parameters[1].Value = minT;
        _selectChunks.Parameters[2].Value = maxT;
        using var reader = _selectChunks.ExecuteReader();
        var checkIn = SeriesPerCancellationCheck;
        while (reader.Read())
        {
            if (--checkIn == 0)
            {
                checkIn = SeriesPerCancellationCheck;
                cancellationToken.ThrowIfCancellationRequested();
            }

            rows[reader.GetInt64(0)].Add(new ChunkCache.CachedChunk(reader.GetInt64(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
        }
    }

    /// <summary>Label sets of the series matching every matcher whose data overlaps [minT, maxT].</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyList<LabelSet> Series(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken cancellationToken = default) =>
        Series(matchers, minT, maxT, int.MaxValue, cancellationToken)!;

    /// <summary>
    /// As <see cref="Series(IReadOnlyList{LabelMatcher}, long, long, CancellationToken)"/>, or null as soon as more than
    /// <paramref name="maxSeries"/> match.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyList<LabelSet>? Series(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, int maxSeries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var result = new List<LabelSet>();
        lock (_lock)
        {
            foreach (var s in _index.Resolve(matchers, cancellationToken))
            {
                if (s.LastT >= minT && s.MinT <= maxT)
                {
                    if (result.Count == maxSeries)
                    {
                        return null;
                    }

                    result.Add(_index.LabelsOf(s));
                }
            }
        }

        return result;
    }

    /// <summary>Sorted label names of the series matching the matchers (all series when none) whose data overlaps [minT, maxT].</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyList<string> LabelNames(IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            // Read from the series' pairs: no label set is built per series.
            foreach (var s in _index.Resolve(matchers, cancellationToken))
            {
                if (s.LastT >= minT && s.MinT <= maxT)
                {
                    _index.AddNames(s, names);
                }
            }
        }

        return [.. names];
    }

    /// <summary>Sorted values of label <paramref name="name"/> over the matching series (all when no matchers) overlapping [minT, maxT].</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public IReadOnlyList<string> LabelValues(string name, IReadOnlyList<LabelMatcher> matchers, long minT, long maxT, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(matchers);
        var values = new SortedSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var s in _index.Resolve(matchers, cancellationToken))
            {
                if (s.LastT >= minT && s.MinT <= maxT && _index.ValueOf(s, name) is { Length: > 0 } v)
                {
                    values.Add(v);
                }
            }
        }

        return [.. values];
    }

    /// <summary>
    /// Writes every open head chunk to the database and checkpoints the write-ahead log; when it returns, everything the
    /// store committed survives a power loss or an OS crash, not only a process crash (<see cref="CheckpointOrSync"/>).
    /// </summary>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            FlushHeads();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Deletes chunks older than <see cref="MetricStoreOptions.RetentionAge"/> (by their newest sample, against the
    /// injected clock), forgets series with nothing left, then — when <see cref="MetricStoreOptions.RetentionBytes"/>
    /// is set — deletes the oldest chunks until the database uses at most that many bytes.
    /// </summary>
    public RetentionResult ApplyRetention()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Commit();
            var cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.RetentionAge.TotalMilliseconds;
            var chunks = 0;
            var removed = new List<MemSeries>();
            using (var tx = _db.BeginTransaction())
            {
                using (var delete = _db.CreateCommand())
                {
                    delete.CommandText = "DELETE FROM chunks WHERE max_t < $cutoff";
                    delete.Parameters.AddWithValue("$cutoff", cutoff);
                    chunks += delete.ExecuteNonQuery();
                }

                foreach (var s in _index.All())
                {
                    if (s.LastT < cutoff)
                    {
                        removed.Add(s);
                    }
                }

                DeleteSeries(removed);

                tx.Commit();
            }

            if (_options.RetentionBytes > 0)
            {
                Execute("PRAGMA incremental_vacuum;");
                var bySize = 0;
                while (UsedBytesLocked() > _options.RetentionBytes)
                {
                    var n = DeleteOldestChunks();
                    if (n == 0)
                    {
                        break;
                    }

                    bySize += n;
                    Execute("PRAGMA incremental_vacuum;");
                }

                if (bySize > 0)
                {
                    chunks += bySize;
                    removed.AddRange(RemoveSeriesWithoutSamples());
                }
            }

            Execute("PRAGMA incremental_vacuum;");
            if (chunks > 0 || removed.Count > 0)
            {
                // Rows and series were deleted: cached entries would still name them.
                _cache.Clear();
            }

            return new RetentionResult(chunks, removed.Count);
        }
    }

    /// <summary>Flushes heads and closes the database.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                FlushHeads();
            }
            finally
            {
                _disposed = true;
                _insertSeries.Dispose();
                _insertChunk.Dispose();
                _selectChunks.Dispose();
                _selectHead.Dispose();
                _selectHeads.Dispose();
                _db.Dispose();
            }
        }
    }

    private void Count(AppendResult r)
    {
        Interlocked.Add(ref _appendedTotal, r.Appended);
        Interlocked.Add(ref _outOfOrderTotal, r.OutOfOrder);
        Interlocked.Add(ref _duplicateTotal, r.Duplicate);
        Interlocked.Add(ref _refusedSeriesTotal, r.RefusedSeries);
        Interlocked.Add(ref _refusedSamplesTotal, r.RefusedSamples);
    }

    /// <summary>guarded: whether one more series may be created (MaxSeries; 0 = no limit).</summary>
    private bool HasRoomForSeries() => _options.MaxSeries == 0 || _index.Count < _options.MaxSeries;

    /// <summary>guarded: refreshes the lock-free view of the limit after the index changed.</summary>
    private void UpdateSeriesLimit() => _atSeriesLimit = _options.MaxSeries != 0 && _index.Count >= _options.MaxSeries;

    /// <summary>guarded: the series key of <paramref name="labels"/> in the scratch buffer (valid until the next call).</summary>
    private ReadOnlySpan<byte> KeyOf(SeriesLabels labels)
    {
        var length = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            length += labels.GetName(i).Length + labels.GetValue(i).Length + 2;
        }

        if (_keyScratch.Length < length)
        {
            _keyScratch = new byte[Math.Max(length, _keyScratch.Length * 2)];
        }

        var key = _keyScratch.AsSpan(0, length);
        var pos = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            var name = labels.GetName(i);
            name.CopyTo(key[pos..]);
            pos += name.Length;
            key[pos++] = KeySeparator;
            var value = labels.GetValue(i);
            value.CopyTo(key[pos..]);
            pos += value.Length;
            key[pos++] = KeySeparator;
        }

        return key;
    }

    private void AppendSample(MemSeries series, long t, double v, Visitor counts)
    {
        if (t <= series.LastT)
        {
            if (t == series.LastT)
            {
                counts.Duplicate++;
            }
            else
            {
                counts.OutOfOrder++;
            }

            return;
        }

        var head = series.Head;
        if (series.HeadCount > 0 && (series.HeadCount >= _options.MaxSamplesPerChunk || t - head.FirstTimestamp >= _maxChunkSpanMs))
        {
            CloseHead(series);
        }

        if (!head.TryAppend(t, v))
        {
            throw new InvalidOperationException("head chunk refused an in-order sample");
        }

        series.LastT = t;
        if (t < series.MinT)
        {
            series.MinT = t;
        }

        if (!series.Unflushed)
        {
            series.Unflushed = true;
            _unflushed.Add(series);
        }

        counts.Appended++;
    }

    /// <summary>
    /// guarded: queues the series' head as a closed chunk (replacing its flushed row) and empties it. A spilled head is
    /// read back and joined with its tail; one with no sample since it was spilled is already whole in its row.
    /// </summary>
    private void CloseHead(MemSeries series)
    {
        var head = series.Head;
        if (head.Count > 0)
        {
            if (series.SpilledCount > 0 && SpilledRow(series) is { } row)
            {
                var samples = Joined(row, head);
                _pendingChunks.Add(new PendingChunk(series.Id, samples[0].TimestampMs, samples[^1].TimestampMs, Seal(samples)));
            }
            else
            {
                _pendingChunks.Add(new PendingChunk(series.Id, head.FirstTimestamp, head.LastTimestamp, Seal(head)));
            }
        }

        head.Reset();
        series.SpilledCount = 0;
    }

    /// <summary>
    /// guarded: the row holding a spilled head's first samples (keyed by the head's first timestamp), or null when
    /// retention deleted it; the head is then its tail alone (<see cref="XorChunkAppender.ForgetSpilled"/>).
    /// </summary>
    private byte[]? SpilledRow(MemSeries series)
    {
        _selectHead.Parameters[0].Value = series.Id;
        _selectHead.Parameters[1].Value = series.Head.FirstTimestamp;
        return Found(series, _selectHead.ExecuteScalar() as byte[]);
    }

    /// <summary>guarded: <paramref name="row"/>, the spilled head's row read; when it is null, the head becomes its tail alone.</summary>
    private static byte[]? Found(MemSeries series, byte[]? row)
    {
        if (row is null)
        {
            series.SpilledCount = 0;
            series.Head.ForgetSpilled();
        }

        return row;
    }

    /// <summary>
    /// guarded: reads into <see cref="_spilledRows"/> the rows of the spilled heads with a tail among the flush list's
    /// entries [<paramref name="start"/>, <paramref name="end"/>), in one statement.
    /// </summary>
    private void ReadSpilledRows(int start, int end)
    {
        _spilledRows.Clear();
        var keys = new StringBuilder("[");
        for (var i = start; i < end; i++)
        {
            var s = _unflushed[i];
            if (!s.Deleted && s.Head.Count > 0 && s.SpilledCount > 0)
            {
                keys.Append(keys.Length == 1 ? "[" : ",[").Append(s.Id.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(s.Head.FirstTimestamp.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
        }

        if (keys.Length == 1)
        {
            return;
        }

        _selectHeads.Parameters[0].Value = keys.Append(']').ToString();
        using var reader = _selectHeads.ExecuteReader();
        while (reader.Read())
        {
            _spilledRows[reader.GetInt64(0)] = (byte[])reader.GetValue(1);
        }
    }

    /// <summary>guarded: a spilled head's samples, its row's then its tail's (a view of the seal scratch, valid until the next seal).</summary>
    private ReadOnlySpan<Sample> Joined(byte[] row, XorChunkAppender tail)
    {
        var most = (row.Length < 2 ? 0 : System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(row)) + tail.Count;
        if (_sealScratch.Length < most)
        {
            _sealScratch = new Sample[Math.Max(most, _sealScratch.Length * 2)];
        }

        var n = ChunkDecoder.Decode(row, long.MinValue, long.MaxValue, _sealScratch, 0);
        n = ChunkDecoder.Decode(tail.Bytes, long.MinValue, long.MaxValue, _sealScratch, n);
        return _sealScratch.AsSpan(0, n);
    }

    /// <summary>
    /// The bytes of a joined head: the compact encoding when it applies and is smaller, else the XOR one (as
    /// <see cref="Seal(XorChunkAppender)"/> chooses for a head kept whole, so a spilled head closes to the same bytes).
    /// </summary>
    private byte[] Seal(ReadOnlySpan<Sample> samples)
    {
        _sealAppender.Reset();
        foreach (var s in samples)
        {
            _sealAppender.TryAppend(s.TimestampMs, s.Value);
        }

        var xor = _sealAppender.ToArray();
        var dec = CompactChunkEncoder.TryEncode(samples);
        return dec is not null && dec.Length < xor.Length ? dec : xor;
    }

    /// <summary>The bytes of a closing chunk: the compact encoding when it applies and is smaller, else the XOR one.</summary>
    private byte[] Seal(XorChunkAppender head)
    {
        if (_sealScratch.Length < head.Count)
        {
            _sealScratch = new Sample[Math.Max(head.Count, _sealScratch.Length * 2)];
        }

        var n = 0;
        var xor = head.ToArray();
        var it = new XorChunkIterator(xor);
        while (it.MoveNext(out var t, out var v))
        {
            _sealScratch[n++] = new Sample(t, v);
        }

        var dec = CompactChunkEncoder.TryEncode(_sealScratch.AsSpan(0, n));
        return dec is not null && dec.Length < xor.Length ? dec : xor;
    }

    /// <summary>
    /// Writes the heads that took samples since the last flush (the others' rows already hold them), a spilled one
    /// joined with its row (read <see cref="SpilledRowsPerRead"/> to a statement), then spills the heads whose bytes the
    /// rows now hold. The list is cleared and heads spilled
    /// only after the commit: a failed one leaves every head, with its bytes, to the next flush.
    /// </summary>
    private void FlushHeads()
    {
        var written = 0;
        for (var start = 0; start < _unflushed.Count; start += SpilledRowsPerRead)
        {
            var end = Math.Min(start + SpilledRowsPerRead, _unflushed.Count);
            ReadSpilledRows(start, end);
            for (var i = start; i < end; i++)
            {
                var s = _unflushed[i];
                if (!s.Deleted && s.Head is { Count: > 0 } head)
                {
                    if (s.SpilledCount > 0 && Found(s, _spilledRows.GetValueOrDefault(s.Id)) is { } row)
                    {
                        var samples = Joined(row, head);
                        _pendingChunks.Add(new PendingChunk(s.Id, samples[0].TimestampMs, samples[^1].TimestampMs, Seal(samples)));
                    }
                    else
                    {
                        _pendingChunks.Add(new PendingChunk(s.Id, head.FirstTimestamp, head.LastTimestamp, Seal(head)));
                    }

                    written++;
                }
            }
        }

        _spilledRows.Clear();
        Commit();
        foreach (var s in _unflushed)
        {
            s.Unflushed = false;
            if (!s.Deleted && s.Head.Count > 0 && (s.SpilledCount > 0 || s.Head.ByteLength > SpillAboveBytes))
            {
                // Its row now holds every sample of the head.
                s.SpilledCount = (ushort)s.HeadCount;
                s.Head.Spill();
                SpilledHeadsTotal++;
            }
        }

        _unflushed.Clear();
        FlushedHeadsTotal += written;
        CheckpointOrSync();
    }

    /// <summary>
    /// Makes everything committed so far durable across a power loss (commits use <c>synchronous=NORMAL</c>): a
    /// TRUNCATE checkpoint that completes copies the WAL into the database and syncs it (SQLite syncs the database after
    /// each completed checkpoint, https://www.sqlite.org/pragma.html#pragma_synchronous), and empties the WAL. One
    /// that does not complete — another connection (a process outside the gateway) still reads frames of the WAL —
    /// leaves the rest in the WAL, possibly unsynced, so a sync point follows (<see cref="WalSync"/>).
    /// </summary>
    private void CheckpointOrSync()
    {
        bool complete;
        using (var checkpoint = _db.CreateCommand())
        {
            // One row: busy (1 when it could not finish), frames in the WAL, frames checkpointed (-1, -1 when not in WAL mode).
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            using var row = checkpoint.ExecuteReader();
            complete = row.Read() && row.GetInt64(0) == 0 && row.GetInt64(1) == row.GetInt64(2);
        }

        if (!complete)
        {
            WalSync.Commit(_db);
            WalSyncsTotal++;
        }
    }

    /// <summary>Writes pending series and chunks in one transaction.</summary>
    private void Commit()
    {
        if (_pendingSeries.Count == 0 && _pendingChunks.Count == 0)
        {
            return;
        }

        using var tx = _db.BeginTransaction();
        _insertSeries.Transaction = tx;
        foreach (var (s, key) in _pendingSeries)
        {
            // A series deleted before its first commit (retention in between) is not written.
            if (!s.Deleted)
            {
                _insertSeries.Parameters[0].Value = s.Id;
                _insertSeries.Parameters[1].Value = key;
                _insertSeries.Parameters[2].Value = _index.MetricNameOf(s);
                _insertSeries.ExecuteNonQuery();
            }
        }

        _insertChunk.Transaction = tx;
        foreach (var c in _pendingChunks)
        {
            _insertChunk.Parameters[0].Value = c.SeriesId;
            _insertChunk.Parameters[1].Value = c.MinT;
            _insertChunk.Parameters[2].Value = c.MaxT;
            _insertChunk.Parameters[3].Value = c.Data;
            _insertChunk.ExecuteNonQuery();
        }

        tx.Commit();
        _insertSeries.Transaction = null;
        _insertChunk.Transaction = null;
        foreach (var c in _pendingChunks)
        {
            _cache.Written(c.SeriesId, c.MinT, c.MaxT, c.Data);
        }

        _pendingSeries.Clear();
        _pendingChunks.Clear();
    }

    private void Load()
    {
        // Series by row id while the chunks' bounds are read (the index itself keeps no map by id).
        var byId = new Dictionary<long, MemSeries>();
        using (var cmd = _db.CreateCommand())
        {
            cmd.CommandText = "SELECT id, labels FROM series";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetInt64(0);
                var key = (byte[])reader.GetValue(1);
                byId[id] = _index.Add(id, HashKey(key), key);
                _nextId = Math.Max(_nextId, id);
            }
        }

        foreach (var (id, (minT, maxT)) in ChunkBounds())
        {
            if (byId.TryGetValue(id, out var s))
            {
                s.MinT = minT;
                s.LastT = maxT;
            }
        }

        // Series already stored stay, even beyond a lowered limit: only new ones are refused.
        UpdateSeriesLimit();
    }

    private MemSeries? Find(ReadOnlySpan<byte> key, int hash) => _index.Find(key, hash);

    /// <summary>A new series from a remote-write request's labels (pairs interned; the key copied for the insert).</summary>
    private MemSeries Create(SeriesLabels labels, ReadOnlySpan<byte> key, int hash) => Added(_index.Add(++_nextId, hash, labels), key.ToArray());

    /// <summary>A new series from model labels (pairs interned).</summary>
    private MemSeries Create(LabelSet labels, byte[] key, int hash) => Added(_index.Add(++_nextId, hash, labels), key);

    private MemSeries Added(MemSeries series, byte[] key)
    {
        _pendingSeries.Add((series, key));
        UpdateSeriesLimit();
        return series;
    }

    /// <summary>Removes <paramref name="batch"/> from the index and deletes their rows (in the caller's transaction).</summary>
    private void DeleteSeries(List<MemSeries> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        _index.Remove(batch);
        UpdateSeriesLimit();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "DELETE FROM series WHERE id = $id; DELETE FROM chunks WHERE series_id = $id;";
        var id = cmd.Parameters.Add("$id", SqliteType.Integer);
        foreach (var series in batch)
        {
            series.Deleted = true;
            id.Value = series.Id;
            cmd.ExecuteNonQuery();
        }
    }

    private long UsedBytesLocked()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())";
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return reader.GetInt64(0) * reader.GetInt64(1);
    }

    /// <summary>Deletes the oldest tenth of the chunks (at least one); heads snapshotted by a flush are not exempt.</summary>
    /// <summary>
    /// After chunks were deleted by size: every series starts at its oldest remaining sample, and series with no sample
    /// left (no chunk, empty head) are deleted, so series, label and range queries stop naming them.
    /// </summary>
    private List<MemSeries> RemoveSeriesWithoutSamples()
    {
        var bounds = ChunkBounds();
        var empty = new List<MemSeries>();
        foreach (var s in _index.All())
        {
            // A spilled head's row is in the bounds when retention left it; the memory holds only the tail.
            var headMinT = s.Head is { Count: > 0 } head ? head.ChunkFirstTimestamp : long.MaxValue;
            var minT = Math.Min(bounds.TryGetValue(s.Id, out var b) ? b.MinT : long.MaxValue, headMinT);
            if (minT == long.MaxValue)
            {
                empty.Add(s);
            }
            else
            {
                s.MinT = minT;
            }
        }

        if (empty.Count > 0)
        {
            using var tx = _db.BeginTransaction();
            DeleteSeries(empty);
            tx.Commit();
        }

        return empty;
    }

    /// <summary>Oldest and newest timestamp in the stored chunks of each series that has any.</summary>
    private Dictionary<long, (long MinT, long MaxT)> ChunkBounds()
    {
        var bounds = new Dictionary<long, (long, long)>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT series_id, MIN(min_t), MAX(max_t) FROM chunks GROUP BY series_id";
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            bounds[reader.GetInt64(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        }

        return bounds;
    }

    private int DeleteOldestChunks()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks ORDER BY max_t LIMIT MAX(1, (SELECT COUNT(*) FROM chunks) / 10))";
        return cmd.ExecuteNonQuery();
    }

    private static int HashKey(ReadOnlySpan<byte> key)
    {
        var h = default(HashCode);
        h.AddBytes(key);
        return h.ToHashCode();
    }

    private static byte[] BuildKey(LabelSet labels)
    {
        var buffer = new List<byte>();
        foreach (var l in labels)
        {
            buffer.AddRange(Encoding.UTF8.GetBytes(l.Name));
            buffer.Add(KeySeparator);
            buffer.AddRange(Encoding.UTF8.GetBytes(l.Value));
            buffer.Add(KeySeparator);
        }

        return [.. buffer];
    }

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new SqliteParameter(p, null));
        }

        return cmd;
    }

    /// <summary>The streaming ingest path: one series key per series, then Gorilla appends. Reused under the store's lock.</summary>
    private sealed class Visitor(MetricStore store) : IWriteRequestVisitor
    {
        private MemSeries? _current;

        public int Appended;
        public int OutOfOrder;
        public int Duplicate;
        public int NewSeries;
        public int RefusedSeries;
        public int RefusedSamples;

        public AppendResult Result => new(Appended, OutOfOrder, Duplicate, NewSeries, RefusedSeries, RefusedSamples);

        public void Reset()
        {
            Appended = OutOfOrder = Duplicate = NewSeries = RefusedSeries = RefusedSamples = 0;
            _current = null;
        }

        public void BeginSeries(SeriesLabels labels)
        {
            var key = store.KeyOf(labels);
            var hash = HashKey(key);
            var series = store.Find(key, hash);
            if (series is null)
            {
                if (!store.HasRoomForSeries())
                {
                    // Over the series limit: this series' samples are dropped and counted (Sample sees no current series).
                    RefusedSeries++;
                    _current = null;
                    return;
                }

                series = store.Create(labels, key, hash);
                NewSeries++;
            }

            _current = series;
        }

        public void Sample(long timestampMs, double value)
        {
            if (_current is null)
            {
                RefusedSamples++;
                return;
            }

            store.AppendSample(_current, timestampMs, value, this);
        }

        public void EndSeries() => _current = null;

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }
}
