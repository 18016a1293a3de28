using System.Globalization;

namespace Flotel.Pipeline.Queue;

/// <summary>
/// One segment file as the queue tracks it. Every mutable field is guarded by the queue's lock: the commit loop writes
/// <see cref="Length"/>/<see cref="LastSequence"/>/<see cref="RecordCount"/> after each fsync and <see cref="Sealed"/> on
/// rollover; appenders (drop-oldest) and commits set <see cref="Deleted"/>; readers read them.
/// </summary>
internal sealed class Segment(string path, long firstSequence)
{
    /// <summary>Full path of the file.</summary>
    public string Path { get; } = path;

    /// <summary>Sequence id in the file name: no record in this segment has a smaller one.</summary>
    public long FirstSequence { get; } = firstSequence;

    /// <summary>Durable bytes (header included): readers never read past it; the writer appends after it.</summary>
    public long Length { get; set; }

    /// <summary>Last durable sequence id in this segment; <see cref="FirstSequence"/> − 1 while empty.</summary>
    public long LastSequence { get; set; }

    /// <summary>Records in the segment: exact for the last segment and those written by this process, estimated from the next segment's first sequence for older ones.</summary>
    public long RecordCount { get; set; }

    /// <summary>No more writes: a later segment exists.</summary>
    public bool Sealed { get; set; }

    /// <summary>The file was deleted; a reader positioned in it moves on.</summary>
    public bool Deleted { get; set; }

    /// <summary>A reader found no valid record after a bad one in this sealed segment and counted the rest as lost (count once, not once per reader).</summary>
    public bool CorruptionCounted { get; set; }

    /// <summary>Offsets of bad records already counted in <see cref="DurableQueueStats.CorruptRecords"/> (count once, not once per reader).</summary>
    public HashSet<long> CorruptOffsets { get; } = [];

    /// <summary>The file name for a first sequence id: 20 digits, so names sort like sequence ids.</summary>
    public static string FileName(long firstSequence) => firstSequence.ToString("D20", CultureInfo.InvariantCulture) + ".seg";

    /// <summary>Parses a segment file name; false for other files.</summary>
    public static bool TryParseFileName(string fileName, out long firstSequence)
    {
        firstSequence = 0;
        return fileName.Length == 24
            && fileName.EndsWith(".seg", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out firstSequence)
            && firstSequence > 0;
    }
}
