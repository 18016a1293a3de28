using System.Globalization;
using Flotel.Wire.Syslog;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Flotel.Store.Logs;

/// <summary>
/// The gateway's embedded log store: daily indices (named by the index pattern from <c>@timestamp</c>, UTC) in one
/// SQLite database in WAL mode, one writer connection, pooled read-only connections for searches.
/// </summary>
/// <remarks>
/// Schema (N = <c>indices.id</c>; index names never appear in SQL, only their numeric ids):
/// <code>
/// indices(id INTEGER PK, name TEXT UNIQUE, uuid TEXT, created_ms, newest_ms, doc_count, source_bytes)
/// queue_positions(source TEXT PK, queue_identity TEXT, sequence INTEGER)
///          -- per queue reader: the last queue record stored, written in the transaction of its batch (LogStorePosition)
/// sync_points(id INTEGER PK = 1, count INTEGER)  -- the row each SyncAsync updates (WalSync)
///   docs_N(rowid INTEGER PK, id TEXT, ts INTEGER ms, severity, facility, program, logsource, host,
///          device_id, workload, source TEXT)      -- source = '' : the _source JSON is in blocks_N
///     index docs_N_nots(ts) WHERE ts IS NULL (the rows without @timestamp); unique index docs_N_id(id) once a
///     document arrives with its own _id; indices made before block time bounds have index docs_N_ts(ts) instead
///     id: the _id a document was given, NULL for an id the store generated (computed from the row: LogDocumentId);
///         indices made before keep id TEXT NOT NULL and a generated id's text
///     program … workload: the id of the value in values_N (INTEGER), or its TEXT past MaxValues values
///   values_N(id INTEGER PK, value TEXT UNIQUE)    -- the repeated strings of the five columns above
///   fts_N  FTS5(message), contentless, detail=none, rowid = docs_N.rowid
///          -- which rows hold each unicode61 token of message; no positions: LogFullText checks phrases
///   blocks_N(last_rowid INTEGER PK, first_rowid, min_ts INTEGER, max_ts INTEGER, source_bytes, level INTEGER, data BLOB)
///          -- the _source texts of rows first_rowid..last_rowid: their messages and the rest of each source in two
///             zstd frames, or one frame of whole sources for blocks written before (layouts in LogBlock)
///          -- min_ts, max_ts: the least and greatest ts of the block's rows (NULL when none has one), see below
///          -- level: the zstd level the block was written at; NULL for blocks written before the column existed
///     index blocks_N_ts(max_ts, min_ts, first_rowid)
///   blockrows_N(last_rowid INTEGER PK, ts_rows INTEGER, ordered INTEGER)   -- indices with block time bounds only
///          -- per block of blocks_N (same last_rowid): how many of its rows have a ts, and 1 when every row has one
///             and ts never decreases with the row id (as written; a row deleted since keeps it so); see below
///          -- indices made before block time bounds: (last_rowid PK, first_rowid, source_bytes, data, level), no index
///   dicts_N(id INTEGER PK, data BLOB)  -- the index's trained zstd dictionary (one row; made when it is trained)
///          -- id: the dictionary's zstd id, which the messages frame of each block compressed with it names (LogBlock)
/// </code>
/// The <c>_source</c> texts are stored apart from the rows, compressed in blocks: each commit closes one block per index
/// it wrote to (or more, one per <see cref="MaxBlockBytes"/> of sources), compressed with zstd level
/// <see cref="FreshBlockLevel"/>; while the store is idle, <see cref="MergeStepAsync"/> re-packs each block not yet
/// written at level <see cref="RepackLevel"/> once, joining runs of adjacent blocks smaller than
/// <see cref="SmallBlockBytes"/> into one of up to <see cref="MaxBlockBytes"/>, in one transaction (a crash keeps either
/// the old blocks or the new one), and returns the pages it freed to the file system. Idle time re-packs
/// only once small blocks worth <see cref="SmallBlockBytes"/> were written since the last re-pack, or none for
/// <see cref="RepackQuietDelay"/> (see <see cref="IdleStepAsync"/>): at a fleet's trickle every source is then compressed
/// once more, not again with each small batch that follows it. Every row id from
/// <c>first_rowid</c> to <c>last_rowid</c> has an entry; ranges never overlap and only grow with row ids, so the block of
/// a row is one primary-key seek. SQL reads a row's source with <c>flotel_source</c> (<see cref="LogSourceFunction"/>),
/// which decompresses through a bounded cache (<see cref="BlockCacheBytes"/>); a phrase check reads only the block's
/// messages section (<see cref="LogFullText"/>). Blocks written before the messages section are read as they are, and
/// re-packing writes the new layout. A row deleted alone (replaced by
/// <c>_bulk</c>) leaves its bytes in its block until retention drops the block: size retention deletes whole blocks,
/// oldest first. Rows written before blocks existed keep their source text in <c>source</c> and are read as they are
/// (no migration: retention drops them in time). A search reads the stored column with its page and the sources of the
/// page's hits afterwards, so a sorted statement does not decompress for every match. A block of 1 MiB holds about a
/// third of a megabyte of messages, too little for zstd to learn an index's vocabulary within it: once an index holds
/// <see cref="TrainSourceBytes"/> of sources, idle time trains a zstd dictionary from its first messages (at most
/// <see cref="TrainMessageBytes"/>, without the write lock) and commits it in <c>dicts_N</c>, in a transaction of its own
/// before any block uses it; every block closed or re-packed afterwards compresses its messages frame with it
/// (LogStore.Dictionaries.cs). The rest frames keep the messages as their dictionary (a trained one saved 1 %). A block
/// names its dictionary in its frame header, so blocks written before it, and those of directories written before
/// dictionaries existed, are read as they are; a block naming a dictionary its index lacks fails the statements that
/// read it with an error saying so.
/// Time bounds per block instead of a ts index over every row: each row of an index lands in a block when its batch
/// commits, so a row whose ts lies in a range lies in a block whose [min_ts, max_ts] overlaps the range. A range on
/// <c>@timestamp</c> narrows a statement to the row ids of those blocks (<see cref="LogQuerySql"/>), and a page sorted by
/// <c>@timestamp</c> walks the blocks in order of max_ts (newest first) or min_ts (oldest first), stopping once the
/// next block cannot hold a row before the page's last (see <see cref="LogStore.Search"/>). Bounds only ever widen: a
/// re-packed run takes the union of its blocks' bounds, a replaced row leaves its block's bounds as they were, and
/// retention deletes whole blocks with their rows. Indices made before keep their ts index and are searched with it.
/// The counts in <c>blockrows_N</c> let a date histogram count a block that lies wholly inside a bucket without reading
/// its rows, and find where a bucket's edge cuts an ordered block by a binary search over its row ids (see
/// <c>LogStore.BlockCounts.cs</c>). They are kept exact: a closed block counts its rows, a re-packed run sums its
/// blocks' counts, a row deleted by id takes one off its block's, retention deletes whole blocks with their entries. They
/// live beside blocks_N rather than in it so that indices made before them get them on open without rewriting a block
/// (a column added to blocks_N would lie past its data BLOB): opening fills the entries of the blocks that have none
/// from their rows (<see cref="FillBlockRows"/>), once.
/// Indices written before this layout (FTS5 with positions, text columns, no values_N) are read as they are: the SQL is
/// the same for both, and the functions it calls (<c>flotel_fts</c>, <c>flotel_phrase</c>, <c>flotel_text</c>,
/// <c>flotel_id</c>, <see cref="LogSourceFunction"/>) look at the layout of the index they are called for.
/// Full-text segments are merged lazily while events arrive (FTS5 <c>automerge</c> = <see cref="FtsAutomerge"/>: a level
/// is merged once it holds 16 segments instead of 4, which halves how often each posting is rewritten) and caught up with
/// <see cref="MergeStepAsync"/> when the store is idle, back to the shape FTS5's default would keep.
/// A daily index is three tables, so retention by age drops tables instead of deleting rows; <c>auto_vacuum=INCREMENTAL</c>
/// returns the pages to the file system afterwards. Retention by size (<see cref="LogStoreOptions.MaxBytes"/>) drops
/// whole indices too, then deletes the oldest rows of the oldest one, and leaves the freed pages for the next writes.
/// <c>synchronous=NORMAL</c>: a committed batch survives a process crash, but the batches committed since the last
/// <see cref="SyncAsync"/> may roll back on a power loss or an OS crash. A writer that drops its source's copy of a
/// batch (the queue cursor of <c>store-logs</c>) does so only after a sync point that followed the batch's commit.
/// <para>
/// One type in parts by role: this file holds the state, opening, the schema and disposal; <c>LogStore.Write.cs</c> the
/// single writer and its pipelined encoding; <c>LogStore.Search.cs</c> searches, counts and index listing (the SQL
/// comes from <see cref="LogQuerySql"/>); <c>LogStore.Maintenance.cs</c> full-text merging, retention and WAL
/// checkpoint requests.
/// </para>
/// </remarks>
public sealed partial class LogStore : IDisposable
{
    private readonly LogStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly LogstashIndexPattern _pattern;
    private readonly string _readConnectionString;

    // Writer side: the connection, the per-index state and the reusable JSON buffer are used only under _writeGate.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SqliteConnection _writer;
    private readonly Dictionary<string, IndexState> _indices = new(StringComparer.Ordinal);

    // Encoding buffers reused across WriteAsync calls (two per caller while chunks are pipelined, a few kept).
    private const int MaxPooledBatches = 4;

    // Events encoded per chunk in WriteAsync: large enough that handing a chunk to another thread costs nothing
    // measurable, small enough that a typical queue batch (thousands of events) is several chunks.
    private const int ChunkEvents = 1024;
    private readonly System.Collections.Concurrent.ConcurrentBag<PreparedBatch> _batches = [];

    // Read side: replaced as a whole after each commit, sorted by name; readers never lock.
    private volatile PublishedIndex[] _published = [];

    // The WAL is kept small (architecture §9.1 "Stores", docs/operations.md "Limits"): once the -wal file passes
    // CheckpointWalBytes (or a tenth of the database, if that is less, but never under MinCheckpointWalBytes: see
    // WalCheckpointBytes) after a commit, WalCheckpointer copies its pages into the database on its own connection while
    // the writer goes on (PASSIVE); at the writer's next commit a TRUNCATE checkpoint copies what came meanwhile and
    // empties the file, unless a search still reads from it (then journal_size_limit cuts the file back to
    // WalSizeLimitBytes at the first commit after the WAL restarts). Without the second step the WAL never restarts while
    // events keep arriving (a PASSIVE checkpoint never catches up with a running writer) and grew to several times the raw
    // bytes stored. The writer's automatic checkpoint stays as a backstop at BackstopCheckpointPages.
    internal const long CheckpointWalBytes = 8L * 1024 * 1024;

    // A small database's WAL would otherwise be as large as the data: at 25 MB of logs an 8 MiB WAL is a third more disk
    // while writing (docs/benchmarks.md, "Log storage"). Below 1 MiB the checkpoints (each an fsync of both files) would
    // come every few commits for no gain a disk would notice.
    internal const long MinCheckpointWalBytes = 1L * 1024 * 1024;
    private const int CheckpointDatabaseShare = 10;
    private const long WalSizeLimitBytes = 4L * 1024 * 1024;
    private const int BackstopCheckpointPages = 16_384;
    private WalCheckpointer? _checkpointer;
    private readonly FileInfo _walFile;
    private readonly FileInfo _databaseFile;

    // Size retention deletes down to this share of LogStoreOptions.MaxBytes, so that it runs once per 5 % of the limit
    // written rather than after every commit (see EnforceMaxBytes).
    private const double RetentionTarget = 0.95;
    private long _usedAfterSizeRetention;
    private long _deletedByAge;
    private long _deletedBySize;

    // FTS5 merges a level of the full-text index once it holds this many segments (FTS5's default is 4). With 16 each
    // posting is rewritten about half as often during a burst: syslog → searchable 96 k → 109 k msg/s on the same run
    // (docs/benchmarks.md). Single-term queries stayed at 0.02–0.05 ms on a 1 M-event index either way; MergeStepAsync
    // catches up when idle.
    internal const int FtsAutomerge = 16;

    // Distinct values of the five repeated strings (program, logsource, host, device_id, workload) one index keeps as ids;
    // later new values are stored as text in the row. A fleet has tens to thousands (devices, programs); the bound keeps
    // the writer's dictionary and values_N small when a client sends a new value with every event.
    internal const int MaxValues = 65_536;

    // Pages of merge work per MergeStepAsync call (a step takes ~20–30 ms here): short enough that a batch arriving during
    // a step waits little for the write lock.
    private const int MergeStepPages = 128;

    // Above this many matches in an index, a search sorted by @timestamp walks the ts index (see Search).
    private const int IndexedSortThreshold = 1000;
    private bool _disposed;
    private long _syncs;
    private int _pendingMerges;

    // Blocks of _source texts (see the schema above). A commit's block holds what one batch brought to one index:
    // thousands of events in a busy fleet, a handful in a quiet one, which re-packing joins later.
    internal const int MaxBlockBytes = 1024 * 1024;
    internal const int SmallBlockBytes = 256 * 1024;

    // zstd levels: 1 on the write path (it runs under the write lock), 9 when idle time re-packs a block. Every block is
    // re-packed once at RepackLevel (blocks_N.level records the level a block was written at): on the mix of
    // bench/Flotel.LogCorpus, 200,000 events in 127 blocks of 1 MiB, level 9 is 7.20 MB of block data against level 1's
    // 9.33 and level 3's 8.93, for 6.5 µs of CPU per event against 1.1 (levels 7 and 8 cost as much for 7.31 and 7.21
    // MB); decompression costs the same at every level (docs/benchmarks.md, LogBlockHarness).
    internal const int FreshBlockLevel = 1;
    internal const int RepackLevel = 9;

    // Decompressed blocks kept for every connection (see LogBlockCache): 32 blocks of MaxBlockBytes.
    internal const long BlockCacheBytes = 32L * 1024 * 1024;
    private readonly LogSourceFunction.Blocks _blocks = new(BlockCacheBytes);
    private readonly LogBlock.Encoder _freshBlocks = new(new ZstdSharp.Compressor(FreshBlockLevel));
    private readonly LogBlock.Encoder _repackedBlocks = new(new ZstdSharp.Compressor(RepackLevel));
    private int _pendingRepacks;

    // Idle re-packing waits for this many bytes of small blocks, or for this long without a new one.
    internal static readonly TimeSpan RepackQuietDelay = TimeSpan.FromSeconds(30);

    /// <summary>Source bytes of the small blocks written since the last re-pack (they are what a re-pack would join).</summary>
    private long _smallBlockBytes;

    /// <summary>When the last small block was written (a timestamp of the clock; 0 = none since the store opened).</summary>
    private long _lastSmallBlock;

    /// <summary>
    /// Blocks of at least SmallBlockBytes written at FreshBlockLevel since the store opened and not yet re-packed: due
    /// for idle re-packing at once (no later block joins them), whatever the small blocks wait for.
    /// </summary>
    private long _freshLargeBlocks;

    private LogStore(LogStoreOptions options, TimeProvider time, LogstashIndexPattern pattern)
    {
        _options = options;
        _time = time;
        _pattern = pattern;
        string path = Path.GetFullPath(options.DatabasePath);
        _readConnectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
        _writer = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        _walFile = new FileInfo(path + "-wal");
        _databaseFile = new FileInfo(path);
    }

    /// <summary>The options the store was opened with.</summary>
    public LogStoreOptions Options => _options;

    /// <summary>
    /// Checks a <c>_source</c> document as <see cref="WriteDocumentsAsync"/> reads it: false with a reason when it is
    /// not one JSON object.
    /// </summary>
    public static bool TryValidateSource(ReadOnlySpan<byte> json, out string? error) => SourceFields.TryRead(json, out _, out error);

    /// <summary>Opens (or creates) the store; throws <see cref="ArgumentException"/> when the options are invalid.</summary>
    public static LogStore Open(LogStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _ = Directory.CreateDirectory(options.DataDirectory);
        var store = new LogStore(options, time ?? TimeProvider.System, LogstashIndexPattern.Parse(options.IndexPattern));
        try
        {
            store.Initialize();
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    private void Initialize()
    {
        _writer.Open();
        LogSourceFunction.Register(_writer, _blocks);
        // auto_vacuum must be set before the first table exists; it is a no-op on an existing database.
        Execute("PRAGMA auto_vacuum=INCREMENTAL");
        Execute("PRAGMA journal_mode=WAL");
        Execute("PRAGMA synchronous=NORMAL");
        Execute("PRAGMA temp_store=MEMORY");
        Execute("PRAGMA cache_size=-16384");
        // Checkpoints are WalCheckpointer's; the automatic one is only a backstop (see BackstopCheckpointPages).
        Execute("PRAGMA wal_autocheckpoint=" + BackstopCheckpointPages.ToString(CultureInfo.InvariantCulture));
        Execute("PRAGMA journal_size_limit=" + WalSizeLimitBytes.ToString(CultureInfo.InvariantCulture));
        // The writer never waits for readers: its TRUNCATE checkpoints give up on a WAL a search still reads (see CheckpointWalBytes).
        Execute("PRAGMA busy_timeout=0");
        Execute("""
            CREATE TABLE IF NOT EXISTS indices(
              id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
              newest_ms INTEGER NOT NULL, doc_count INTEGER NOT NULL, source_bytes INTEGER NOT NULL)
            """);
        // One row per writer that names where its batches came from (LogStorePosition), written in the batch's transaction.
        Execute("CREATE TABLE IF NOT EXISTS queue_positions(source TEXT PRIMARY KEY, queue_identity TEXT NOT NULL, sequence INTEGER NOT NULL)");
        // The row SyncAsync updates (WalSync).
        Execute(WalSync.CreateTable);
        var loaded = new List<IndexState>();
        using (SqliteCommand command = _writer.CreateCommand())
        {
            command.CommandText = "SELECT id, name, uuid, created_ms, newest_ms, doc_count, source_bytes FROM indices";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                loaded.Add(new IndexState(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3))
                {
                    NewestMs = reader.GetInt64(4),
                    DocCount = reader.GetInt64(5),
                    SourceBytes = reader.GetInt64(6),
                });
            }
        }

        foreach (IndexState index in loaded)
        {
            // Indices written before blocks existed get their table; their rows keep their source text.
            Execute($"CREATE TABLE IF NOT EXISTS {index.Blocks}({BlocksColumns})");
            // Blocks tables made before the level column get it, NULL for every block: not yet re-packed at RepackLevel,
            // so idle time re-packs them once (a column added this way rewrites no row).
            if (!HasBlockLevels(index))
            {
                Execute($"ALTER TABLE {index.Blocks} ADD COLUMN level INTEGER");
            }

            // A block may end past the last row (rows replaced since): row ids are never given twice.
            index.NextRowId = Scalar(_writer,
                $"SELECT max(coalesce((SELECT max(rowid) FROM {index.Docs}), 0), coalesce((SELECT max(last_rowid) FROM {index.Blocks}), 0)) + 1");
            // Indices written before the compact layout keep positions (their phrases are FTS5 phrases) and text columns.
            bool compact = IsCompact(index);
            _blocks.SetPositions(index.Id, !compact);
            if (compact)
            {
                index.Values = LoadValues(index);
            }

            index.StoresGeneratedIds = IdsAreStored(index);
            LoadDictionary(index);
            index.BlockTimes = HasBlockTimes(index);
            if (index.BlockTimes)
            {
                Execute($"CREATE TABLE IF NOT EXISTS {index.BlockRows}({BlockRowsColumns})");
                FillBlockRows(index);
            }

            // Indices written by an older version kept FTS5's default automerge; a crash may have left merging to do.
            Execute($"INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('automerge', {FtsAutomerge.ToString(CultureInfo.InvariantCulture)})");
            _indices[index.Name] = index;
            SetNeedsMerge(index, true);
            SetNeedsRepack(index, true);
        }

        Publish();
    }

    private IndexState GetOrCreate(string name, SqliteTransaction tx)
    {
        if (_indices.TryGetValue(name, out IndexState? index))
        {
            return index;
        }

        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        string uuid = LogDocumentId.NewIndexUuid();
        using (SqliteCommand insert = _writer.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO indices(name, uuid, created_ms, newest_ms, doc_count, source_bytes) VALUES (@n, @u, @c, @c, 0, 0) RETURNING id";
            _ = insert.Parameters.AddWithValue("@n", name);
            _ = insert.Parameters.AddWithValue("@u", uuid);
            _ = insert.Parameters.AddWithValue("@c", now);
            index = new IndexState((long)insert.ExecuteScalar()!, name, uuid, now) { NewestMs = long.MinValue, NextRowId = 1, Dirty = true };
        }

        // The five repeated strings have no declared type: a row holds the id of a value in values_N, or the text itself
        // once the index has MaxValues values (see LogValues).
        Execute($"""
            CREATE TABLE {index.Docs}(rowid INTEGER PRIMARY KEY, id TEXT, ts INTEGER, severity INTEGER, facility INTEGER,
              program, logsource, host, device_id, workload, source TEXT NOT NULL);
            CREATE INDEX {index.Docs}_nots ON {index.Docs}(ts) WHERE ts IS NULL;
            CREATE TABLE {index.ValuesTable}(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
            CREATE TABLE {index.Blocks}({TimedBlocksColumns});
            CREATE INDEX {index.Blocks}_ts ON {index.Blocks}(max_ts, min_ts, first_rowid);
            CREATE TABLE {index.BlockRows}({BlockRowsColumns});
            CREATE VIRTUAL TABLE {index.Fts} USING fts5(message, {FtsOptions});
            INSERT INTO {index.Fts}({index.Fts}, rank) VALUES('automerge', {FtsAutomerge.ToString(CultureInfo.InvariantCulture)});
            """, tx);
        index.Values = [];
        index.BlockTimes = true;
        _indices[name] = index;
        _blocks.SetPositions(index.Id, false);
        index.Created = true;
        return index;
    }

    // The compact full-text layout: rows per token, no positions (LogFullText checks phrases on the message). FTS5 keeps
    // its docsize table: contentless_delete, which deletes rows without their text, refuses columnsize=0.
    private const string FtsOptions = "content='', contentless_delete=1, detail=none";

    private bool IsCompact(IndexState index) => TableDeclares(index.Fts, "detail=none");

    private bool HasBlockLevels(IndexState index) => TableDeclares(index.Blocks, "level INTEGER");

    // Indices made with time bounds per block have no ts index over their rows (see the schema above).
    private bool HasBlockTimes(IndexState index) => TableDeclares(index.Blocks, "min_ts INTEGER");

    // Indices made before generated ids were computed from the row declare id NOT NULL: they get a generated id's text.
    private bool IdsAreStored(IndexState index) => TableDeclares(index.Docs, "id TEXT NOT NULL");

    /// <summary>
    /// Whether the CREATE statement SQLite keeps for <paramref name="table"/> holds <paramref name="text"/>: which layout
    /// an index was made with.
    /// </summary>
    private bool TableDeclares(string table, string text)
    {
        using SqliteCommand command = _writer.CreateCommand();
        command.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = @n";
        _ = command.Parameters.AddWithValue("@n", table);
        return command.ExecuteScalar() is string sql && sql.Contains(text, StringComparison.Ordinal);
    }

    private Dictionary<string, long> LoadValues(IndexState index)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        using SqliteCommand command = _writer.CreateCommand();
        command.CommandText = $"SELECT id, value FROM {index.ValuesTable}";
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            values[reader.GetString(1)] = reader.GetInt64(0);
        }

        return values;
    }

    private const string BlocksColumns =
        "last_rowid INTEGER PRIMARY KEY, first_rowid INTEGER NOT NULL, source_bytes INTEGER NOT NULL, data BLOB NOT NULL, level INTEGER";

    // The columns a statement reads come before the data: SQLite reads a column past a large BLOB by walking its overflow pages.
    private const string TimedBlocksColumns =
        "last_rowid INTEGER PRIMARY KEY, first_rowid INTEGER NOT NULL, min_ts INTEGER, max_ts INTEGER, source_bytes INTEGER NOT NULL, "
        + "level INTEGER, data BLOB NOT NULL";

    private const string BlockRowsColumns = "last_rowid INTEGER PRIMARY KEY, ts_rows INTEGER NOT NULL, ordered INTEGER NOT NULL";

    /// <summary>
    /// Gives every block of an index with block time bounds that has no <c>blockrows_N</c> entry (those written before
    /// the table existed) its entry, counted from its rows: one pass over the rows of those blocks, in one transaction.
    /// </summary>
    private void FillBlockRows(IndexState index)
    {
        var missing = new List<(long First, long Last)>();
        using (SqliteCommand list = _writer.CreateCommand())
        {
            list.CommandText = $"SELECT b.first_rowid, b.last_rowid FROM {index.Blocks} b "
                + $"WHERE NOT EXISTS (SELECT 1 FROM {index.BlockRows} r WHERE r.last_rowid = b.last_rowid) ORDER BY b.last_rowid";
            using SqliteDataReader reader = list.ExecuteReader();
            while (reader.Read())
            {
                missing.Add((reader.GetInt64(0), reader.GetInt64(1)));
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        using SqliteTransaction tx = _writer.BeginTransaction();
        using var rows = new RawStatement(_writer, $"SELECT ts FROM {index.Docs} WHERE rowid BETWEEN ?1 AND ?2 ORDER BY rowid");
        using var insert = new RawStatement(_writer, $"INSERT INTO {index.BlockRows}(last_rowid, ts_rows, ordered) VALUES (?1, ?2, ?3)");
        foreach ((long first, long last) in missing)
        {
            rows.Bind(1, first);
            rows.Bind(2, last);
            long count = 0;
            bool ordered = true;
            long previous = long.MinValue;
            rows.ForEachRow(stmt =>
            {
                if (raw.sqlite3_column_type(stmt, 0) == raw.SQLITE_NULL)
                {
                    ordered = false;
                    return;
                }

                long ts = raw.sqlite3_column_int64(stmt, 0);
                ordered = ordered && ts >= previous;
                previous = ts;
                count++;
            });
            insert.Bind(1, last);
            insert.Bind(2, count);
            insert.Bind(3, ordered ? 1L : 0L);
            insert.Execute();
        }

        tx.Commit();
    }

    // The id index is built on the first document with a given id: generated ids are unique by construction
    // (LogDocumentId), so indices fed only by syslog never pay for it (about 12% of the write cost).
    private void EnsureIdIndex(IndexState index, SqliteTransaction tx)
    {
        if (!index.HasIdIndex)
        {
            Execute($"CREATE UNIQUE INDEX IF NOT EXISTS {index.Docs}_id ON {index.Docs}(id)", tx);
            index.HasIdIndex = true;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _checkpointer?.Dispose();
            _freshBlocks.Dispose();
            _repackedBlocks.Dispose();
            // A clean stop leaves no WAL: readers are closed first, so the writer's close is the last one and SQLite
            // removes the -wal file after this checkpoint (a read-only connection closing last would leave it).
            SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
            if (_writer.State == System.Data.ConnectionState.Open)
            {
                TryCheckpoint("TRUNCATE");
            }

            foreach (IndexState index in _indices.Values)
            {
                index.Dispose();
            }

            _indices.Clear();
            while (_batches.TryTake(out PreparedBatch? batch))
            {
                batch.Dispose();
            }

            _writer.Dispose();
            SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        }
        finally
        {
            _ = _writeGate.Release();
        }
    }

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        connection.CreateFunction<string?, string, long, bool>("flotel_match", LogAnalyzer.Matches, isDeterministic: true);
        LogSourceFunction.Register(connection, _blocks);
        return connection;
    }

    private static long Scalar(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = _writer.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        _ = command.ExecuteNonQuery();
    }

    private void Publish() =>
        _published = [.. _indices.Values
            .Select(i => new PublishedIndex(
                i.Id, new LogIndexInfo(i.Name, i.Uuid, i.DocCount, i.SourceBytes, i.NewestMs == long.MinValue ? i.CreatedMs : i.NewestMs), i.BlockTimes))
            .OrderBy(p => p.Info.Name, StringComparer.Ordinal)];

    /// <param name="Id">The index's id (N of its tables).</param>
    /// <param name="Info">What listing the index shows.</param>
    /// <param name="BlockTimes">Whether its blocks hold time bounds and its rows have no ts index (see the schema).</param>
    private sealed record PublishedIndex(long Id, LogIndexInfo Info, bool BlockTimes)
    {
        private byte[]? _idKey;

        /// <summary>The key of the index's generated ids (<see cref="LogDocumentId.KeyOf"/>), made once per published index.</summary>
        public byte[] IdKey => _idKey ??= LogDocumentId.KeyOf(Info.Uuid);
    }

    // Writer-side state of one index; every field is read and written only under _writeGate.
    private sealed class IndexState(long id, string name, string uuid, long createdMs) : IDisposable
    {
        public long Id { get; } = id;

        public string Name { get; } = name;

        public string Uuid { get; } = uuid;

        public long CreatedMs { get; } = createdMs;

        public string Docs { get; } = "docs_" + id.ToString(CultureInfo.InvariantCulture);

        public string Fts { get; } = "fts_" + id.ToString(CultureInfo.InvariantCulture);

        public string Blocks { get; } = "blocks_" + id.ToString(CultureInfo.InvariantCulture);

        public string BlockRows { get; } = "blockrows_" + id.ToString(CultureInfo.InvariantCulture);

        public string ValuesTable { get; } = "values_" + id.ToString(CultureInfo.InvariantCulture);

        public string Dicts { get; } = "dicts_" + id.ToString(CultureInfo.InvariantCulture);

        // The trained dictionary blocks compress their messages with (dicts_N), its zstd id; null until the index has one.
        public byte[]? Dictionary { get; set; }

        public uint DictionaryId { get; set; }

        // Source bytes at which training looks at the index next (it doubles with each look).
        public long TrainAtBytes { get; set; }

        // Whether a block of the index was closed since the store opened: only such an index is trained for (the older
        // indices of a directory are re-packed already, and no later block would use their dictionary).
        public bool Written { get; set; }

        // The key of the ids generated for this index's rows (LogDocumentId.ForRow).
        public byte[] IdKey { get; } = LogDocumentId.KeyOf(uuid);

        // Whether rows given no _id store a generated id's text (indices made before ids were computed from the row).
        public bool StoresGeneratedIds { get; set; }

        // The ids of the repeated strings (compact layout), or null for an index with text columns.
        public Dictionary<string, long>? Values { get; set; }

        public RawStatement? InsertValue { get; set; }

        // The block being filled by the current transaction: sources back to back, their ends, the first row's id.
        public System.Buffers.ArrayBufferWriter<byte> Pending { get; } = new(16 * 1024);

        public List<int> PendingEnds { get; } = [];

        // Where each pending source's message lies in it (LogBlock's messages section).
        public List<(int At, int Length)> PendingMessages { get; } = [];

        public long PendingFirstRowId { get; set; }

        // The least and greatest ts of the pending rows (null while none has one), for a block with time bounds.
        public long? PendingMinTs { get; set; }

        public long? PendingMaxTs { get; set; }

        // How many pending rows have a ts, and whether every pending row has one and ts never decreased (blockrows_N).
        public long PendingTsRows { get; set; }

        public bool PendingOrdered { get; set; }

        // Whether the index's blocks hold time bounds instead of a ts index over its rows (see the schema).
        public bool BlockTimes { get; set; }

        public bool NeedsRepack { get; set; }

        public long NextRowId { get; set; }

        public long DocCount { get; set; }

        public long SourceBytes { get; set; }

        public long NewestMs { get; set; }

        public bool Dirty { get; set; }

        public bool Created { get; set; }

        public bool HasIdIndex { get; set; }

        public bool NeedsMerge { get; set; }

        public RawStatement? InsertDoc { get; set; }

        public RawStatement? InsertFts { get; set; }

        public RawStatement? InsertBlock { get; set; }

        public RawStatement? InsertBlockRows { get; set; }

        public SqliteCommand? FindId { get; set; }

        public void Dispose()
        {
            InsertDoc?.Dispose();
            InsertFts?.Dispose();
            InsertValue?.Dispose();
            InsertBlock?.Dispose();
            InsertBlockRows?.Dispose();
            FindId?.Dispose();
        }
    }
}
