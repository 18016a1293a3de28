using System.CommandLine;
using System.Runtime.InteropServices;
using Flotel.Agent.Hosting;

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
            // System.CommandLine has no Uri converter: without this parser any --node-exporter value crashed the command.
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }

                result.AddError($"--node-exporter: '{text}' is not an http(s) URL, e.g. http://localhost:9100/metrics");
                return null;
            },
        };
        var command = new Command("agent", "Run the device's EdgeWorkloads, forward their logs over syslog, push metrics by remote write")
        {
            manifests, device, data, podmanSocket, nodeExporter,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new AgentOptions
            {
                ManifestsDirectory = parse.GetValue(manifests)!.FullName,
                DeviceName = parse.GetValue(device),
                DataDirectory = parse.GetValue(data)?.FullName ?? Path.GetFullPath(Path.Combine(".flotel", "agent")),
                PodmanSocket = parse.GetValue(podmanSocket)?.FullName,
                NodeExporterUrl = parse.GetValue(nodeExporter)!,
            };
            return await RunAsync(options, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Starts the agent, prints one line saying what it runs, reloads on SIGHUP, stops on SIGINT/SIGTERM.</summary>
    internal static async Task<int> RunAsync(AgentOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateLoggerFactory();
        AgentHost host;
        try
        {
            host = await AgentHost.StartAsync(options, loggerFactory, TimeProvider.System, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (AgentStartException e)
        {
            await error.WriteLineAsync($"flotel agent: cannot start: {e.Message}").ConfigureAwait(false);
            foreach (var line in e.Details)
            {
                await error.WriteLineAsync(line).ConfigureAwait(false);
            }

            return ExitCodes.InvalidInput;
        }

        await using (host.ConfigureAwait(false))
        {
            using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                _ = host.ReloadAsync(CancellationToken.None);
            });
            var plan = host.Plan;
            await output.WriteLineAsync(
                $"agent device={plan.DeviceName} workloads={plan.Workloads.Count} logTargets={plan.LogTargets.Count} data={options.DataDirectory}").ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // SIGINT/SIGTERM: fall through to a clean stop.
            }

            await error.WriteLineAsync("flotel agent: stopping: flushing buffers").ConfigureAwait(false);
            await host.StopAsync().ConfigureAwait(false);
            await error.WriteLineAsync("flotel agent: stopped").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }
}
