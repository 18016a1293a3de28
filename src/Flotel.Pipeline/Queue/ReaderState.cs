namespace Flotel.Pipeline.Queue;

/// <summary>
/// A registered reader: exists from its cursor file (or first <see cref="DurableQueue.OpenReader"/>) until
/// <see cref="DurableQueue.DeleteReader"/>. Fields guarded by the queue's lock.
/// </summary>
internal sealed class ReaderState(string name, long committed, QueueCursorFile cursorFile)
{
    /// <summary>The reader's name; its cursor file is <c>readers/{name}.cursor</c>.</summary>
    public string Name { get; } = name;

    /// <summary>Highest committed sequence id; set by commits and advanced by drop-oldest.</summary>
    public long Committed { get; set; } = committed;

    /// <summary>Highest sequence the reader itself committed (drop-oldest does not move it).</summary>
    public long Acknowledged { get; set; } = committed;

    /// <summary>The value last written to the cursor file; differs from <see cref="Committed"/> after a drop advanced it.</summary>
    public long Persisted { get; set; } = committed;

    /// <summary>The open <see cref="QueueReader"/>, if any (one at a time per name).</summary>
    public QueueReader? Open { get; set; }

    /// <summary>When the cursor file was last fsync'd (<see cref="TimeProvider.GetTimestamp"/>); 0 = never by this process.</summary>
    public long SyncedAt { get; set; }

    /// <summary>Serializes writes of this reader's cursor file (commit vs. stop).</summary>
    public Lock FileLock { get; } = new();

    /// <summary>The reader's cursor file (written under <see cref="FileLock"/>).</summary>
    public QueueCursorFile CursorFile { get; } = cursorFile;
}
