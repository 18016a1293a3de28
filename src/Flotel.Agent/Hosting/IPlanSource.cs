using Flotel.Model.Manifests;

namespace Flotel.Agent.Hosting;

/// <summary>
/// Where the agent's plans come from (architecture §9.3): a manifests folder (<see cref="FolderPlanSource"/>) or the
/// gateway's fleet listener (<see cref="Fleet.GatewayPlanSource"/>). The host asks for the first plan, starts its
/// components with it, then hands itself to <see cref="Start"/>; the source calls <see cref="IPlanTarget.ApplyAsync"/>
/// with every later plan and <see cref="IPlanTarget.PlanRefused"/> for manifests that do not resolve.
/// </summary>
public interface IPlanSource : IAsyncDisposable
{
    /// <summary>What the plans come from, for the start line and logs (<c>manifests DIR</c>, <c>gateway URL</c>).</summary>
    string Description { get; }

    /// <summary>The plan to start with.</summary>
    /// <exception cref="AgentStartException">There is none (the folder's manifests have errors).</exception>
    Task<DevicePlan> InitialPlanAsync(CancellationToken cancellationToken);

    /// <summary>The components run the initial plan: watch for new plans from now on.</summary>
    void Start(IPlanTarget target);

    /// <summary>Looks for a new plan now (SIGHUP); true when one was applied.</summary>
    Task<bool> ReloadAsync(CancellationToken cancellationToken);

    /// <summary>Stops watching. Idempotent.</summary>
    Task StopAsync();
}

/// <summary>What a plan source hands new plans to: the agent host.</summary>
public interface IPlanTarget
{
    /// <summary>The running components (status reports read their state).</summary>
    IReadOnlyList<IAgentComponent> Components { get; }

    /// <summary>The agent's own metrics.</summary>
    Flotel.Pipeline.Diagnostics.MetricsRegistry Metrics { get; }

    /// <summary>Applies <paramref name="plan"/> to every component; the errors of the components that failed, none when applied.</summary>
    Task<PlanApplyResult> ApplyAsync(DevicePlan plan, CancellationToken cancellationToken);

    /// <summary>New manifests did not resolve: the agent keeps its plan (counted and logged).</summary>
    void PlanRefused(IReadOnlyList<string> problems);
}

/// <summary>The outcome of applying a plan: whether it differed from the running one, and the components' errors.</summary>
public sealed record PlanApplyResult(bool Changed, IReadOnlyList<string> Errors)
{
    public static readonly PlanApplyResult Unchanged = new(false, []);

    public bool Succeeded => Errors.Count == 0;
}
