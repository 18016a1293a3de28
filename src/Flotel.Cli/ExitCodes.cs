namespace Flotel.Cli;

/// <summary>Process exit codes of the <c>flotel</c> command (architecture §3, a contract).</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>Invalid input or configuration; the message names the file, line and field.</summary>
    public const int InvalidInput = 1;

    /// <summary>Usage error: unknown command or option, missing or malformed argument, or a command not available yet.</summary>
    public const int Usage = 2;
}
