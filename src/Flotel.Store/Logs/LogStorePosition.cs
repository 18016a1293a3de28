namespace Flotel.Store.Logs;

/// <summary>
/// How far one writer's source has been stored: the last record of the batch a transaction wrote, kept in the same
/// transaction (<c>queue_positions</c> in <c>logs.db</c>), so that a batch delivered again after a crash between the
/// store's commit and the source's own cursor is recognised and not stored twice.
/// </summary>
/// <param name="Source">Who writes: the queue reader's name (one row each).</param>
/// <param name="QueueIdentity">The identity of the queue the sequence belongs to; a sequence from another queue means nothing.</param>
/// <param name="Sequence">The sequence id of the last record stored.</param>
public readonly record struct LogStorePosition(string Source, string QueueIdentity, long Sequence);
