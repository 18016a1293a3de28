namespace Flotel.Store.Logs;

/// <summary>What happened to one <see cref="Flotel.Wire.Logs.LogDocument"/>.</summary>
public enum LogDocumentOutcome
{
    /// <summary>Stored as a new document.</summary>
    Created,

    /// <summary>Replaced the document with the same id.</summary>
    Updated,

    /// <summary><c>create</c> of an id that exists; nothing written.</summary>
    Conflict,

    /// <summary>The source is not a JSON object; nothing written.</summary>
    Invalid,
}
