using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Inputs.Bulk;

/// <summary>
/// Where <c>_bulk</c> documents go: the durable queue in the gateway (a 201 then means "in the queue"), or the log
/// store directly (<see cref="DirectBulkSink"/>). The documents arrive parsed and validated as far as the request
/// goes; the sink returns one result per document, in order.
/// </summary>
public interface IBulkSink
{
    /// <summary>Accepts the documents of one <c>_bulk</c> request; one result per document, in the same order.</summary>
    ValueTask<IReadOnlyList<BulkItemResult>> AcceptAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken);
}
