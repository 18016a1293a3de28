namespace Flotel.Wire.Logs;

/// <summary>A document written as is (from <c>_bulk</c>): its index, optional id and <c>_source</c> as UTF-8 JSON.</summary>
/// <param name="Index">Target index name (validated by the caller).</param>
/// <param name="Id">Document id; null for the store to generate one.</param>
/// <param name="Source">The <c>_source</c> object, UTF-8 JSON.</param>
/// <param name="CreateOnly">True for the <c>create</c> action: an existing id is a conflict instead of being replaced.</param>
public sealed record LogDocument(string Index, string? Id, ReadOnlyMemory<byte> Source, bool CreateOnly = false);
