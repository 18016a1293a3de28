namespace Flotel.Store;

/// <summary>Marker for the Store assembly (used by tests and reflection-free wiring).</summary>
public static class StoreAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Store";
}
