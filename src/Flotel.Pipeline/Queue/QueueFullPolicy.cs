namespace Flotel.Pipeline.Queue;

/// <summary>What <see cref="DurableQueue"/> does when an append would exceed <see cref="DurableQueueOptions.MaxTotalBytes"/>.</summary>
public enum QueueFullPolicy
{
    /// <summary>
    /// Refuse the append with <see cref="QueueFullException"/>: nothing already stored is lost, the input pushes back
    /// (HTTP answers 429/503 with Retry-After, TCP syslog stops reading). The gateway's choice.
    /// </summary>
    Reject = 0,

    /// <summary>
    /// Delete the oldest sealed segment(s) even if readers have not read them, advance those readers past them and count
    /// the dropped records and bytes. The agent's choice: newest logs matter more than a full buffer of old ones.
    /// </summary>
    DropOldest = 1,
}
