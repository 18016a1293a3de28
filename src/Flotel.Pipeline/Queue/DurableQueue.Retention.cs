namespace Flotel.Pipeline.Queue;

// Segment retention: deleting sealed segments every reader is past, or the oldest when full (drop-oldest).
public sealed partial class DurableQueue
{
    /// <summary>guarded: deletes sealed segments every reader has committed past. With no reader registered nothing is deleted.</summary>
    private void ReleaseSegmentsLocked()
    {
        if (_readers.Count == 0)
        {
            return;
        }

        var minCommitted = long.MaxValue;
        foreach (var state in _readers.Values)
        {
            minCommitted = Math.Min(minCommitted, state.Committed);
        }

        // A sealed segment ends right before the next one's first sequence id.
        while (_segments.Count > 1 && _segments[0].Sealed && _segments[1].FirstSequence - 1 <= minCommitted)
        {
            if (!DeleteOldestLocked(dropped: false))
            {
                return;
            }
        }
    }

    /// <summary>guarded: deletes the oldest (sealed) segment; when <paramref name="dropped"/>, counts it and advances readers past it.</summary>
    private bool DeleteOldestLocked(bool dropped)
    {
        var segment = _segments[0];
        var nextFirst = _segments[1].FirstSequence;
        try
        {
            // Readers with the file open keep reading it (FileShare.Delete); they notice Deleted and move on.
            File.Delete(segment.Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        _segments.RemoveAt(0);
        segment.Deleted = true;
        _totalBytes -= segment.Length;
        if (dropped)
        {
            long unread = 0;
            foreach (var state in _readers.Values)
            {
                unread = Math.Max(unread, Math.Min(nextFirst - 1, segment.LastSequence) - state.Committed);
                state.Committed = Math.Max(state.Committed, nextFirst - 1);
            }

            // Counted once per segment: as dropped when some reader had not read it, or when there is no reader at all.
            if (unread > 0 || _readers.Count == 0)
            {
                _droppedRecordsQueueFull += segment.RecordCount;
                _droppedBytesQueueFull += segment.Length - SegmentHeaderSize;
            }
        }

        return true;
    }
}
