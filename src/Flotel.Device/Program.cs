using System.CommandLine;
using Flotel.Cli.Commands;

namespace Flotel.Cli;

/// <summary>
/// <c>flotel</c> as built for devices: only <c>agent</c> and <c>check --manifests</c>, with the same options and behaviour as in the full build
/// (src/Flotel.Cli); usage errors exit with <see cref="ExitCodes.Usage"/> as there.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand(
            "Flotel, device build: `flotel agent` runs the device's EdgeWorkloads, forwards their logs over syslog and pushes "
            + "metrics by remote write; `flotel check --manifests` validates its manifests. The gateway, `up`, `check --config`, "
            + "`logs` and `metrics` are in the full build.");
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(CheckCommand.Create(checkConfig: null));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"flotel: {e.Message}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("Run 'flotel --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // The agent runs for months; what only its start-up read is given back once it runs (StartupPages).
        using var release = args is ["agent", ..] ? StartupPages.ScheduleRelease(TimeSpan.FromSeconds(30)) : null;
        var config = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) };
        return await parse.InvokeAsync(config).ConfigureAwait(false);
    }
}
