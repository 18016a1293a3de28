namespace Flotel.Store.Metrics;

/// <summary>What one retention pass removed.</summary>
/// <param name="ChunksDeleted">Closed chunks deleted from the database.</param>
/// <param name="SeriesDeleted">Series whose every sample had expired, removed from the index.</param>
public readonly record struct RetentionResult(int ChunksDeleted, int SeriesDeleted);
