using System.CommandLine;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel logs</c>: search the gateway's logs from the terminal.</summary>
internal static class LogsCommand
{
    public static Command Create()
    {
        var query = new Argument<string?>("QUERY")
        {
            Description = "Search in query_string syntax, e.g. 'program:random-workload AND message:New' [default: everything]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var limit = new Option<int>("--limit")
        {
            Description = "Most events to print",
            HelpName = "N",
            DefaultValueFactory = _ => 100,
        };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError("--limit must be greater than 0");
            }
        });
        var command = new Command("logs", "Search logs stored by a gateway")
        {
            query, CommonOptions.Url(), CommonOptions.Since("15m"), limit,
        };
        command.SetAction(parse => NotYetAvailable.Report(
            parse.InvocationConfiguration.Error, "logs", "it arrives with the gateway issue"));
        return command;
    }
}
