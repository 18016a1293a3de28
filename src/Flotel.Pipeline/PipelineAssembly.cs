namespace Flotel.Pipeline;

/// <summary>Marker for the Pipeline assembly (used by tests and reflection-free wiring).</summary>
public static class PipelineAssembly
{
    /// <summary>The assembly name, for diagnostics.</summary>
    public const string Name = "Flotel.Pipeline";
}
