namespace Flotel.Cli.Commands;

/// <summary>Runs the manifest check and maps its result to output and an exit code.</summary>
internal static class CheckManifests
{
    public static int Run(DirectoryInfo dir, string? device, TextWriter output, TextWriter error)
    {
        _ = device;
        _ = output;
        error.WriteLine($"flotel check: manifests in {dir.FullName} cannot be checked yet.");
        return ExitCodes.Usage;
    }
}
