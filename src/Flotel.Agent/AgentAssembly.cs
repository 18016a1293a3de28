namespace Flotel.Agent;

/// <summary>Marker for the Agent assembly (used by tests and reflection-free wiring).</summary>
public static class AgentAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Agent";
}
