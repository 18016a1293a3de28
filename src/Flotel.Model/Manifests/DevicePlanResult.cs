namespace Flotel.Model.Manifests;

/// <summary>The outcome of resolving manifests for one device: the plan (null when no device could be chosen) and every diagnostic.</summary>
public sealed class DevicePlanResult
{
    public DevicePlanResult(DevicePlan? plan, IReadOnlyList<ManifestDiagnostic> diagnostics)
    {
        Plan = plan;
        Diagnostics = diagnostics;
    }

    public DevicePlan? Plan { get; }

    /// <summary>Loading and resolution diagnostics, in file/line order.</summary>
    public IReadOnlyList<ManifestDiagnostic> Diagnostics { get; }

    public bool HasErrors => Plan is null || Diagnostics.Any(d => d.IsError);
}
