using System.CommandLine;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel gateway</c>: the fleet-side receiver, queue, store, outputs and query APIs.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config")
        {
            Description = "Gateway configuration file (YAML, ${ENV} interpolation; see docs/configuration.md)",
            HelpName = "FILE",
        };
        var data = CommonOptions.Data("Directory for the durable queue and the embedded store [default: ./.flotel/gateway]");
        var http = CommonOptions.Address("--http", "0.0.0.0:9201", "HTTP listener: remote write, _bulk, _search, Prometheus API");
        var syslog = CommonOptions.Address("--syslog", "0.0.0.0:5140", "Syslog listener, TCP and UDP");
        var command = new Command("gateway", "Receive syslog and remote write, queue durably, store, forward to the configured outputs, and answer _search, PromQL and the web UI")
        {
            config, data, http, syslog,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var file = parse.GetValue(config);
            if (file is not null && !file.Exists)
            {
                await error.WriteLineAsync($"flotel gateway: {file}: file does not exist").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var (options, diagnostics) = GatewayConfigLoader.Load(file?.FullName);
            foreach (var d in diagnostics)
            {
                await error.WriteLineAsync(d.ToString()).ConfigureAwait(false);
            }

            if (diagnostics.Any(d => d.IsError))
            {
                return ExitCodes.InvalidInput;
            }

            // The command line wins over the file, but only where an option was given explicitly.
            if (parse.GetResult(http) is { Implicit: false })
            {
                options.HttpAddress = parse.GetRequiredValue(http);
            }

            if (parse.GetResult(syslog) is { Implicit: false })
            {
                options.SyslogAddress = parse.GetRequiredValue(syslog);
            }

            if (parse.GetValue(data) is { } dir)
            {
                options.DataDirectory = dir.FullName;
            }

            return await RunAsync(options, output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Starts the gateway, prints the listening line, runs until SIGINT/SIGTERM, then drains and stops.</summary>
    internal static async Task<int> RunAsync(GatewayOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateLoggerFactory();
        GatewayHost host;
        try
        {
            host = await GatewayHost.StartAsync(options, loggerFactory, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await error.WriteLineAsync($"flotel gateway: cannot start: {e.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }

        await using (host.ConfigureAwait(false))
        {
            var syslog = host.SyslogEndPoint.Port == 0 ? "off" : host.SyslogEndPoint.ToString();
            var syslogTls = host.SyslogTlsEndPoint is { } tls ? $" syslog-tls={tls}" : string.Empty;
            var fleet = host.FleetEndPoint is { } f ? $" fleet={f}" : string.Empty;
            await output.WriteLineAsync($"listening syslog={syslog} http={host.HttpEndPoint}{syslogTls}{fleet}").ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // SIGINT/SIGTERM: fall through to a clean stop.
            }

            await error.WriteLineAsync("flotel gateway: stopping: draining the queue into the store").ConfigureAwait(false);
            await host.StopAsync().ConfigureAwait(false);
            await error.WriteLineAsync("flotel gateway: stopped").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }
}
