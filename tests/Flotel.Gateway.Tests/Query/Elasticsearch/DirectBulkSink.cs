using Flotel.Gateway.Inputs.Bulk;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>
/// Writes <c>_bulk</c> documents straight into the <see cref="LogStore"/>, for tests of the API over a store. The gateway
/// always puts them in its durable queue first (<see cref="QueueBulkSink"/>).
/// </summary>
internal sealed class DirectBulkSink(LogStore store) : IBulkSink
{
    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<BulkItemResult>> AcceptAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken)
    {
        LogDocumentResult[] results = await store.WriteDocumentsAsync(documents, cancellationToken).ConfigureAwait(false);
        return Array.ConvertAll(results, BulkItemResult.From);
    }
}
