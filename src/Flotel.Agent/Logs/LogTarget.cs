using Flotel.Model.Manifests;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// One log target of the device (<c>spec.logCollection.NAME</c>): a durable buffer in <c>{data}/logs/targets/NAME</c>
/// bounded by <c>bufferSize</c> KiB with drop-oldest, and a forwarder (<see cref="QueueDelivery{T}"/> driving a
/// <see cref="SyslogSender"/>). A new plan for the same target swaps the forwarder (and reopens the buffer when its
/// size changed) while appends wait; nothing buffered is lost, the old connection is closed.
/// </summary>
public sealed partial class LogTarget : IAsyncDisposable
{
    /// <summary>The forwarder's queue reader (its cursor file is <c>readers/syslog.cursor</c>).</summary>
    public const string ReaderName = "syslog";

    private readonly string _directory;
    private readonly string _deviceName;
    private readonly WorkloadLogsOptions _options;
    private readonly MetricsRegistry _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Serializes appends against swaps and stop.</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Counter _droppedFullAtAppend;
    private readonly Counter _droppedDisk;
    private readonly Counter _truncated;

    // guarded by _gate
    private DurableQueue? _queue;
    private QueueDelivery<LogLine>? _delivery;
    private SyslogSender? _sender;
    private long _queueDropsSeen;
    private bool _stopped;

    /// <summary>1 while the buffer overflows and the drop has not been reported to the collector yet (one warning per episode).</summary>
    private int _overflowing;

    private LogTarget(LogTargetPlan plan, string directory, string deviceName, WorkloadLogsOptions options, MetricsRegistry metrics, TimeProvider time, ILogger logger)
    {
        Plan = plan;
        _directory = directory;
        _deviceName = deviceName;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var t = ("target", plan.Name);
        _droppedFullAtAppend = metrics.Counter("flotel_agent_log_lines_dropped_total", "Workload log lines lost, by target and reason.", t, ("reason", "buffer_too_small"));
        _droppedDisk = metrics.Counter("flotel_agent_log_lines_dropped_total", "Workload log lines lost, by target and reason.", t, ("reason", "disk_error"));
        _truncated = metrics.Counter("flotel_agent_log_lines_truncated_total", "Workload log lines cut to the longest line the target's buffer holds.", t);
    }

    /// <summary>The target as planned now.</summary>
    public LogTargetPlan Plan { get; private set; }

    /// <summary>Bytes in the buffer on disk (0 once stopped).</summary>
    public long BufferBytes
    {
        get
        {
            var queue = _queue;
            try
            {
                return queue?.GetStats().BytesOnDisk ?? 0;
            }
            catch (ObjectDisposedException)
            {
                return 0;
            }
        }
    }

    /// <summary>Lines the collector accepted through this target's current forwarder.</summary>
    public long Forwarded => _metrics.Sum("flotel_agent_log_lines_forwarded_total", ("target", Plan.Name));

    /// <summary>The longest message a record of this target can hold (half the buffer, less headers), at most <see cref="WorkloadLogsOptions.MaxLineBytes"/>.</summary>
    public int MaxMessageBytes => (int)Math.Min(_options.MaxLineBytes, (Plan.BufferSizeBytes / 2) - 16 - LogRecord.SizeOf(255, 64, 0));

    /// <summary>Opens the buffer and starts the forwarder.</summary>
    public static LogTarget Start(LogTargetPlan plan, string targetsDirectory, string deviceName, WorkloadLogsOptions options, MetricsRegistry metrics, TimeProvider time, ILogger logger)
    {
        var target = new LogTarget(plan, Path.Combine(targetsDirectory, DirectoryName(plan.Name)), deviceName, options, metrics, time, logger);
        target.Open();
        return target;
    }

    /// <summary>A file-system-safe directory name for a target name (kept readable; other characters become <c>_</c>).</summary>
    public static string DirectoryName(string target)
    {
        var chars = target.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '-' or '_' or '.'))
            {
                chars[i] = '_';
            }
        }

        var name = new string(chars);
        return name is "." or ".." || name.Length == 0 ? "_" + name : name;
    }

    /// <summary>
    /// Appends encoded <see cref="LogRecord"/>s; completes when they are durable. When the buffer is full the oldest
    /// lines are dropped (counted when the forwarder meets the gap). Never throws for a full buffer or a disk error:
    /// those lines are counted as dropped. Returns false when the target is stopped (nothing appended).
    /// </summary>
    public async Task<bool> AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped || _queue is null)
            {
                return false;
            }

            try
            {
                await _queue.AppendBatchAsync(records, CancellationToken.None).ConfigureAwait(false);
            }
            catch (QueueFullException)
            {
                // The batch is larger than what drop-oldest can free at once (a tiny bufferSize): append line by line.
                foreach (var record in records)
                {
                    try
                    {
                        await _queue.AppendAsync(record, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (QueueFullException)
                    {
                        _droppedFullAtAppend.Increment();
                    }
                }
            }
            catch (IOException e)
            {
                _droppedDisk.Add(records.Count);
                LogDiskError(_logger, Plan.Name, records.Count, e.Message);
            }

            long drops = _queue.GetStats().DroppedRecordsQueueFull;
            if (drops > _queueDropsSeen)
            {
                _queueDropsSeen = drops;
                if (Interlocked.Exchange(ref _overflowing, 1) == 0)
                {
                    LogOverflow(_logger, Plan.Name, Plan.BufferSizeKiB);
                }
            }

            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Counts a line cut to <see cref="MaxMessageBytes"/>.</summary>
    public void CountTruncated() => _truncated.Increment();

    /// <summary>Applies a new plan for this target: a new forwarder (new address, protocol, format or CA) and, when the size changed, a reopened buffer. Buffered lines stay.</summary>
    public async Task ReconfigureAsync(LogTargetPlan plan)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return;
            }

            await CloseAsync(_options.TargetDrainTimeout).ConfigureAwait(false);
            Plan = plan;
            Open();
            LogReconfigured(_logger, plan.Name, plan.Address, plan.Protocol, plan.Format, plan.BufferSizeKiB);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops intake, lets the forwarder deliver for up to <paramref name="drainTimeout"/>, closes the connection and the buffer. Idempotent.</summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            await CloseAsync(drainTimeout).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _gate.Dispose();
    }

    private void Open()
    {
        var queue = DurableQueue.Open(new DurableQueueOptions
        {
            Directory = _directory,
            MaxTotalBytes = Math.Max(Plan.BufferSizeBytes, 4 * DurableQueueOptions.MinSegmentBytes),
            FullPolicy = QueueFullPolicy.DropOldest,
            Fsync = _options.Fsync,

            // The forwarder commits after every send; its cursor is fsync'd as often as the capture cursors are.
            CursorSyncInterval = _options.CursorSyncInterval,

            // Appends come in batches from a few container readers that linger already (CaptureLinger): a group-commit
            // wait would add a timer wake-up per batch and gather nothing more.
            GroupCommitWindow = TimeSpan.Zero,
        }, _time);
        QueueReader? reader = null;
        try
        {
            reader = queue.OpenReader(ReaderName);

            // The driver settles each read before the next, and the sender formats a batch within its send: the reader
            // can read into the same arrays every time (no allocation per batch).
            reader.ReuseReadBuffers = true;
            _queueDropsSeen = queue.GetStats().DroppedRecordsQueueFull;
            var sender = new SyslogSender(Plan, _deviceName, reader.CommittedSequence, _metrics, _options.ConnectTimeout, _options.WriteTimeout, _logger, () => Interlocked.Exchange(ref _overflowing, 0))
            {
                Fleet = _options.Fleet,
            };
            var delivery = new QueueDelivery<LogLine>("syslog-" + Plan.Name, reader, new LogLineDecoder(), sender, null, _options.Delivery, _metrics, _time, _logger);
            _queue = queue;
            _sender = sender;
            _delivery = delivery;
            delivery.Start();
        }
        catch
        {
            reader?.Dispose();
            _ = queue.DisposeAsync().AsTask();
            throw;
        }
    }

    private async Task CloseAsync(TimeSpan drainTimeout)
    {
        if (_delivery is not null)
        {
            await _delivery.StopAsync(drainTimeout).ConfigureAwait(false);
            await _delivery.DisposeAsync().ConfigureAwait(false);
            _delivery = null;
        }

        if (_sender is not null)
        {
            await _sender.DisposeAsync().ConfigureAwait(false);
            _sender = null;
        }

        if (_queue is not null)
        {
            await _queue.StopAsync().ConfigureAwait(false);
            _queue = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log target {Target}: the buffer (bufferSize {KiB} KiB) is full; dropping the oldest lines until the target takes them again (the count is reported to it then)")]
    private static partial void LogOverflow(ILogger logger, string target, int kiB);

    [LoggerMessage(Level = LogLevel.Error, Message = "Log target {Target}: {Lines} lines LOST: writing the buffer failed: {Reason}")]
    private static partial void LogDiskError(ILogger logger, string target, int lines, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log target {Target}: now {Address} over {Protocol}, format {Format}, buffer {KiB} KiB; buffered lines kept")]
    private static partial void LogReconfigured(ILogger logger, string target, string address, SyslogProtocol protocol, SyslogFormat format, int kiB);
}
