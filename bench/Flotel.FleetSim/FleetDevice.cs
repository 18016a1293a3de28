using Flotel.Agent.Fleet;
using Flotel.Agent.Hosting;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.FleetSim;

/// <summary>
/// The control plane of one simulated device, run by the agent's own code (<c>src/Flotel.Agent/Fleet/</c>, docs/fleet.md
/// §4–§5): <see cref="FleetEnrolment.EnrolAsync"/> fetches the CA, checks the token's pin, makes the ECDSA P-256 key and
/// the CSR and keeps the certificate in the device's fleet files; <see cref="GatewayPlanSource"/> then long-polls the
/// bundle with the device certificate and the last digest as ETag, and posts status reports after each apply and every
/// 60 s (the agent's defaults, <see cref="FleetSourceOptions"/>). The device has no workloads: applying a plan that
/// resolved succeeds at once, so the reports say "applied" with no workloads and no targets.
/// </summary>
internal sealed class FleetDevice : IPlanTarget, IAsyncDisposable
{
    private readonly DeviceIdentity _identity;
    private readonly GatewayPlanSource _source;
    private long _refused;

    private FleetDevice(FleetFiles files, DeviceIdentity identity, Uri fleet, AgentLogCounter log)
    {
        _identity = identity;
        _source = new GatewayPlanSource(fleet, identity, files, new FleetSourceOptions(), transform: null, TimeProvider.System, log);
    }

    /// <summary>The device's certificate, CA pin and TLS options (for its data connections too, as the agent's).</summary>
    public DeviceIdentity Identity => _identity;

    /// <summary>Status reports the gateway accepted.</summary>
    public long StatusReports => _source.StatusReports;

    /// <summary>True once a bundle resolved and was applied.</summary>
    public bool Applied => _source.Running is not null;

    /// <summary>Bundles that did not resolve (none expected: the simulator's EdgeDevices are valid).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    IReadOnlyList<IAgentComponent> IPlanTarget.Components => [];

    MetricsRegistry IPlanTarget.Metrics { get; } = new();

    /// <summary>
    /// Enrols with <paramref name="token"/> into the fleet files under <paramref name="directory"/>; the agent's
    /// exceptions (<see cref="FleetException"/>) pass through.
    /// </summary>
    public static async Task<FleetDevice> EnrolAsync(
        Uri fleet, EnrolmentToken token, string directory, AgentLogCounter log, CancellationToken cancellationToken)
    {
        var files = new FleetFiles(directory);
        var identity = await FleetEnrolment.EnrolAsync(fleet, token, files, cancellationToken).ConfigureAwait(false);
        return new FleetDevice(files, identity, fleet, log);
    }

    /// <summary>Waits for the first bundle (as the agent does before it starts) and hands the device to the plan source.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _source.InitialPlanAsync(cancellationToken).ConfigureAwait(false);
        _source.Start(this);
    }

    Task<PlanApplyResult> IPlanTarget.ApplyAsync(DevicePlan plan, CancellationToken cancellationToken) =>
        Task.FromResult(new PlanApplyResult(true, []));

    void IPlanTarget.PlanRefused(IReadOnlyList<string> problems) => Interlocked.Increment(ref _refused);

    public async ValueTask DisposeAsync()
    {
        await _source.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
    }
}

/// <summary>
/// The simulated agents' log: warnings and errors are counted (and the first one kept), the rest dropped, so a run
/// says whether any agent had trouble without printing one line per device.
/// </summary>
internal sealed class AgentLogCounter : ILogger
{
    private long _problems;
    private string? _first;

    public long Problems => Interlocked.Read(ref _problems);

    public string? First => Volatile.Read(ref _first);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        Interlocked.Increment(ref _problems);
        Interlocked.CompareExchange(ref _first, "agent " + logLevel.ToString() + ": " + formatter(state, exception), null);
    }
}
