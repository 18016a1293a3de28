using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Agent.Hosting;

/// <summary>Manifests to a plan, the same way for a folder and a gateway bundle (docs/fleet.md §3: a fleet device runs what <c>flotel check --manifests</c> prints).</summary>
public static class PlanResolution
{
    /// <summary>
    /// Resolves <paramref name="set"/> for <paramref name="deviceName"/> and applies <paramref name="transform"/>; null
    /// with one line per error (<c>FILE:LINE: field: message</c>) when the manifests do not resolve.
    /// </summary>
    public static DevicePlan? Resolve(ManifestSet set, string? deviceName, string origin, Func<DevicePlan, DevicePlan>? transform, out List<string> problems)
    {
        problems = [];
        var result = DevicePlanResolver.Resolve(set, deviceName, origin);
        foreach (var diagnostic in result.Diagnostics)
        {
            if (diagnostic.IsError)
            {
                problems.Add(diagnostic.ToString());
            }
        }

        if (result.HasErrors || result.Plan is null)
        {
            if (problems.Count == 0)
            {
                problems.Add(deviceName is null ? "no EdgeDevice to run" : $"no EdgeDevice named {deviceName}");
            }

            return null;
        }

        return transform is null ? result.Plan : transform(result.Plan);
    }
}
