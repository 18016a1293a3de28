namespace Flotel.Cli.Commands;

/// <summary>
/// What a contract command prints until the issue that builds it lands: the options already parse and validate as
/// the contract says, and the command exits with the usage code so scripts never mistake it for success.
/// </summary>
internal static class NotYetAvailable
{
    public static int Report(TextWriter error, string command, string what)
    {
        error.WriteLine($"flotel {command}: not yet available in this build ({what}).");
        error.WriteLine("Available now: 'flotel check --manifests DIR' validates manifests and prints what the device will do.");
        return ExitCodes.Usage;
    }
}
