namespace Flotel.Pipeline.Queue;

/// <summary>One record handed out by <see cref="QueueReader.TryReadBatch(int, long, List{QueueRecord}, Predicate{byte})"/>.</summary>
/// <param name="Sequence">The record's sequence id: strictly increasing in append order, also across restarts.</param>
/// <param name="Payload">
/// The bytes given to the append. The memory belongs to the batch that was read (one array per read chunk, never reused),
/// so it stays valid for as long as the caller keeps it.
/// </param>
public readonly record struct QueueRecord(long Sequence, ReadOnlyMemory<byte> Payload);
