using System.CommandLine;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel agent</c>: the device side — run workloads, capture and forward logs, scrape and push metrics.</summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var manifests = CommonOptions.Manifests("Flotta manifests (EdgeDevice, EdgeWorkload, ConfigMap, Secret)", required: true);
        var device = new Option<string>("--device")
        {
            Description = "Name of the EdgeDevice to act as [default: the only EdgeDevice in --manifests]",
            HelpName = "NAME",
        };
        var data = CommonOptions.Data("Directory for log buffers, cursors and the metrics WAL [default: ./.flotel/agent]");
        var podmanSocket = new Option<FileInfo>("--podman-socket")
        {
            Description = "Podman API socket [default: $XDG_RUNTIME_DIR/podman/podman.sock or /run/podman/podman.sock]",
            HelpName = "PATH",
        };
        var nodeExporter = new Option<Uri>("--node-exporter")
        {
            Description = "node_exporter metrics URL",
            HelpName = "URL",
            DefaultValueFactory = _ => new Uri("http://localhost:9100/metrics"),
        };
        var command = new Command("agent", "Run the device's EdgeWorkloads, forward their logs over syslog, push metrics by remote write")
        {
            manifests, device, data, podmanSocket, nodeExporter,
        };
        command.SetAction(parse => NotYetAvailable.Report(
            parse.InvocationConfiguration.Error, "agent", "it arrives with the agent issues"));
        return command;
    }
}
