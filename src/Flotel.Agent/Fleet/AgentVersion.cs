using System.Reflection;

namespace Flotel.Agent.Fleet;

/// <summary>The agent's version as status reports carry it (<c>agentVersion</c>): the assembly's informational version.</summary>
public static class AgentVersion
{
    /// <summary>E.g. <c>0.2.0+abc123</c>.</summary>
    public static string Full { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The version without build metadata (for <c>User-Agent</c>).</summary>
    public static string Short { get; } = Full.Split('+')[0];
}
