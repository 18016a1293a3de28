namespace Flotel.Store.Metrics;

/// <summary>A chunk waiting for the next index transaction (closed, or a head snapshot from a flush).</summary>
internal readonly record struct PendingChunk(long SeriesId, long MinT, long MaxT, byte[] Data);
