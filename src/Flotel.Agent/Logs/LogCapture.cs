using System.Collections.Concurrent;
using Flotel.Agent.Podman;
using Flotel.Agent.Workloads;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// The device's log capture: one <see cref="LogTarget"/> per <c>spec.logCollection.NAME</c> of the plan (a buffer and
/// its syslog forwarder), and one <see cref="ContainerLogReader"/> per workload container the
/// <see cref="WorkloadRunner"/> reports (<see cref="IWorkloadContainerObserver"/>) whose workload has a target now.
/// Readers append to their workload's target through <see cref="ILogSink"/>. Calls are not concurrent: the owner
/// serializes <see cref="StartAsync"/>, <see cref="ApplyAsync"/>, <see cref="ContainersChangedAsync"/> and
/// <see cref="StopAsync"/>; the sink and the read-only views may be used from any thread.
/// </summary>
/// <remarks>
/// Files in <c>{data}/logs/</c>: <c>targets/NAME/</c> (a durable queue per target) and <c>cursors/ID.cursor</c> (per
/// container, <see cref="ContainerCursorStore"/>).
/// </remarks>
public sealed partial class LogCapture : IWorkloadContainerObserver, ILogSink, IAsyncDisposable
{
    private readonly WorkloadLogsOptions _options;
    private readonly MetricsRegistry _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly PodmanClient _podman;
    private readonly ContainerCursorStore _cursors;
    private readonly string _targetsDirectory;
    private readonly ConcurrentDictionary<string, LogTarget> _targets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _targetGauges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ContainerLogReader> _readers = new(StringComparer.Ordinal);
    private readonly Counter _noTarget;

    /// <summary>The workload containers reported so far (id → container), with a target or not.</summary>
    private readonly Dictionary<string, PodmanContainer> _containers = new(StringComparer.Ordinal);

    /// <summary>Workload → its target now; replaced whole on a new plan (readers read it without a lock).</summary>
    private volatile Dictionary<string, LogTarget> _routes = new(StringComparer.Ordinal);

    /// <param name="logsDirectory">The capture's directory, <c>{data}/logs</c>.</param>
    /// <param name="podman">The libpod API client the readers inspect containers and open log streams with (owned by the caller).</param>
    /// <param name="options">Tuning; validated by the caller.</param>
    /// <param name="metrics">Where the capture's and the targets' metrics are registered.</param>
    /// <param name="loggers">Creates the loggers of the targets and readers.</param>
    /// <param name="time">The clock of the targets, readers and cursors.</param>
    /// <param name="logger">Where target changes and unrouted workloads are logged.</param>
    public LogCapture(string logsDirectory, PodmanClient podman, WorkloadLogsOptions options, MetricsRegistry metrics, ILoggerFactory loggers, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logsDirectory);
        ArgumentNullException.ThrowIfNull(podman);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _metrics = metrics;
        _time = time;
        _loggers = loggers;
        _logger = logger;
        _podman = podman;
        _cursors = new ContainerCursorStore(Path.Combine(logsDirectory, "cursors"), options.CursorSyncInterval, time);
        _targetsDirectory = Path.Combine(logsDirectory, "targets");
        _noTarget = metrics.Counter("flotel_agent_workloads_without_target_total", "Plans in which a workload named a log target the device does not have (its logs are not captured).");
        metrics.Gauge("flotel_agent_log_readers", "Container logs followed now.", () => _readers.Count);
        const string filesHelp = "Container logs followed now in conmon's k8s-file rather than through podman's API.";
        metrics.Gauge("flotel_agent_log_files_followed", filesHelp, CountFileReaders);
        metrics.Gauge("flotel_agent_syslog_connections_open", "Open connections to syslog targets.", () => SyslogSender.OpenConnections);
    }

    /// <summary>The running targets by name (tests, status).</summary>
    public IReadOnlyDictionary<string, LogTarget> Targets => _targets;

    /// <summary>Container ids whose logs are followed now.</summary>
    public IReadOnlyCollection<string> FollowedContainers
    {
        get
        {
            lock (_readers)
            {
                return [.. _readers.Keys];
            }
        }
    }

    private double CountFileReaders()
    {
        lock (_readers)
        {
            int n = 0;
            foreach (var reader in _readers.Values)
            {
                n += reader.ReadsFile ? 1 : 0;
            }

            return n;
        }
    }

    /// <summary>Creates the targets' directory and starts the targets of the first plan.</summary>
    public Task StartAsync(DevicePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory.CreateDirectory(_targetsDirectory);
        return ApplyAsync(plan);
    }

    /// <summary>
    /// Targets: stops the removed ones (after a drain), reconfigures the changed ones, starts the new ones; then
    /// re-routes workloads. Readers follow the new routes at the next <see cref="ContainersChangedAsync"/>.
    /// </summary>
    public async Task ApplyAsync(DevicePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var wanted = plan.LogTargets.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var routes = new Dictionary<string, LogTarget>(StringComparer.Ordinal);
        foreach (var (name, target) in _targets.ToList())
        {
            if (!wanted.TryGetValue(name, out var next))
            {
                _targets.TryRemove(name, out _);
                await target.StopAsync(_options.TargetDrainTimeout).ConfigureAwait(false);
                await target.DisposeAsync().ConfigureAwait(false);
                LogTargetRemoved(_logger, name);
            }
            else if (next != target.Plan)
            {
                await target.ReconfigureAsync(next).ConfigureAwait(false);
            }
        }

        foreach (var (name, next) in wanted)
        {
            if (!_targets.ContainsKey(name))
            {
                _targets[name] = LogTarget.Start(next, _targetsDirectory, plan.DeviceName, _options, _metrics, _time, _loggers.CreateLogger<LogTarget>());
                if (_targetGauges.Add(name))
                {
                    _metrics.Gauge("flotel_agent_log_buffer_bytes", "Bytes in a log target's buffer on disk.", () => _targets.TryGetValue(name, out var t) ? t.BufferBytes : 0, ("target", name));
                }
            }
        }

        foreach (var workload in plan.Workloads)
        {
            if (workload.LogTarget is null)
            {
                continue;
            }

            if (_targets.TryGetValue(workload.LogTarget.Name, out var target))
            {
                routes[workload.Name] = target;
            }
            else
            {
                _noTarget.Increment();
                LogNoTarget(_logger, workload.Name, workload.LogTarget.Name);
            }
        }

        _routes = routes;
    }

    /// <summary>
    /// One log reader per reported workload container whose workload has a target now; readers of the others are
    /// stopped. Cursors of containers that no longer exist are deleted: their logs are gone with them.
    /// </summary>
    public async Task ContainersChangedAsync(WorkloadContainerChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var c in changes.Removed)
        {
            _containers.Remove(c.Id);
        }

        foreach (var c in changes.Started)
        {
            _containers[c.Id] = c;
        }

        var routes = _routes;
        List<ContainerLogReader> stale = [];
        lock (_readers)
        {
            foreach (var (id, reader) in _readers)
            {
                if (!_containers.TryGetValue(id, out var c) || !routes.ContainsKey(c.PodName))
                {
                    stale.Add(reader);
                }
            }

            foreach (var reader in stale)
            {
                _readers.Remove(reader.Container.Id);
            }
        }

        foreach (var reader in stale)
        {
            await reader.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var (id, container) in _containers)
        {
            if (!routes.ContainsKey(container.PodName))
            {
                continue;
            }

            bool exists;
            lock (_readers)
            {
                exists = _readers.ContainsKey(id);
            }

            if (exists)
            {
                continue;
            }

            var reader = new ContainerLogReader(container.PodName, container, _podman, _cursors, this, _options, _metrics, _time, _loggers.CreateLogger<ContainerLogReader>());
            lock (_readers)
            {
                _readers[id] = reader;
            }

            reader.Start();
        }

        foreach (var id in _cursors.List())
        {
            if (!changes.ExistingIds.Contains(id))
            {
                _cursors.Delete(id);
            }
        }
    }

    /// <summary>Intake first (readers save their cursors), then the forwarders get the drain time. Idempotent.</summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        List<ContainerLogReader> readers;
        lock (_readers)
        {
            readers = [.. _readers.Values];
            _readers.Clear();
        }

        foreach (var reader in readers)
        {
            await reader.DisposeAsync().ConfigureAwait(false);
        }

        _routes = new Dictionary<string, LogTarget>(StringComparer.Ordinal);
        await Task.WhenAll(_targets.Values.Select(t => t.StopAsync(drainTimeout))).ConfigureAwait(false);
        foreach (var target in _targets.Values)
        {
            await target.DisposeAsync().ConfigureAwait(false);
        }

        _targets.Clear();
    }

    public ValueTask DisposeAsync() => new(StopAsync(TimeSpan.Zero));

    int ILogSink.MaxMessageBytes(string workload) => _routes.TryGetValue(workload, out var target) ? target.MaxMessageBytes : 0;

    Task<bool> ILogSink.AppendAsync(string workload, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken) =>
        _routes.TryGetValue(workload, out var target) ? target.AppendAsync(records, cancellationToken) : Task.FromResult(false);

    void ILogSink.CountTruncated(string workload)
    {
        if (_routes.TryGetValue(workload, out var target))
        {
            target.CountTruncated();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Workload {Workload}: its log target {Target} does not exist on this device; its logs are NOT captured")]
    private static partial void LogNoTarget(ILogger logger, string workload, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log target {Target} removed: its forwarder and connection are closed; undelivered lines stay in its buffer on disk")]
    private static partial void LogTargetRemoved(ILogger logger, string target);
}
