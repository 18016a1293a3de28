using Flotel.Pipeline.Queue;

namespace Flotel.Gateway.Queueing;

/// <summary>The gateway's inputs appending to its one durable queue.</summary>
public sealed class DurableQueueSink(DurableQueue queue) : IRecordSink
{
    /// <inheritdoc/>
    public async ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken) =>
        _ = await queue.AppendAsync(record, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async ValueTask AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken) =>
        _ = await queue.AppendBatchAsync(records, cancellationToken).ConfigureAwait(false);
}
