namespace Flotel.Gateway;

/// <summary>Marker for the Gateway assembly (used by tests and reflection-free wiring).</summary>
public static class GatewayAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Gateway";
}
