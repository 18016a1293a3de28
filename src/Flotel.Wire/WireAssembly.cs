namespace Flotel.Wire;

/// <summary>Marker for the Wire assembly (used by tests and reflection-free wiring).</summary>
public static class WireAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Wire";
}
