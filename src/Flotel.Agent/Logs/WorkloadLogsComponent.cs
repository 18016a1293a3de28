using System.Threading.Channels;
using Flotel.Agent.Hosting;
using Flotel.Agent.Podman;
using Flotel.Agent.Workloads;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// The device's workloads and their logs, wired for <see cref="AgentHost"/>: a <see cref="WorkloadRunner"/> runs each
/// <c>type: pod</c> EdgeWorkload with podman and tells the <see cref="LogCapture"/> which containers started and were
/// removed; the capture follows every container's log into its workload's log target buffer and forwards each target
/// over syslog. One reconcile pass at a time (pods, then readers): after each new plan; when a workload container's
/// process ends (<see cref="ContainerExitWatcher"/>, the default) or podman's event stream reports a container that
/// started, died or was removed (<see cref="PodmanEventWatcher"/>, <see cref="ContainerWatch.Events"/>); and at a
/// fallback interval: <see cref="WorkloadLogsOptions.ProcessesReconcileInterval"/> while every workload container's
/// process is held, <see cref="WorkloadLogsOptions.EventsReconcileInterval"/> while the event stream is open,
/// <see cref="WorkloadLogsOptions.ReconcileInterval"/> otherwise. Podman being absent is reported once and retried;
/// the forwarders keep delivering what is buffered.
/// </summary>
/// <remarks>
/// Files: <c>{data}/logs/</c> (<see cref="LogCapture"/>) and <c>{data}/workloads/managed</c>
/// (<see cref="WorkloadRunner"/>).
/// </remarks>
public sealed class WorkloadLogsComponent : IAgentComponent
{
    private readonly WorkloadLogsOptions _options;
    private readonly PodmanClient _podman;
    private readonly LogCapture _capture;
    private readonly WorkloadRunner _runner;
    private readonly PodmanEventWatcher? _events;
    private readonly ContainerExitWatcher? _exits;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private volatile DevicePlan? _plan;

    /// <summary>True when the last pass reached podman and every workload container it found runs under a process now held.</summary>
    private volatile bool _processesWatched;
    private Task? _loop;
    private int _stopped;

    public WorkloadLogsComponent(AgentOptions agent, MetricsRegistry metrics, ILoggerFactory loggers, TimeProvider time, WorkloadLogsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options ?? new WorkloadLogsOptions();
        _options.Validate();
        _options.Fleet ??= agent.Fleet;

        // Both parts log under this component's category, as before they were split.
        var logger = loggers.CreateLogger<WorkloadLogsComponent>();
        _podman = new PodmanClient(agent.PodmanSocket ?? PodmanClient.DefaultSocketPath());
        _capture = new LogCapture(Path.Combine(agent.DataDirectory, "logs"), _podman, _options, metrics, loggers, time, logger);
        _runner = new WorkloadRunner(_podman, Path.Combine(agent.DataDirectory, "workloads", "managed"), _capture, metrics, logger);
        var watch = _options.ContainerWatch;
        if (watch == ContainerWatch.Processes && !ContainerExitWatcher.IsSupported)
        {
            watch = ContainerWatch.Events;
        }

        if (watch == ContainerWatch.Processes)
        {
            _exits = new ContainerExitWatcher(() => _wake.Writer.TryWrite(true), metrics, logger);
        }
        else if (watch == ContainerWatch.Events)
        {
            _events = new PodmanEventWatcher(_podman.SocketPath, () => _wake.Writer.TryWrite(true), metrics, logger);
        }
    }

    public string Name => "workloads-logs";

    /// <summary>The podman socket in use.</summary>
    public string PodmanSocket => _podman.SocketPath;

    /// <summary>The log capture: targets, readers, and the sink the readers append to.</summary>
    public LogCapture Capture => _capture;

    /// <summary>The workloads of the running plan with their states (status reports).</summary>
    public IReadOnlyList<WorkloadState> WorkloadStates => _plan is { } plan ? _runner.States(plan) : [];

    /// <summary>The running targets by name (tests, status).</summary>
    public IReadOnlyDictionary<string, LogTarget> Targets => _capture.Targets;

    /// <summary>Container ids whose logs are followed now.</summary>
    public IReadOnlyCollection<string> FollowedContainers => _capture.FollowedContainers;

    /// <summary>True while podman's event stream is open (pods are then polled only every <see cref="WorkloadLogsOptions.EventsReconcileInterval"/>).</summary>
    public bool WatchesPodmanEvents => _events?.Connected ?? false;

    /// <summary>How container ends are noticed in this process (<see cref="ContainerWatch.Processes"/> falls back to events without pidfds).</summary>
    public ContainerWatch ContainerWatch => _exits is not null ? ContainerWatch.Processes : _events is not null ? ContainerWatch.Events : ContainerWatch.Poll;

    public async Task StartAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _runner.Load();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _capture.StartAsync(plan).ConfigureAwait(false);
            _plan = plan;
        }
        finally
        {
            _gate.Release();
        }

        _exits?.Start();
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        _events?.Start();
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

            await _capture.ApplyAsync(plan).ConfigureAwait(false);
            _plan = plan;
        }
        finally
        {
            _gate.Release();
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Runs one reconcile pass now (tests; the loop runs them on events and every <see cref="PollInterval"/>).</summary>
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
        if (_events is not null)
        {
            await _events.StopAsync().ConfigureAwait(false);
        }

        if (_exits is not null)
        {
            await _exits.StopAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await _capture.StopAsync(drainTimeout).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        if (_events is not null)
        {
            await _events.DisposeAsync().ConfigureAwait(false);
        }

        _podman.Dispose();
        _stop.Dispose();
        _gate.Dispose();
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
                timer.CancelAfter(PollInterval);
                await _wake.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // interval passed (or stopping: checked at the top)
            }
        }
    }

    /// <summary>
    /// The wait between passes when nothing wakes the loop: long while a container's end wakes the loop at once (every
    /// workload container's process held, or podman's event stream open), short otherwise (a died container is then
    /// noticed by this poll).
    /// </summary>
    private TimeSpan PollInterval
    {
        get
        {
            var fallback = _exits is not null && _processesWatched ? _options.ProcessesReconcileInterval
                : _events is { Connected: true } ? _options.EventsReconcileInterval
                : _options.ReconcileInterval;
            return fallback > _options.ReconcileInterval ? fallback : _options.ReconcileInterval;
        }
    }

    /// <summary>One pass: pods to match the plan, then (through the runner's report) one log reader per container of a workload that has a target.</summary>
    private async Task ReconcileAsync(CancellationToken token)
    {
        var plan = _plan;
        if (plan is null || _stopped != 0)
        {
            return;
        }

        await _runner.ReconcileAsync(plan, token).ConfigureAwait(false);
        if (_exits is not null)
        {
            var processes = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (id, container) in _runner.Containers)
            {
                processes[id] = container.Pid;
            }

            // A pass that did not reach podman, a workload without containers yet, or a container whose process could
            // not be held (not running, already gone): poll at the short interval until the next pass settles it.
            int unwatched = _exits.Watch(processes);
            _processesWatched = _runner.Answered && unwatched == 0 && processes.Count >= plan.Workloads.Count;
        }
    }
}
