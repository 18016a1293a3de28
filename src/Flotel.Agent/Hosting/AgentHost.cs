using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Flotel.Wire.Manifests;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Hosting;

/// <summary>
/// The device side: resolves the manifests into a <see cref="DevicePlan"/>, starts the components with it, and
/// re-reads the manifests on change (debounced) or on <see cref="ReloadAsync"/> (SIGHUP). A new set of manifests with
/// errors is reported and ignored — the agent keeps running on the last good plan (never crash after startup).
/// </summary>
public sealed partial class AgentHost : IAsyncDisposable
{
    private readonly AgentOptions _options;
    private readonly ILogger _logger;
    private readonly List<IAgentComponent> _components;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private int _stopped;

    private AgentHost(AgentOptions options, DevicePlan plan, List<IAgentComponent> components, MetricsRegistry metrics, ILogger logger)
    {
        _options = options;
        Plan = plan;
        _components = components;
        Metrics = metrics;
        _logger = logger;
        Reloads = metrics.Counter("flotel_agent_manifest_reloads_total", "Manifest reloads, by result.", ("result", "applied"));
        FailedReloads = metrics.Counter("flotel_agent_manifest_reloads_total", "Manifest reloads, by result.", ("result", "invalid"));
    }

    /// <summary>The plan the components run now.</summary>
    public DevicePlan Plan { get; private set; }

    /// <summary>The agent's own metrics (scraped into its remote write by the metrics component).</summary>
    public MetricsRegistry Metrics { get; }

    /// <summary>The running components.</summary>
    public IReadOnlyList<IAgentComponent> Components => _components;

    /// <summary>Reloads that produced a new plan.</summary>
    public Counter Reloads { get; }

    /// <summary>Reloads refused because the manifests had errors.</summary>
    public Counter FailedReloads { get; }

    /// <summary>
    /// Resolves the manifests and starts every component. <paramref name="componentFactory"/> builds the components
    /// (tests pass their own); null = the product's set (<see cref="DefaultComponents"/>).
    /// </summary>
    /// <exception cref="AgentStartException">The manifests do not resolve, or a component cannot start.</exception>
    public static async Task<AgentHost> StartAsync(
        AgentOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        Func<AgentOptions, MetricsRegistry, ILoggerFactory, TimeProvider, IEnumerable<IAgentComponent>>? componentFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var plan = Resolve(options, out var problems) ?? throw new AgentStartException(
            $"the manifests in {options.ManifestsDirectory} do not describe a device this agent can run", problems);
        try
        {
            Directory.CreateDirectory(options.DataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentStartException($"data directory {options.DataDirectory} is not usable: {e.Message}", e);
        }

        var metrics = new MetricsRegistry();
        ProcessMetrics.Register(metrics);
        var components = (componentFactory ?? DefaultComponents)(options, metrics, loggerFactory, time).ToList();
        var host = new AgentHost(options, plan, components, metrics, loggerFactory.CreateLogger<AgentHost>());
        try
        {
            foreach (var component in components)
            {
                await component.StartAsync(plan, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await host.StopAsync().ConfigureAwait(false);
            throw;
        }

        LogStarted(host._logger, plan.DeviceName, plan.Workloads.Count, plan.LogTargets.Count);
        if (options.WatchManifests)
        {
            host.Watch();
        }

        return host;
    }

    /// <summary>The components of the product: workloads and their logs, then metrics.</summary>
    public static IEnumerable<IAgentComponent> DefaultComponents(AgentOptions options, MetricsRegistry metrics, ILoggerFactory loggerFactory, TimeProvider time)
    {
        yield return new Logs.WorkloadLogsComponent(options, metrics, loggerFactory, time);
        yield return new Metrics.MetricsComponent(options, metrics, loggerFactory, time);
    }

    /// <summary>Re-reads the manifests and applies the plan if it is valid and different. Returns true when applied.</summary>
    public async Task<bool> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped != 0)
            {
                return false;
            }

            var plan = Resolve(_options, out var problems);
            if (plan is null)
            {
                FailedReloads.Increment();
                LogReloadRefused(_logger, problems.Count, problems.Count > 0 ? problems[0] : "no device");
                return false;
            }

            if (plan == Plan || SamePlan(plan, Plan))
            {
                return false;
            }

            Plan = plan;
            foreach (var component in _components)
            {
                try
                {
                    await component.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogApplyFailed(_logger, component.Name, e.Message);
                }
            }

            Reloads.Increment();
            LogReloaded(_logger, plan.Workloads.Count, plan.LogTargets.Count);
            return true;
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>Stops the components in reverse order, each within <paramref name="drainTimeout"/>. Idempotent.</summary>
    public async Task StopAsync(TimeSpan? drainTimeout = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _watcher?.Dispose();
        if (_debounce is not null)
        {
            await _debounce.DisposeAsync().ConfigureAwait(false);
        }

        for (var i = _components.Count - 1; i >= 0; i--)
        {
            try
            {
                await _components[i].StopAsync(drainTimeout ?? TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                await _components[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogStopFailed(_logger, _components[i].Name, e.Message);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _reloadGate.Dispose();
    }

    private static DevicePlan? Resolve(AgentOptions options, out List<string> problems)
    {
        problems = [];
        if (!Directory.Exists(options.ManifestsDirectory))
        {
            problems.Add($"{options.ManifestsDirectory}: no such directory");
            return null;
        }

        var set = ManifestLoader.LoadDirectory(options.ManifestsDirectory);
        var result = DevicePlanResolver.Resolve(set, options.DeviceName, options.ManifestsDirectory);
        foreach (var diagnostic in result.Diagnostics)
        {
            if (diagnostic.IsError)
            {
                problems.Add(diagnostic.ToString());
            }
        }

        if (result.HasErrors || result.Plan is null)
        {
            return null;
        }

        return options.PlanTransform is { } transform ? transform(result.Plan) : result.Plan;
    }

    /// <summary>Plans hold lists, so record equality is by reference; compare their rendered summaries instead.</summary>
    // The summary never shows Secret contents, so the receiver and the log targets are compared whole (records of
    // strings): a rotated token or CA certificate is a change to apply, not the same plan.
    private static bool SamePlan(DevicePlan a, DevicePlan b) =>
        DevicePlanSummary.Render(new DevicePlanResult(a, [])).SequenceEqual(DevicePlanSummary.Render(new DevicePlanResult(b, [])), StringComparer.Ordinal)
        && a.Workloads.Select(w => w.PodManifestYaml).SequenceEqual(b.Workloads.Select(w => w.PodManifestYaml), StringComparer.Ordinal)
        && a.MetricsReceiver == b.MetricsReceiver
        && a.LogTargets.SequenceEqual(b.LogTargets);

    private void Watch()
    {
        _debounce = new Timer(_ => _ = ReloadFromWatcherAsync(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(_options.ManifestsDirectory) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.DirectoryName };
        FileSystemEventHandler changed = (_, _) => _debounce?.Change(_options.ReloadDebounce, Timeout.InfiniteTimeSpan);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Deleted += changed;
        _watcher.Renamed += (_, _) => _debounce?.Change(_options.ReloadDebounce, Timeout.InfiniteTimeSpan);
        _watcher.EnableRaisingEvents = true;
    }

    private async Task ReloadFromWatcherAsync()
    {
        try
        {
            await ReloadAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent started for device {Device}: {Workloads} workloads, {Targets} log targets")]
    private static partial void LogStarted(ILogger logger, string device, int workloads, int targets);

    [LoggerMessage(Level = LogLevel.Information, Message = "Manifests changed: now {Workloads} workloads, {Targets} log targets")]
    private static partial void LogReloaded(ILogger logger, int workloads, int targets);

    [LoggerMessage(Level = LogLevel.Error, Message = "Manifests changed but have {Count} errors; keeping the previous plan. First: {First}")]
    private static partial void LogReloadRefused(ILogger logger, int count, string first);

    [LoggerMessage(Level = LogLevel.Error, Message = "Component {Component} failed to apply the new plan: {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, string component, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component {Component} failed to stop cleanly: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string component, string reason);
}
