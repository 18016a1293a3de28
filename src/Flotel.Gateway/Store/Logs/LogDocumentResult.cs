namespace Flotel.Gateway.Store.Logs;

/// <summary>Result of writing one <see cref="LogDocument"/>: its (possibly generated) id, outcome and the reason of a failure.</summary>
public sealed record LogDocumentResult(string Index, string Id, LogDocumentOutcome Outcome, string? Reason = null);
