using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// The in-memory state of one series: identity, labels and its open head chunk. Guarded by the store's lock.
/// Kept small, as a fleet gateway holds a million of them: the label strings are the store's interned ones
/// (<see cref="LabelInterner"/>), and the series key (the index's lookup key and the row's <c>labels</c> blob) is not
/// kept: lookups compare the incoming key with <see cref="Labels"/>, and the blob is built once, for the insert.
/// </summary>
internal sealed class MemSeries(long id, LabelSet labels, int hash)
{
    public readonly long Id = id;
    public readonly LabelSet Labels = labels;

    /// <summary>Hash of the series key (UTF-8 <c>name 0xFF value 0xFF …</c> in name order).</summary>
    public readonly int Hash = hash;

    /// <summary>Next series with the same key hash.</summary>
    public MemSeries? Next;

    /// <summary>Open chunk; null until the first sample after open.</summary>
    public XorChunkAppender? Head;

    /// <summary>Oldest sample time ever stored (long.MaxValue when none).</summary>
    public long MinT = long.MaxValue;

    /// <summary>Newest sample time (long.MinValue when none); later samples must be after it.</summary>
    public long LastT = long.MinValue;

    /// <summary>The head has samples the last flush did not write (the series is in the store's flush list).</summary>
    public bool Unflushed;

    /// <summary>Removed from the index (a flush list entry left behind is skipped).</summary>
    public bool Deleted;
}
