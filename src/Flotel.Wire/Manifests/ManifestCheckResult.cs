using Flotel.Model.Manifests;

namespace Flotel.Wire.Manifests;

/// <summary>What <see cref="ManifestCheck.Run"/> found: the lines to print, whether any is an error, and the resolved result.</summary>
public sealed record ManifestCheckResult(IReadOnlyList<string> Lines, bool HasErrors, DevicePlanResult Result);
