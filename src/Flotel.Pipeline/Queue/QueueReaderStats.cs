namespace Flotel.Pipeline.Queue;

/// <summary>One registered reader in a <see cref="DurableQueueStats"/> snapshot.</summary>
/// <param name="Name">The reader's name (one per output).</param>
/// <param name="CommittedSequence">Highest sequence id the reader has committed (0 = none).</param>
/// <param name="Lag">Durable records the reader has not committed yet (last durable sequence − committed).</param>
public sealed record QueueReaderStats(string Name, long CommittedSequence, long Lag);
