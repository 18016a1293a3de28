using System.CommandLine;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel metrics</c>: evaluate a PromQL expression against the gateway.</summary>
internal static class MetricsCommand
{
    public static Command Create()
    {
        var expr = new Argument<string>("EXPR")
        {
            Description = "PromQL expression, e.g. 'node_memory_Mapped_bytes{edgedeviceid=\"edge-device-1\"}'",
        };
        var command = new Command("metrics", "Query metrics stored by a gateway (Prometheus query API)")
        {
            expr, CommonOptions.Url(), CommonOptions.Since("1h"),
        };
        command.SetAction(parse => NotYetAvailable.Report(
            parse.InvocationConfiguration.Error, "metrics", "it arrives with the gateway issue"));
        return command;
    }
}
