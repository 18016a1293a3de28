using Flotel.Wire.Manifests;

namespace Flotel.Cli.Commands;

/// <summary>Runs the manifest check and maps its result to output and an exit code.</summary>
internal static class CheckManifests
{
    public static int Run(DirectoryInfo dir, string? device, TextWriter output, TextWriter error)
    {
        ManifestCheckResult result;
        try
        {
            result = ManifestCheck.Run(dir.FullName, device);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"flotel check: {dir}: {e.Message}");
            return ExitCodes.InvalidInput;
        }

        foreach (var line in result.Lines)
        {
            output.WriteLine(line);
        }

        return result.HasErrors ? ExitCodes.InvalidInput : ExitCodes.Ok;
    }
}
