using Flotel.Store.Logs;

namespace Flotel.Gateway.Inputs.Bulk;

/// <summary>
/// One item of a <c>_bulk</c> response: Elasticsearch's <c>{"index":{"_index","_id","status","result"}}</c> or, when
/// <paramref name="ErrorType"/> is set, <c>{"…":{"_index","_id","status","error":{"type","reason"}}}</c>.
/// </summary>
/// <param name="Index">The index the item was for.</param>
/// <param name="Id">The document id (null when none could be given, e.g. a malformed action line).</param>
/// <param name="Status">HTTP status of the item: 201 created, 200 updated, 400, 409, 429…</param>
/// <param name="Result"><c>created</c> or <c>updated</c> for a success, else null.</param>
/// <param name="ErrorType">Elasticsearch error type of a failure (e.g. <c>mapper_parsing_exception</c>).</param>
/// <param name="ErrorReason">Human-readable reason of a failure.</param>
public sealed record BulkItemResult(string? Index, string? Id, int Status, string? Result, string? ErrorType = null, string? ErrorReason = null)
{
    /// <summary>True for 2xx items.</summary>
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>A 201 <c>created</c> item.</summary>
    public static BulkItemResult Created(string index, string id) => new(index, id, 201, "created");

    /// <summary>A failed item.</summary>
    public static BulkItemResult Failed(string? index, string? id, int status, string type, string reason) => new(index, id, status, null, type, reason);

    /// <summary>Maps a store result to the item Elasticsearch would return.</summary>
    public static BulkItemResult From(LogDocumentResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Outcome switch
        {
            LogDocumentOutcome.Created => new(result.Index, result.Id, 201, "created"),
            LogDocumentOutcome.Updated => new(result.Index, result.Id, 200, "updated"),
            LogDocumentOutcome.Conflict => Failed(result.Index, result.Id, 409, "version_conflict_engine_exception", result.Reason ?? "document already exists"),
            _ => Failed(result.Index, result.Id, 400, "mapper_parsing_exception", result.Reason ?? "failed to parse"),
        };
    }
}
