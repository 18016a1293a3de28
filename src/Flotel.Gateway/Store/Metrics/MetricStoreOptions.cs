namespace Flotel.Gateway.Store.Metrics;

/// <summary>Options of the embedded metric store; defaults follow Prometheus's TSDB where one exists.</summary>
public sealed class MetricStoreOptions
{
    /// <summary>Directory holding <c>metrics.db</c>. Required.</summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>
    /// A head chunk is closed at this many samples. Default 240 (one hour at 15 s): twice Prometheus's 120, because
    /// each chunk here is an SQLite row plus an index entry (~60 bytes), which at 120 samples would cost half a byte
    /// per sample of the 2-byte budget.
    /// </summary>
    public int MaxSamplesPerChunk { get; set; } = 240;

    /// <summary>A head chunk is closed when a sample is this far after its first one. Default 2 h (Prometheus's block range).</summary>
    public TimeSpan MaxChunkSpan { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Chunks whose newest sample is older than this are deleted by retention. Default 15 days (Prometheus's default).</summary>
    public TimeSpan RetentionAge { get; set; } = TimeSpan.FromDays(15);

    /// <summary>When positive, retention deletes the oldest chunks until the database uses at most this many bytes. Default 0 (off).</summary>
    public long RetentionBytes { get; set; }

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

        if (RetentionBytes < 0)
        {
            throw new ArgumentException("`RetentionBytes` must not be negative (metric store)");
        }
    }
}
