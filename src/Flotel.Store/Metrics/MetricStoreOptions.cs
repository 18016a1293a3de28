namespace Flotel.Store.Metrics;

/// <summary>Options of the embedded metric store; defaults follow Prometheus's TSDB where one exists.</summary>
public sealed class MetricStoreOptions
{
    /// <summary>Directory holding <c>metrics.db</c>. Required.</summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>
    /// A head chunk is closed at this many samples. Default 960, so series scraped every 7.5 s or slower close at
    /// <see cref="MaxChunkSpan"/> (480 samples at 15 s): each chunk is an SQLite row plus an index entry (~50 bytes),
    /// and a closed chunk in the compact encoding of a steady series is ~20 bytes whatever its length, so at 240 samples
    /// the rows cost more than the samples. The price: a query of the newest minutes decodes the whole head (an open head
    /// holds in memory only the samples since the last flush: <see cref="MetricStore"/>).
    /// </summary>
    public int MaxSamplesPerChunk { get; set; } = 960;

    /// <summary>A head chunk is closed when a sample is this far after its first one. Default 2 h (Prometheus's block range).</summary>
    public TimeSpan MaxChunkSpan { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Chunks whose newest sample is older than this are deleted by retention. Default 15 days (Prometheus's default).</summary>
    public TimeSpan RetentionAge { get; set; } = TimeSpan.FromDays(15);

    /// <summary>When positive, retention deletes the oldest chunks until the database uses at most this many bytes. Default 0 (off).</summary>
    public long RetentionBytes { get; set; }

    /// <summary>
    /// Most series the store holds (its in-memory index and head chunks); a new series beyond it is refused and its samples
    /// dropped and counted, while series already held keep receiving samples. Default 2,000,000: a fleet of 10,000
    /// devices × ~100 series each. Each series costs about 340 B of memory with a short head chunk and about 560 B once its
    /// head holds two hours of samples at 15 s and was flushed (a flushed head's bytes are spilled to its row, see
    /// <see cref="MetricStore"/>; docs/benchmarks.md, "Memory per active series"), so the default allows about 1.0 GiB plus
    /// the samples taken since the last flush; lower it on a smaller machine. 0 = no limit.
    /// </summary>
    public int MaxSeries { get; set; } = DefaultMaxSeries;

    /// <summary>
    /// Most bytes of stored chunks kept in memory for queries (least recently used series evicted first; each chunk is
    /// counted with <see cref="ChunkCache.ChunkOverheadBytes"/> besides its bytes). Default 64 MiB: 24 h of 8,000 series
    /// at 15 s (a chunk of 240 samples is 250–400 bytes). 0 = no cache: every query reads its chunks from the database.
    /// </summary>
    public long ChunkCacheBytes { get; set; } = DefaultChunkCacheBytes;

    /// <summary>The default of <see cref="ChunkCacheBytes"/>.</summary>
    public const long DefaultChunkCacheBytes = 64L * 1024 * 1024;

    /// <summary>The default of <see cref="MaxSeries"/>.</summary>
    public const int DefaultMaxSeries = 2_000_000;

    /// <summary>Checks the options; the message quotes the key.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("`DataDirectory` must be set (metric store)");
        }

        if (MaxSamplesPerChunk is < 2 or > XorChunkAppender.MaxSamples)
        {
            throw new ArgumentException("`MaxSamplesPerChunk` must be between 2 and 65535 (metric store)");
        }

        if (MaxChunkSpan <= TimeSpan.Zero)
        {
            throw new ArgumentException("`MaxChunkSpan` must be positive (metric store)");
        }

        if (RetentionAge <= TimeSpan.Zero)
        {
            throw new ArgumentException("`RetentionAge` must be positive (metric store)");
        }

        if (MaxSeries < 0)
        {
            throw new ArgumentException("`MaxSeries` must not be negative (metric store)");
        }

        if (ChunkCacheBytes < 0)
        {
            throw new ArgumentException("`ChunkCacheBytes` must not be negative (metric store)");
        }

        if (RetentionBytes < 0)
        {
            throw new ArgumentException("`RetentionBytes` must not be negative (metric store)");
        }
    }
}
