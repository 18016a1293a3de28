namespace Flotel.Store.Metrics;

/// <summary>
/// The in-memory state of one series: identity, labels and its open head chunk. Guarded by the store's lock.
/// Kept small, as a fleet gateway holds a million of them: the labels are ids of the index's interned name/value pairs
/// (<see cref="LabelPairs"/>) in one array shared by every series, the index links series by slot numbers, the series
/// key (the index's lookup key and the row's <c>labels</c> blob) is not kept: lookups compare the incoming key with the
/// pairs' strings, and the blob is built once, for the insert. The series is its own open head chunk: deriving from the
/// appender keeps the head's state and its chunk's first <see cref="MetricStore.InitialHeadBytes"/> bytes in this object
/// (no head object, and no array until the chunk is longer: 144 bytes with a sample or two).
/// <para>
/// A head's bytes are not kept once on disk: after a flush wrote a head that had outgrown the inline bytes as its row
/// (keyed by the head's first timestamp), the store spills it (<see cref="XorChunkAppender.Spill"/>): the array goes,
/// <see cref="SpilledCount"/> says how many of the head's samples only that row holds, and the samples that come after
/// begin a new chunk in memory, the tail. The next flush, or the head's close, reads the row back and writes the head
/// whole again (row and tail as one chunk, as before), so the disk keeps one row per head and memory per series stays
/// the object and a tail of the samples since the last flush, however full the head.
/// </para>
/// </summary>
internal sealed class MemSeries(long id, int slot, int hash) : XorChunkAppender(MetricStore.InitialHeadBytes)
{
    /// <summary>The series row's id (<c>series.id</c>).</summary>
    public readonly long Id = id;

    /// <summary>Its place in the index (<see cref="SeriesIndex"/>), the 32-bit id postings hold.</summary>
    public readonly int Slot = slot;

    /// <summary>Hash of the series key (UTF-8 <c>name 0xFF value 0xFF …</c> in name order).</summary>
    public readonly int Hash = hash;

    /// <summary>Where the ids of its label pairs (<see cref="LabelPairs"/>, in label name order) start in the index's label arena.</summary>
    public int PairsStart;

    /// <summary>How many label pairs it has.</summary>
    public int PairsCount;

    /// <summary>Slot + 1 of the next series in the same hash bucket; 0 at the end of the chain.</summary>
    public int NextInBucket;

    /// <summary>
    /// The open chunk in memory (this object; empty until the first sample after open): the whole head, or after a spill
    /// its tail, the samples after the <see cref="SpilledCount"/> that the head's row holds.
    /// </summary>
    public XorChunkAppender Head => this;

    /// <summary>
    /// Samples of the head that only its row on disk holds (0 when the head is all in memory); the head's first
    /// timestamp, the row's key, stays <see cref="XorChunkAppender.FirstTimestamp"/>. In the two bytes the object's
    /// layout leaves free (a chunk holds at most 65,535 samples).
    /// </summary>
    public ushort SpilledCount;

    /// <summary>Samples in the head: the spilled ones and the tail's.</summary>
    public int HeadCount => SpilledCount + Count;

    /// <summary>Oldest sample time ever stored (long.MaxValue when none).</summary>
    public long MinT = long.MaxValue;

    /// <summary>Newest sample time (long.MinValue when none); later samples must be after it.</summary>
    public long LastT = long.MinValue;

    /// <summary>The head has samples the last flush did not write (the series is in the store's flush list).</summary>
    public bool Unflushed;

    /// <summary>Removed from the index (a flush list entry left behind is skipped).</summary>
    public bool Deleted;
}
