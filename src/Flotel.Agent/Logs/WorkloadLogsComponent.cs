using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Flotel.Agent.Hosting;
using Flotel.Agent.Podman;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// The device's workloads and their logs: runs each <c>type: pod</c> EdgeWorkload with podman (play the pod
/// when missing, start it again when it died, remove it when it left the manifests, replace it when its pod spec
/// changed), follows every container's log into its workload's log target buffer, and forwards each target over
/// syslog. Podman being absent is reported once and retried; the forwarders keep delivering what is buffered.
/// </summary>
/// <remarks>
/// Files in <c>{data}/logs/</c>: <c>targets/NAME/</c> (a durable queue per target), <c>cursors/ID.cursor</c> (per
/// container), and <c>{data}/workloads/managed</c> (the pods this agent played, with a hash of their spec, so a spec
/// change or a removal is noticed across restarts).
/// </remarks>
public sealed partial class WorkloadLogsComponent : IAgentComponent, ILogSink
{
    private readonly AgentOptions _agent;
    private readonly WorkloadLogsOptions _options;
    private readonly MetricsRegistry _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly PodmanClient _podman;
    private readonly ContainerCursorStore _cursors;
    private readonly string _targetsDirectory;
    private readonly string _managedFile;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, LogTarget> _targets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _targetGauges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ContainerLogReader> _readers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _managed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _workloadErrors = new(StringComparer.Ordinal);
    private readonly Counter _podsStarted;
    private readonly Counter _podsRestarted;
    private readonly Counter _podsRemoved;
    private readonly Counter _podmanErrors;
    private readonly Counter _podmanUnavailable;
    private readonly Counter _noTarget;

    /// <summary>Workload → its target now; replaced whole on a new plan (readers read it without a lock).</summary>
    private volatile Dictionary<string, LogTarget> _routes = new(StringComparer.Ordinal);
    private volatile DevicePlan? _plan;
    private Task? _loop;
    private bool _podmanDown;
    private int _stopped;

    public WorkloadLogsComponent(AgentOptions agent, MetricsRegistry metrics, ILoggerFactory loggers, TimeProvider time, WorkloadLogsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        _agent = agent;
        _options = options ?? new WorkloadLogsOptions();
        _options.Validate();
        _metrics = metrics;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<WorkloadLogsComponent>();
        _podman = new PodmanClient(agent.PodmanSocket ?? PodmanClient.DefaultSocketPath());
        _cursors = new ContainerCursorStore(Path.Combine(agent.DataDirectory, "logs", "cursors"), _options.CursorSyncInterval, time);
        _targetsDirectory = Path.Combine(agent.DataDirectory, "logs", "targets");
        _managedFile = Path.Combine(agent.DataDirectory, "workloads", "managed");
        const string pods = "flotel_agent_pod_actions_total";
        const string podsHelp = "Pods the agent played, started again or removed.";
        _podsStarted = metrics.Counter(pods, podsHelp, ("action", "play"));
        _podsRestarted = metrics.Counter(pods, podsHelp, ("action", "restart"));
        _podsRemoved = metrics.Counter(pods, podsHelp, ("action", "remove"));
        _podmanErrors = metrics.Counter("flotel_agent_podman_errors_total", "Podman API calls that failed (retried at the next reconcile).");
        _podmanUnavailable = metrics.Counter("flotel_agent_podman_unavailable_total", "Reconcile passes skipped because the podman socket did not answer.");
        _noTarget = metrics.Counter("flotel_agent_workloads_without_target_total", "Plans in which a workload named a log target the device does not have (its logs are not captured).");
        metrics.Gauge("flotel_agent_podman_up", "1 when the podman API answered at the last reconcile.", () => _podmanDown ? 0 : 1);
        metrics.Gauge("flotel_agent_log_readers", "Container log streams followed now.", () => _readers.Count);
        metrics.Gauge("flotel_agent_syslog_connections_open", "Open connections to syslog targets.", () => SyslogSender.OpenConnections);
    }

    public string Name => "workloads-logs";

    /// <summary>The podman socket in use.</summary>
    public string PodmanSocket => _podman.SocketPath;

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

    public async Task StartAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory.CreateDirectory(_targetsDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(_managedFile)!);
        LoadManaged();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ApplyTargetsAsync(plan).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async Task ApplyAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped != 0)
            {
                return;
            }

            await ApplyTargetsAsync(plan).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Runs one reconcile pass now (tests; the loop runs them every <see cref="WorkloadLogsOptions.ReconcileInterval"/>).</summary>
    public async Task ReconcileNowAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync(TimeSpan drainTimeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            // Intake first (readers save their cursors), then the forwarders get the drain time.
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
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _podman.Dispose();
        _stop.Dispose();
        _gate.Dispose();
    }

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

    /// <summary>Targets: stop the removed ones (after a drain), reconfigure the changed ones, start the new ones; then re-route workloads.</summary>
    private async Task ApplyTargetsAsync(DevicePlan plan)
    {
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
        _plan = plan;
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            await _gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await ReconcileAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            finally
            {
                _gate.Release();
            }

            try
            {
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(token);
                timer.CancelAfter(_options.ReconcileInterval);
                await _wake.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // interval passed (or stopping: checked at the top)
            }
        }
    }

    /// <summary>One pass: pods to match the plan, then one log reader per container of a workload that has a target.</summary>
    private async Task ReconcileAsync(CancellationToken token)
    {
        var plan = _plan;
        if (plan is null || _stopped != 0)
        {
            return;
        }

        try
        {
            await _podman.PingAsync(token).ConfigureAwait(false);
        }
        catch (PodmanUnavailableException e)
        {
            _podmanUnavailable.Increment();
            if (!_podmanDown)
            {
                _podmanDown = true;
                LogPodmanUnavailable(_logger, e.Message, plan.Workloads.Count);
            }

            return;
        }

        if (_podmanDown)
        {
            _podmanDown = false;
            LogPodmanBack(_logger, _podman.SocketPath);
        }

        try
        {
            await ReconcilePodsAsync(plan, token).ConfigureAwait(false);
            await ReconcileReadersAsync(plan, token).ConfigureAwait(false);
        }
        catch (PodmanUnavailableException e)
        {
            _podmanErrors.Increment();
            LogPodmanCallFailed(_logger, e.Message);
        }
    }

    private async Task ReconcilePodsAsync(DevicePlan plan, CancellationToken token)
    {
        var pods = (await _podman.ListPodsAsync(token).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);
        bool changed = false;
        foreach (var workload in plan.Workloads)
        {
            var hash = Hash(workload.PodManifestYaml);
            pods.TryGetValue(workload.Name, out var pod);
            _managed.TryGetValue(workload.Name, out var known);
            try
            {
                if (pod is not null && known is not null && known != hash)
                {
                    await _podman.RemovePodAsync(workload.Name, token).ConfigureAwait(false);
                    await _podman.PlayKubeAsync(workload.PodManifestYaml, token).ConfigureAwait(false);
                    _podsStarted.Increment();
                    LogPodReplaced(_logger, workload.Name);
                }
                else if (pod is null)
                {
                    await _podman.PlayKubeAsync(workload.PodManifestYaml, token).ConfigureAwait(false);
                    _podsStarted.Increment();
                    LogPodPlayed(_logger, workload.Name);
                }
                else if (!pod.IsRunning)
                {
                    try
                    {
                        await _podman.StartPodAsync(workload.Name, token).ConfigureAwait(false);
                        _podsRestarted.Increment();
                        LogPodRestarted(_logger, workload.Name, pod.Status);
                    }
                    catch (PodmanApiException e)
                    {
                        // A pod that cannot be started (e.g. left without containers by an interrupted play kube or by
                        // hand) would fail the same way on every pass: replace it with the workload's spec instead.
                        LogPodUnstartable(_logger, workload.Name, pod.Status, e.Message);
                        await _podman.RemovePodAsync(workload.Name, token).ConfigureAwait(false);
                        await _podman.PlayKubeAsync(workload.PodManifestYaml, token).ConfigureAwait(false);
                        _podsStarted.Increment();
                    }
                }

                if (known != hash)
                {
                    _managed[workload.Name] = hash;
                    changed = true;
                }

                _workloadErrors.Remove(workload.Name);
            }
            catch (PodmanApiException e)
            {
                _podmanErrors.Increment();

                // Once per distinct error: a pod that cannot start is retried every pass without flooding the log.
                if (!_workloadErrors.TryGetValue(workload.Name, out var last) || last != e.Message)
                {
                    _workloadErrors[workload.Name] = e.Message;
                    LogPodFailed(_logger, workload.Name, e.Message);
                }

                if (pod is null)
                {
                    // play kube may leave a half-created pod behind; it is replaced at the next pass.
                    _managed[workload.Name] = hash;
                    changed = true;
                }
            }
        }

        foreach (var name in _managed.Keys.ToList())
        {
            if (plan.Workloads.Any(w => w.Name == name))
            {
                continue;
            }

            try
            {
                await _podman.RemovePodAsync(name, token).ConfigureAwait(false);
                _managed.Remove(name);
                changed = true;
                _podsRemoved.Increment();
                LogPodRemoved(_logger, name);
            }
            catch (PodmanApiException e)
            {
                _podmanErrors.Increment();
                LogPodFailed(_logger, name, e.Message);
            }
        }

        if (changed)
        {
            SaveManaged();
        }
    }

    private async Task ReconcileReadersAsync(DevicePlan plan, CancellationToken token)
    {
        var containers = await _podman.ListContainersAsync(token).ConfigureAwait(false);
        var wanted = new Dictionary<string, (string Workload, PodmanContainer Container)>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            if (!c.IsInfra && _routes.ContainsKey(c.PodName) && plan.Workloads.Any(w => w.Name == c.PodName))
            {
                wanted[c.Id] = (c.PodName, c);
            }
        }

        List<ContainerLogReader> stale = [];
        lock (_readers)
        {
            foreach (var (id, reader) in _readers)
            {
                if (!wanted.ContainsKey(id))
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

        foreach (var (id, (workload, container)) in wanted)
        {
            bool exists;
            lock (_readers)
            {
                exists = _readers.ContainsKey(id);
            }

            if (exists)
            {
                continue;
            }

            var reader = new ContainerLogReader(workload, container, _podman, _cursors, this, _options, _metrics, _time, _loggers.CreateLogger<ContainerLogReader>());
            lock (_readers)
            {
                _readers[id] = reader;
            }

            reader.Start();
        }

        // Cursors of containers that no longer exist: their logs are gone with them.
        var existing = containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in _cursors.List())
        {
            if (!existing.Contains(id))
            {
                _cursors.Delete(id);
            }
        }
    }

    private static string Hash(string yaml) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)))[..16];

    private void LoadManaged()
    {
        if (!File.Exists(_managedFile))
        {
            return;
        }

        foreach (var line in File.ReadAllLines(_managedFile))
        {
            var parts = line.Split(' ', 2);
            if (parts.Length == 2)
            {
                _managed[parts[1]] = parts[0];
            }
        }
    }

    private void SaveManaged()
    {
        var text = new StringBuilder();
        foreach (var (name, hash) in _managed.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"{hash} {name}\n");
        }

        var tmp = _managedFile + ".tmp";
        File.WriteAllText(tmp, text.ToString());
        File.Move(tmp, _managedFile, overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason}. The {Workloads} workloads are not run and no new log lines are captured until it answers; buffered lines are still forwarded")]
    private static partial void LogPodmanUnavailable(ILogger logger, string reason, int workloads);

    [LoggerMessage(Level = LogLevel.Information, Message = "Podman answers again at {Socket}")]
    private static partial void LogPodmanBack(ILogger logger, string socket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A podman call failed: {Reason}; retrying at the next reconcile")]
    private static partial void LogPodmanCallFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workload {Workload}: pod played")]
    private static partial void LogPodPlayed(ILogger logger, string workload);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workload {Workload}: pod spec changed; pod replaced")]
    private static partial void LogPodReplaced(ILogger logger, string workload);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload {Workload}: its pod ({Status}) cannot be started ({Reason}); replacing it")]
    private static partial void LogPodUnstartable(ILogger logger, string workload, string status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload {Workload}: pod was {Status}; started it again")]
    private static partial void LogPodRestarted(ILogger logger, string workload, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workload {Workload}: left the manifests; pod removed")]
    private static partial void LogPodRemoved(ILogger logger, string workload);

    [LoggerMessage(Level = LogLevel.Error, Message = "Workload {Workload}: podman failed: {Reason}; retrying at the next reconcile")]
    private static partial void LogPodFailed(ILogger logger, string workload, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Workload {Workload}: its log target {Target} does not exist on this device; its logs are NOT captured")]
    private static partial void LogNoTarget(ILogger logger, string workload, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log target {Target} removed: its forwarder and connection are closed; undelivered lines stay in its buffer on disk")]
    private static partial void LogTargetRemoved(ILogger logger, string target);
}
