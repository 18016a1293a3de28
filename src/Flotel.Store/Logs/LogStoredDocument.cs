namespace Flotel.Store.Logs;

/// <summary>One stored document: its index, id, row id (insertion order; a replaced document gets a new one) and <c>_source</c> text.</summary>
public sealed record LogStoredDocument(string Index, string Id, long RowId, string Source);
