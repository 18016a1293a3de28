namespace Flotel.Model;

/// <summary>Marker for the Model assembly (used by tests and reflection-free wiring).</summary>
public static class ModelAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Model";
}
