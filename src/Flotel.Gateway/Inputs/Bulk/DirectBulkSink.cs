using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Inputs.Bulk;

/// <summary>Writes <c>_bulk</c> documents straight into the <see cref="LogStore"/> (tests, and setups without a queue).</summary>
public sealed class DirectBulkSink(LogStore store) : IBulkSink
{
    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<BulkItemResult>> AcceptAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken)
    {
        LogDocumentResult[] results = await store.WriteDocumentsAsync(documents, cancellationToken).ConfigureAwait(false);
        return Array.ConvertAll(results, BulkItemResult.From);
    }
}
