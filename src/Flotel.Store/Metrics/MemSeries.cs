using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>The in-memory state of one series: identity, index key and its open head chunk. Guarded by the store's lock.</summary>
internal sealed class MemSeries(long id, LabelSet labels, byte[] key, int hash)
{
    public readonly long Id = id;
    public readonly LabelSet Labels = labels;

    /// <summary>UTF-8 <c>name 0xFF value 0xFF …</c> in name order (0xFF never occurs in UTF-8); also the row's <c>labels</c> blob.</summary>
    public readonly byte[] Key = key;

    public readonly int Hash = hash;

    /// <summary>Next series with the same key hash.</summary>
    public MemSeries? Next;

    /// <summary>Open chunk; null until the first sample after open.</summary>
    public XorChunkAppender? Head;

    /// <summary>Oldest sample time ever stored (long.MaxValue when none).</summary>
    public long MinT = long.MaxValue;

    /// <summary>Newest sample time (long.MinValue when none); later samples must be after it.</summary>
    public long LastT = long.MinValue;
}
