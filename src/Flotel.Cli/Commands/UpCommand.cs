using System.CommandLine;
using Flotel.Cli.Up;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel up</c>: the blog's whole scenario on one machine (gateway + agent, loopback only).</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data("Directory for the gateway's and the agent's state [default: ./.flotel]");
        var manifests = CommonOptions.Manifests("Flotta manifests of the device to run [default: examples/blog]", required: false);
        var http = CommonOptions.Address("--http", "127.0.0.1:9201", "HTTP listener: remote write, _search, Prometheus API, web UI");
        var syslog = CommonOptions.Address("--syslog", "127.0.0.1:5140", "Syslog listener, TCP and UDP");
        var noInstall = new Option<bool>("--no-install")
        {
            Description = "Do not install missing podman, runc, catatonit, busybox-static, node_exporter or OpenSSL (apt-get or dnf, as root or with passwordless sudo); name the command instead",
        };
        var localManifests = new Option<bool>("--local-manifests")
        {
            Description = "The agent reads --manifests itself and re-reads it on change, instead of the gateway's fleet holding them "
                + "(no enrolment, no fleet listener, no admin API)",
        };
        var command = new Command("up", "Run a gateway on the embedded store and an agent for the device in --manifests, bound to 127.0.0.1; "
            + "the manifests are applied to the gateway's fleet and the agent enrols as that device")
        {
            data, manifests, http, syslog, noInstall, localManifests,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new UpOptions(
                parse.GetValue(data)?.FullName ?? Path.GetFullPath(".flotel"),
                parse.GetValue(manifests)?.FullName,
                parse.GetValue(http)!,
                parse.GetValue(syslog)!,
                parse.GetValue(noInstall),
                parse.GetValue(localManifests));
            var interactive = !Console.IsOutputRedirected && ReferenceEquals(parse.InvocationConfiguration.Output, Console.Out);
            return await UpRunner.RunAsync(options, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, interactive, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
