using System.CommandLine;
using Flotel.Cli.Commands;

namespace Flotel.Cli;

/// <summary>
/// Builds the <c>flotel</c> command tree (architecture §3) and runs it with the given writers, so that tests drive
/// exactly what users run.
/// </summary>
internal static class FlotelCli
{
    /// <summary>Creates the root command with every sub-command of the contract.</summary>
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand(
            "Flotel ships logs and metrics from Flotta edge devices: an agent on the device, a gateway on the fleet side.");
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(GatewayCommand.Create());
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(CheckCommand.Create(CheckConfig.Run));
        root.Subcommands.Add(LogsCommand.Create());
        root.Subcommands.Add(MetricsCommand.Create());
        root.Subcommands.Add(ApplyCommand.Create());
        root.Subcommands.Add(DeleteCommand.Create());
        root.Subcommands.Add(GetCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(RolloutCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>. Parse errors are usage errors: they are printed one per line with a
    /// hint to <c>--help</c> and exit with <see cref="ExitCodes.Usage"/> (System.CommandLine's default would be 1,
    /// which the contract reserves for invalid input).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = CreateRootCommand();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"flotel: {e.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'flotel --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // Long-running commands drain and flush on SIGINT/SIGTERM; give them time before the process is ended.
        var config = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = TimeSpan.FromSeconds(60) };
        return await parse.InvokeAsync(config).ConfigureAwait(false);
    }
}
