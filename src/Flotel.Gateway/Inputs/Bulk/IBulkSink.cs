using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Inputs.Bulk;

/// <summary>
/// Where <c>_bulk</c> documents go: in the gateway the durable queue (<see cref="QueueBulkSink"/>: a 201 then means
/// "in the queue"), in tests of the API also the log store directly. The documents arrive parsed and validated as far
/// as the request goes; the sink returns one result per document, in order.
/// </summary>
public interface IBulkSink
{
    /// <summary>Accepts the documents of one <c>_bulk</c> request; one result per document, in the same order.</summary>
    ValueTask<IReadOnlyList<BulkItemResult>> AcceptAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken);
}
