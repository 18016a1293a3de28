namespace Flotel.Agent.Hosting;

/// <summary>The agent cannot start: the manifests do not resolve to a device plan, or the data directory is unusable.</summary>
public sealed class AgentStartException : Exception
{
    public AgentStartException(string message, IReadOnlyList<string>? details = null)
        : base(message)
    {
        Details = details ?? [];
    }

    public AgentStartException()
        : this("the agent cannot start")
    {
    }

    public AgentStartException(string message, Exception inner)
        : base(message, inner)
    {
        Details = [];
    }

    public AgentStartException(string message)
        : this(message, (IReadOnlyList<string>?)null)
    {
    }

    /// <summary>One line per problem (<c>FILE:LINE: field: message</c>).</summary>
    public IReadOnlyList<string> Details { get; } = [];
}
