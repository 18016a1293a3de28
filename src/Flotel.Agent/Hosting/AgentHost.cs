using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Flotel.Wire.Manifests;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Hosting;

/// <summary>
/// The device side: takes the first <see cref="DevicePlan"/> from its <see cref="IPlanSource"/> (a manifests folder or the
/// gateway), starts the components with it, and applies every later plan the source hands it (a changed folder, SIGHUP,
/// a new bundle). Manifests with errors are reported and ignored — the agent keeps running on the last good plan (never
/// crash after startup).
/// </summary>
public sealed partial class AgentHost : IAsyncDisposable, IPlanTarget
{
    private readonly IPlanSource _source;
    private readonly ILogger _logger;
    private readonly List<IAgentComponent> _components;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private int _stopped;

    private AgentHost(IPlanSource source, DevicePlan plan, List<IAgentComponent> components, MetricsRegistry metrics, ILogger logger)
    {
        _source = source;
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

    /// <summary>The source of the plans.</summary>
    public IPlanSource Source => _source;

    /// <summary>
    /// Starts on the manifests folder of <paramref name="options"/> (<see cref="FolderPlanSource"/>).
    /// <paramref name="componentFactory"/> builds the components (tests pass their own); null = the product's set
    /// (<see cref="DefaultComponents"/>).
    /// </summary>
    /// <exception cref="AgentStartException">The manifests do not resolve, or a component cannot start.</exception>
    public static Task<AgentHost> StartAsync(
        AgentOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        Func<AgentOptions, MetricsRegistry, ILoggerFactory, TimeProvider, IEnumerable<IAgentComponent>>? componentFactory = null,
        CancellationToken cancellationToken = default) =>
        StartAsync(options, new FolderPlanSource(options), loggerFactory, time, componentFactory, cancellationToken);

    /// <summary>
    /// Takes the first plan from <paramref name="source"/> (which the host then owns), starts every component with it,
    /// and starts the source watching for the next ones.
    /// </summary>
    /// <exception cref="AgentStartException">There is no plan, or a component cannot start.</exception>
    public static async Task<AgentHost> StartAsync(
        AgentOptions options,
        IPlanSource source,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        Func<AgentOptions, MetricsRegistry, ILoggerFactory, TimeProvider, IEnumerable<IAgentComponent>>? componentFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        DevicePlan plan;
        try
        {
            plan = await source.InitialPlanAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            Directory.CreateDirectory(options.DataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw new AgentStartException($"data directory {options.DataDirectory} is not usable: {e.Message}", e);
        }

        var metrics = new MetricsRegistry();
        ProcessMetrics.Register(metrics);
        var components = (componentFactory ?? DefaultComponents)(options, metrics, loggerFactory, time).ToList();
        var host = new AgentHost(source, plan, components, metrics, loggerFactory.CreateLogger<AgentHost>());
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

        LogStarted(host._logger, plan.DeviceName, plan.Workloads.Count, plan.LogTargets.Count, source.Description);
        source.Start(host);
        return host;
    }

    /// <summary>The components of the product: workloads and their logs, then metrics.</summary>
    public static IEnumerable<IAgentComponent> DefaultComponents(AgentOptions options, MetricsRegistry metrics, ILoggerFactory loggerFactory, TimeProvider time)
    {
        yield return new Logs.WorkloadLogsComponent(options, metrics, loggerFactory, time);
        yield return new Metrics.MetricsComponent(options, metrics, loggerFactory, time);
    }

    /// <summary>Asks the source for a new plan now (SIGHUP: the folder is re-read). Returns true when one was applied.</summary>
    public Task<bool> ReloadAsync(CancellationToken cancellationToken = default) => _source.ReloadAsync(cancellationToken);

    /// <summary>Applies <paramref name="plan"/> if it differs from the running one; every component gets it even when one fails.</summary>
    public async Task<PlanApplyResult> ApplyAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopped != 0 || plan == Plan || SamePlan(plan, Plan))
            {
                return PlanApplyResult.Unchanged;
            }

            Plan = plan;
            var errors = new List<string>();
            foreach (var component in _components)
            {
                try
                {
                    await component.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    errors.Add($"{component.Name}: {e.Message}");
                    LogApplyFailed(_logger, component.Name, e.Message);
                }
            }

            Reloads.Increment();
            LogReloaded(_logger, plan.Workloads.Count, plan.LogTargets.Count);
            return new PlanApplyResult(true, errors);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <inheritdoc />
    public void PlanRefused(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        FailedReloads.Increment();
        LogReloadRefused(_logger, problems.Count, problems.Count > 0 ? problems[0] : "no device");
    }

    /// <summary>Stops the components in reverse order, each within <paramref name="drainTimeout"/>. Idempotent.</summary>
    public async Task StopAsync(TimeSpan? drainTimeout = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _source.StopAsync().ConfigureAwait(false);

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
        await _source.DisposeAsync().ConfigureAwait(false);
        _reloadGate.Dispose();
    }

    /// <summary>Plans hold lists, so record equality is by reference; compare their rendered summaries instead.</summary>
    // The summary never shows Secret contents, so the receiver and the log targets are compared whole (records of
    // strings): a rotated token or CA certificate is a change to apply, not the same plan.
    private static bool SamePlan(DevicePlan a, DevicePlan b) =>
        DevicePlanSummary.Render(new DevicePlanResult(a, [])).SequenceEqual(DevicePlanSummary.Render(new DevicePlanResult(b, [])), StringComparer.Ordinal)
        && a.Workloads.Select(w => w.PodManifestYaml).SequenceEqual(b.Workloads.Select(w => w.PodManifestYaml), StringComparer.Ordinal)
        && a.MetricsReceiver == b.MetricsReceiver
        && a.LogTargets.SequenceEqual(b.LogTargets);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent started for device {Device}: {Workloads} workloads, {Targets} log targets, plans from {Source}")]
    private static partial void LogStarted(ILogger logger, string device, int workloads, int targets, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "New plan applied: now {Workloads} workloads, {Targets} log targets")]
    private static partial void LogReloaded(ILogger logger, int workloads, int targets);

    [LoggerMessage(Level = LogLevel.Error, Message = "New manifests have {Count} errors; keeping the previous plan. First: {First}")]
    private static partial void LogReloadRefused(ILogger logger, int count, string first);

    [LoggerMessage(Level = LogLevel.Error, Message = "Component {Component} failed to apply the new plan: {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, string component, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component {Component} failed to stop cleanly: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string component, string reason);
}
