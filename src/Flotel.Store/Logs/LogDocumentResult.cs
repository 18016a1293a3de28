namespace Flotel.Store.Logs;

/// <summary>Result of writing one <see cref="Flotel.Wire.Logs.LogDocument"/>: its (possibly generated) id, outcome and the reason of a failure.</summary>
public sealed record LogDocumentResult(string Index, string Id, LogDocumentOutcome Outcome, string? Reason = null);
