using Flotel.Gateway.Inputs;
using Flotel.Pipeline.Queue;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Queueing;

/// <summary>
/// The gateway's inputs appending to its one durable queue. A failed queue write (a full data disk) is logged here,
/// once per <see cref="WarningThrottle.DefaultInterval"/> for all inputs together with a count of the ones held back,
/// and passed on as a <see cref="QueueWriteException"/>: each input turns it into back-pressure (503/429, TCP stops
/// reading, UDP counts a drop) instead of an error per request.
/// </summary>
public sealed partial class DurableQueueSink : IRecordSink
{
    private readonly DurableQueue _queue;
    private readonly ILogger _logger;
    private readonly WarningThrottle _writeFailures;

    public DurableQueueSink(DurableQueue queue, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _queue = queue;
        _logger = logger;
        _writeFailures = new WarningThrottle(time);
    }

    /// <inheritdoc/>
    public async ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        try
        {
            _ = await _queue.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (QueueWriteException e)
        {
            Report(e);
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
    {
        try
        {
            _ = await _queue.AppendBatchAsync(records, cancellationToken).ConfigureAwait(false);
        }
        catch (QueueWriteException e)
        {
            Report(e);
            throw;
        }
    }

    private void Report(QueueWriteException e)
    {
        if (_writeFailures.TryAcquire(out var suppressed))
        {
            LogWriteFailed(_logger, e.DiskFull ? "the data disk is full" : "an I/O error", e.InnerException?.Message ?? e.Message, suppressed, _writeFailures.Interval.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The durable queue cannot write ({Cause}: {Reason}); inputs push back until it can — remote write answers 503 with Retry-After, _bulk items 429, TCP syslog stops reading, UDP syslog drops (counted); /readyz answers 503 ({Suppressed} more failed writes not logged; at most one warning per {IntervalSeconds} s)")]
    private static partial void LogWriteFailed(ILogger logger, string cause, string reason, long suppressed, double intervalSeconds);
}
