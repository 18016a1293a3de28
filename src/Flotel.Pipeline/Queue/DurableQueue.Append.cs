using System.Globalization;
using System.Runtime.CompilerServices;

namespace Flotel.Pipeline.Queue;

// Appending: the public append calls, the queue bound they enforce, and the group commit they join.
public sealed partial class DurableQueue
{
    /// <summary>
    /// Appends one record; completes once it is durable (fsync'd by the group commit it joined).
    /// Cancelling stops the wait only: the record may still become durable.
    /// </summary>
    /// <exception cref="QueueFullException">The queue is full (policy Reject), or the record cannot fit even after dropping.</exception>
    /// <exception cref="QueueWriteException">Writing or fsyncing the group commit failed (for example a full disk); records acknowledged before are intact and the queue accepts appends again once writes succeed.</exception>
    /// <exception cref="ObjectDisposedException">The queue is stopping or stopped.</exception>
    public ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckRecordSize(payload.Length);
        PendingCommit commit;
        long sequence;
        lock (_gate)
        {
            ThrowIfNotAccepting();
            MakeRoomLocked(RecordHeaderSize + payload.Length);
            sequence = _nextSequence++;
            _pending.Buffer.Append(sequence, payload.Span);
            _totalBytes += RecordHeaderSize + payload.Length;
            commit = _pending;
        }

        _wake.Writer.TryWrite(true);
        return WaitDurableAsync(commit, new AppendResult(sequence, sequence), cancellationToken);
    }

    /// <summary>
    /// Appends several records with one lock, one group commit and one durability wait (the hot path: one call per TCP
    /// read or HTTP request). Either all records are accepted or, when full, none.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <inheritdoc cref="AppendAsync" path="/exception"/>
    public ValueTask<AppendResult> AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new ArgumentException("The batch must hold at least one record.", nameof(payloads));
        }

        cancellationToken.ThrowIfCancellationRequested();
        long bytes = 0;
        for (var i = 0; i < payloads.Count; i++)
        {
            CheckRecordSize(payloads[i].Length);
            bytes += RecordHeaderSize + payloads[i].Length;
        }

        PendingCommit commit;
        long first;
        lock (_gate)
        {
            ThrowIfNotAccepting();
            MakeRoomLocked(bytes);
            first = _nextSequence;
            for (var i = 0; i < payloads.Count; i++)
            {
                _pending.Buffer.Append(_nextSequence++, payloads[i].Span);
            }

            _totalBytes += bytes;
            commit = _pending;
        }

        _wake.Writer.TryWrite(true);
        return WaitDurableAsync(commit, new AppendResult(first, first + payloads.Count - 1), cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<AppendResult> WaitDurableAsync(PendingCommit commit, AppendResult result, CancellationToken cancellationToken)
    {
        await commit.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private void CheckRecordSize(int length)
    {
        if (length > _options.EffectiveMaxRecordBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, string.Create(CultureInfo.InvariantCulture, $"A durable queue record is limited to {_options.EffectiveMaxRecordBytes} bytes (`MaxRecordBytes`, at most half of `MaxTotalBytes`)."));
        }
    }

    private void ThrowIfNotAccepting() => ObjectDisposedException.ThrowIf(!_accepting, this);

    /// <summary>guarded: enforces MaxTotalBytes for an append of <paramref name="bytes"/> (headers included).</summary>
    private void MakeRoomLocked(long bytes)
    {
        if (_totalBytes + bytes <= _options.MaxTotalBytes)
        {
            return;
        }

        if (_options.FullPolicy == QueueFullPolicy.DropOldest)
        {
            // Only sealed segments are dropped: the active one is being written. Segments are at most a quarter of the
            // bound, so this frees space unless the batch itself is most of the bound.
            while (_totalBytes + bytes > _options.MaxTotalBytes && _segments.Count > 1 && _segments[0].Sealed)
            {
                if (!DeleteOldestLocked(dropped: true))
                {
                    break;
                }
            }

            if (_totalBytes + bytes <= _options.MaxTotalBytes)
            {
                return;
            }
        }

        _rejectedAppends++;
        throw new QueueFullException(string.Create(CultureInfo.InvariantCulture, $"The durable queue is full: {_totalBytes} of {_options.MaxTotalBytes} bytes used, {bytes} more requested."))
        {
            RequestedBytes = bytes,
            CapacityBytes = _options.MaxTotalBytes,
        };
    }

    /// <summary>One group commit: the records appended since the previous one and the task their appenders await.</summary>
    private sealed class PendingCommit(RecordBuffer buffer)
    {
        public RecordBuffer Buffer { get; } = buffer;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
