using System.CommandLine;
using System.Runtime.InteropServices;
using Flotel.Agent.Fleet;
using Flotel.Agent.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotel.Cli.Commands;

/// <summary>
/// <c>flotel agent</c>: the device side — run workloads, capture and forward logs, scrape and push metrics. The plan
/// comes from <c>--manifests DIR</c> or from a fleet gateway (<c>--gateway URL</c>, enrolling with <c>--token</c> at the
/// first start; docs/fleet.md §4–§6).
/// </summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var manifests = CommonOptions.Manifests("Flotta manifests (EdgeDevice, EdgeWorkload, ConfigMap, Secret); or use --gateway", required: false);
        var gateway = new Option<string>("--gateway")
        {
            Description = "Take the plan from a fleet gateway's fleet listener (https://HOST:PORT) instead of --manifests",
            HelpName = "URL",
        };
        var token = new Option<string>("--token")
        {
            Description = "Enrolment token (`flotel token create`), needed at the first start with --gateway; ignored once enrolled",
            HelpName = "TOKEN",
        };
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
            manifests, gateway, token, device, data, podmanSocket, nodeExporter,
        };
        command.Validators.Add(result =>
        {
            var hasManifests = result.GetResult(manifests) is not null;
            var hasGateway = result.GetResult(gateway) is not null;
            if (hasManifests == hasGateway)
            {
                result.AddError("agent needs exactly one of --manifests DIR or --gateway URL");
                return;
            }

            if (!hasGateway)
            {
                if (result.GetResult(token) is not null)
                {
                    result.AddError("--token is used only with --gateway");
                }

                return;
            }

            if (result.GetResult(device) is not null)
            {
                result.AddError("--device is not used with --gateway: the device is the one the enrolment token names");
            }

            if (!TryGatewayUrl(result.GetValue(gateway), out _))
            {
                result.AddError($"--gateway: '{result.GetValue(gateway)}' is not an https URL with a host, e.g. https://gateway.example:9443");
            }

            if (result.GetResult(token) is not null && !EnrolmentToken.TryParse(result.GetValue(token), out _, out var why))
            {
                result.AddError("--token: " + why);
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var gatewayText = parse.GetValue(gateway);
            var options = new AgentOptions
            {
                ManifestsDirectory = parse.GetValue(manifests)?.FullName ?? string.Empty,
                DeviceName = parse.GetValue(device),
                DataDirectory = parse.GetValue(data)?.FullName ?? Path.GetFullPath(Path.Combine(".flotel", "agent")),
                PodmanSocket = parse.GetValue(podmanSocket)?.FullName,
                NodeExporterUrl = parse.GetValue(nodeExporter)!,
            };
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (gatewayText is not null && TryGatewayUrl(gatewayText, out var gatewayUrl))
            {
                return await RunFleetAsync(options, gatewayUrl, parse.GetValue(token), output, error, cancellationToken).ConfigureAwait(false);
            }

            return await RunAsync(options, output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>An absolute https URL with a host and nothing after the authority but <c>/</c>.</summary>
    internal static bool TryGatewayUrl(string? text, out Uri url)
    {
        url = null!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps || string.IsNullOrEmpty(parsed.Host)
            || parsed.AbsolutePath != "/" || !string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.UserInfo))
        {
            return false;
        }

        url = parsed;
        return true;
    }

    /// <summary>
    /// <c>--gateway</c>: enrols with <paramref name="token"/> when <c>DATA/fleet</c> holds no identity yet (docs/fleet.md §4),
    /// then runs the agent on the gateway's bundles. Enrolment problems exit 1 with the gateway's message.
    /// </summary>
    internal static async Task<int> RunFleetAsync(AgentOptions options, Uri gateway, string? token, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var files = new FleetFiles(options.DataDirectory);
        DeviceIdentity identity;
        try
        {
            if (files.IsEnrolled)
            {
                identity = DeviceIdentity.Load(files);
                if (token is not null)
                {
                    await error.WriteLineAsync($"flotel agent: already enrolled as {identity.DeviceName} ({files.Directory}); --token ignored").ConfigureAwait(false);
                }
            }
            else if (token is null)
            {
                await error.WriteLineAsync($"flotel agent: {files.Directory} holds no enrolment: the first start with --gateway needs --token TOKEN (from `flotel token create --device NAME`)").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            else
            {
                if (!EnrolmentToken.TryParse(token, out var parsed, out var why))
                {
                    await error.WriteLineAsync("flotel agent: --token: " + why).ConfigureAwait(false);
                    return ExitCodes.Usage;
                }

                identity = await FleetEnrolment.EnrolAsync(gateway, parsed!, files, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"enrolled device={identity.DeviceName} gateway={gateway} data={options.DataDirectory}").ConfigureAwait(false);
            }
        }
        catch (FleetException e)
        {
            await error.WriteLineAsync("flotel agent: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }

        using (identity)
        {
            var fleetOptions = new AgentOptions
            {
                ManifestsDirectory = string.Empty,
                DeviceName = identity.DeviceName,
                DataDirectory = options.DataDirectory,
                PodmanSocket = options.PodmanSocket,
                NodeExporterUrl = options.NodeExporterUrl,
                WatchManifests = false,
                PlanTransform = options.PlanTransform,
                Fleet = identity,
            };
            return await RunAsync(
                fleetOptions,
                (loggers, ct) => AgentHost.StartAsync(
                    fleetOptions,
                    new GatewayPlanSource(gateway, identity, files, new FleetSourceOptions(), fleetOptions.PlanTransform, TimeProvider.System, loggers.CreateLogger<GatewayPlanSource>()),
                    loggers,
                    TimeProvider.System,
                    cancellationToken: ct),
                output,
                error,
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the agent on <c>--manifests</c>, prints one line saying what it runs, reloads on SIGHUP, stops on SIGINT/SIGTERM.</summary>
    internal static Task<int> RunAsync(AgentOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        RunAsync(options, (loggers, ct) => AgentHost.StartAsync(options, loggers, TimeProvider.System, cancellationToken: ct), output, error, cancellationToken);

    private static async Task<int> RunAsync(
        AgentOptions options, Func<ILoggerFactory, CancellationToken, Task<AgentHost>> start, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateLoggerFactory();
        AgentHost host;
        try
        {
            host = await start(loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting for the gateway's first bundle: nothing was started.
            await error.WriteLineAsync("flotel agent: stopped").ConfigureAwait(false);
            return ExitCodes.Ok;
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
                $"agent device={plan.DeviceName} workloads={plan.Workloads.Count} logTargets={plan.LogTargets.Count} data={options.DataDirectory}"
                + (options.Fleet is null ? string.Empty : " " + host.Source.Description.Replace(' ', '='))).ConfigureAwait(false);
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
