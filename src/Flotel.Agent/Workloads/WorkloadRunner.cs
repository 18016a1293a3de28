using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Flotel.Agent.Podman;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Workloads;

/// <summary>
/// Runs each <c>type: pod</c> EdgeWorkload with podman: plays the pod when missing, starts it again when it died,
/// removes it when it left the manifests, replaces it when its pod spec changed. After each pass that reached podman it
/// tells its <see cref="IWorkloadContainerObserver"/> which workload containers started and which were removed. Podman
/// being absent is reported once and retried at the next pass. Calls are not concurrent: the owner serializes them.
/// </summary>
/// <remarks>
/// File <c>{data}/workloads/managed</c>: the pods this agent played, one <c>HASH NAME</c> line each (the first 16 hex
/// digits of the SHA-256 of the pod spec), so a spec change or a removal is noticed across restarts; written
/// tmp-then-rename.
/// </remarks>
public sealed partial class WorkloadRunner
{
    private readonly PodmanClient _podman;
    private readonly string _managedFile;
    private readonly IWorkloadContainerObserver _observer;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _managed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _workloadErrors = new(StringComparer.Ordinal);
    private readonly Counter _podsStarted;
    private readonly Counter _podsRestarted;
    private readonly Counter _podsRemoved;
    private readonly Counter _podmanErrors;
    private readonly Counter _podmanUnavailable;

    /// <summary>The workload containers the observer was told about last (id → container).</summary>
    private Dictionary<string, PodmanContainer> _containers = new(StringComparer.Ordinal);
    private bool _podmanDown;

    /// <summary>The outcome of the last pass per workload, replaced whole after each pass (read by status reports on other threads).</summary>
    private volatile IReadOnlyDictionary<string, WorkloadState> _states = new Dictionary<string, WorkloadState>(StringComparer.Ordinal);

    /// <param name="podman">The libpod API client (owned by the caller).</param>
    /// <param name="managedFile">The managed-pods file, <c>{data}/workloads/managed</c>.</param>
    /// <param name="observer">Told the workload containers that started and were removed after each pass.</param>
    /// <param name="metrics">Where the pod and podman counters are registered.</param>
    /// <param name="logger">Where pod actions and podman failures are logged.</param>
    public WorkloadRunner(PodmanClient podman, string managedFile, IWorkloadContainerObserver observer, MetricsRegistry metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(podman);
        ArgumentNullException.ThrowIfNull(managedFile);
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _podman = podman;
        _managedFile = managedFile;
        _observer = observer;
        _logger = logger;
        const string pods = "flotel_agent_pod_actions_total";
        const string podsHelp = "Pods the agent played, started again or removed.";
        _podsStarted = metrics.Counter(pods, podsHelp, ("action", "play"));
        _podsRestarted = metrics.Counter(pods, podsHelp, ("action", "restart"));
        _podsRemoved = metrics.Counter(pods, podsHelp, ("action", "remove"));
        _podmanErrors = metrics.Counter("flotel_agent_podman_errors_total", "Podman API calls that failed (retried at the next reconcile).");
        _podmanUnavailable = metrics.Counter("flotel_agent_podman_unavailable_total", "Reconcile passes skipped because the podman socket did not answer.");
        metrics.Gauge("flotel_agent_podman_up", "1 when the podman API answered at the last reconcile.", () => _podmanDown ? 0 : 1);
    }

    /// <summary>The workload containers (not the pods' infra containers) as the last pass that reached podman listed them, by id.</summary>
    public IReadOnlyDictionary<string, PodmanContainer> Containers => _containers;

    /// <summary>True when the last pass reached podman and finished (pods reconciled, containers listed).</summary>
    public bool Answered { get; private set; }

    /// <summary>The workloads the managed-pods file names (name → spec hash).</summary>
    public IReadOnlyDictionary<string, string> Managed => _managed;

    /// <summary>
    /// Each workload of <paramref name="plan"/> as the last reconcile pass left it (docs/fleet.md §5 status):
    /// <c>running</c> once its pod was played or found running, <c>failed</c> with podman's message when that failed,
    /// <c>starting</c> before the first pass reached it (or while podman does not answer).
    /// </summary>
    public IReadOnlyList<WorkloadState> States(DevicePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var states = _states;
        var down = _podmanDown;
        var list = new List<WorkloadState>(plan.Workloads.Count);
        foreach (var workload in plan.Workloads)
        {
            list.Add(down ? new WorkloadState(workload.Name, "starting", "podman API unavailable")
                : states.TryGetValue(workload.Name, out var state) ? state
                : new WorkloadState(workload.Name, "starting", null));
        }

        return list;
    }

    /// <summary>Creates the file's directory and reads the pods played before a restart.</summary>
    public void Load()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_managedFile)!);
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

    /// <summary>One pass: pods to match <paramref name="plan"/>, then the workload containers to the observer.</summary>
    public async Task ReconcileAsync(DevicePlan plan, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Answered = false;
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
            await ReportContainersAsync(plan, token).ConfigureAwait(false);
            Answered = true;
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

        var states = new Dictionary<string, WorkloadState>(StringComparer.Ordinal);
        foreach (var workload in plan.Workloads)
        {
            states[workload.Name] = _workloadErrors.TryGetValue(workload.Name, out var error)
                ? new WorkloadState(workload.Name, "failed", error)
                : new WorkloadState(workload.Name, "running", null);
        }

        _states = states;
    }

    /// <summary>Lists the containers and tells the observer which workload containers started and were removed.</summary>
    private async Task ReportContainersAsync(DevicePlan plan, CancellationToken token)
    {
        var containers = await _podman.ListContainersAsync(token).ConfigureAwait(false);
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var current = new Dictionary<string, PodmanContainer>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            existing.Add(c.Id);
            if (!c.IsInfra && plan.Workloads.Any(w => w.Name == c.PodName))
            {
                current[c.Id] = c;
            }
        }

        List<PodmanContainer> started = [];
        foreach (var (id, c) in current)
        {
            if (!_containers.ContainsKey(id))
            {
                started.Add(c);
            }
        }

        List<PodmanContainer> removed = [];
        foreach (var (id, c) in _containers)
        {
            if (!current.ContainsKey(id))
            {
                removed.Add(c);
            }
        }

        _containers = current;
        await _observer.ContainersChangedAsync(new WorkloadContainerChanges(started, removed, existing), token).ConfigureAwait(false);
    }

    private static string Hash(string yaml) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)))[..16];

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

    // A warning (style rule 10): nothing is lost meanwhile, workloads wait to be started and buffers keep their lines.
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reason}. Until podman answers, the {Workloads} workloads are not run and no container log lines "
        + "are captured; node and agent metrics are still scraped and sent, buffered log lines still forwarded")]
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
}
