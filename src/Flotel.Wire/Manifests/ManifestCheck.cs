using Flotel.Model.Manifests;

namespace Flotel.Wire.Manifests;

/// <summary>
/// The whole of <c>flotel check --manifests DIR [--device NAME]</c> except printing and the exit code:
/// load, resolve, summarise. Never starts anything (architecture §3). Exit 1 when <see cref="ManifestCheckResult.HasErrors"/>.
/// </summary>
public static class ManifestCheck
{
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="IOException">A directory or file cannot be read.</exception>
    public static ManifestCheckResult Run(string directory, string? deviceName = null)
    {
        var set = ManifestLoader.LoadDirectory(directory);
        var result = DevicePlanResolver.Resolve(set, deviceName, directory);
        return new ManifestCheckResult(DevicePlanSummary.Render(result), result.HasErrors, result);
    }
}
