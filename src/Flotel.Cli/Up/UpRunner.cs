using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Flotel.Agent.Fleet;
using Flotel.Agent.Hosting;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Flotel.Cli.Up;

/// <summary>What <c>flotel up</c> was asked for.</summary>
/// <param name="LocalManifests">The agent reads <c>--manifests</c> itself (re-read on change) instead of enrolling with the gateway's fleet.</param>
internal sealed record UpOptions(
    string DataDirectory, string? ManifestsDirectory, string HttpAddress, string SyslogAddress, bool NoInstall = false, bool LocalManifests = false);

/// <summary>
/// <c>flotel up</c>: the blog's whole scenario on one machine — a gateway on the embedded store, node_exporter (or the
/// built-in host metrics), podman's API service with a local image, and an agent for the device, all on 127.0.0.1.
/// The agent is a fleet device of that gateway (docs/fleet.md §9, <see cref="UpFleet"/>): the gateway holds the
/// manifests and the agent enrols and pulls its bundle; <c>--local-manifests</c> has the agent read the folder instead.
/// Missing programs are installed with the system's package manager when running as root or with passwordless sudo
/// (<see cref="SystemPackages"/>; <c>--no-install</c> refuses); what is still missing is named with the command that
/// installs it, and everything else runs.
/// </summary>
internal static class UpRunner
{
    /// <summary>The manifests used when <c>--manifests</c> is not given and ./examples/blog does not exist.</summary>
    private const string DefaultManifests = "examples/blog";

    /// <summary>How long up's agent waits for its first bundle from up's gateway.</summary>
    private static readonly TimeSpan FirstBundleTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(UpOptions options, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        var data = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(data);
        using var logging = new UpLogging(interactive ? Path.Combine(data, "flotel-up.log") : null);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logging).SetMinimumLevel(LogLevel.Information));
        var notes = new List<string>();

        var manifests = ResolveManifests(options.ManifestsDirectory, data, notes);
        if (manifests is null)
        {
            await error.WriteLineAsync($"flotel up: --manifests {options.ManifestsDirectory}: no such directory").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }

        await InstallMissingAsync(options.NoInstall, error, notes, cancellationToken).ConfigureAwait(false);

        GatewayHost gateway;
        try
        {
            gateway = await GatewayHost.StartAsync(new GatewayOptions
            {
                HttpAddress = options.HttpAddress,
                SyslogAddress = options.SyslogAddress,
                DataDirectory = Path.Combine(data, "gateway"),
                Fleet = options.LocalManifests ? null : new FleetOptions { Enabled = true, Address = "127.0.0.1:0" },
            }, loggerFactory, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await error.WriteLineAsync($"flotel up: cannot start the gateway: {GatewayStartFailure.Describe(e)}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }

        await using var gatewayScope = gateway.ConfigureAwait(false);
        var http = gateway.HttpEndPoint;
        var syslog = gateway.SyslogEndPoint;

        var (nodeExporterUrl, nodeExporter, builtIn) = await StartHostMetricsAsync(notes, cancellationToken).ConfigureAwait(false);
        var podman = await StartPodmanAsync(data, notes, cancellationToken).ConfigureAwait(false);

        UpFleet.Enrolment? enrolment = null;
        if (!options.LocalManifests)
        {
            var (gatewayData, agentData) = (Path.Combine(data, "gateway"), Path.Combine(data, "agent"));
            enrolment = await UpFleet.PrepareAsync(manifests, http, gateway.FleetEndPoint!, gatewayData, agentData, error, cancellationToken)
                .ConfigureAwait(false);
            if (enrolment is null)
            {
                await StopHelpersAsync(podman, [], nodeExporter, builtIn).ConfigureAwait(false);
                await gateway.StopAsync().ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }
        }

        using var identity = enrolment?.Identity;
        AgentHost agent;
        try
        {
            var agentOptions = new AgentOptions
            {
                ManifestsDirectory = enrolment is null ? manifests : string.Empty,
                DeviceName = enrolment?.Identity.DeviceName,
                DataDirectory = Path.Combine(data, "agent"),
                PodmanSocket = podman?.Socket ?? Path.Combine(data, "podman", "not-running.sock"),
                NodeExporterUrl = nodeExporterUrl,
                PlanTransform = plan => PointAtGateway(plan, http, syslog),
                WatchManifests = enrolment is null,
                Fleet = enrolment?.Identity,
            };
            agent = enrolment is null
                ? await AgentHost.StartAsync(agentOptions, loggerFactory, TimeProvider.System, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await StartFleetAgentAsync(agentOptions, enrolment, loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentStartException e)
        {
            await error.WriteLineAsync($"flotel up: cannot start the agent: {e.Message}").ConfigureAwait(false);
            foreach (var line in e.Details)
            {
                await error.WriteLineAsync(line).ConfigureAwait(false);
            }

            await StopHelpersAsync(podman, [], nodeExporter, builtIn).ConfigureAwait(false);
            await gateway.StopAsync().ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C while the agent waited for its first bundle: nothing of the agent runs yet.
            await StopHelpersAsync(podman, [], nodeExporter, builtIn).ConfigureAwait(false);
            await gateway.StopAsync().ConfigureAwait(false);
            await error.WriteLineAsync("flotel up: stopped").ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        var device = agent.Plan.DeviceName;
        var baseUrl = $"http://{http}";
        await output.WriteLineAsync($"Flotel is up: device {device}, {agent.Plan.Workloads.Count} workload(s), data in {data}").ConfigureAwait(false);
        await output.WriteLineAsync($"  web UI:   {baseUrl}/ui/").ConfigureAwait(false);
        await output.WriteLineAsync($"  logs:     curl '{baseUrl}/logstash-*/_search?pretty=true' -H 'Content-Type: application/json' -d '{{\"query\":{{\"match_all\":{{}}}}}}'").ConfigureAwait(false);
        await output.WriteLineAsync($"  metrics:  curl '{baseUrl}/api/v1/query?query=node_memory_Mapped_bytes'").ConfigureAwait(false);
        if (enrolment is not null)
        {
            var how = enrolment.NewlyEnrolled ? "enrolled" : "already enrolled, no new token:";
            var fleetUrl = enrolment.Gateway.ToString().TrimEnd('/');
            await output.WriteLineAsync($"  fleet:    {how} device {device} at {fleetUrl}; flotel get devices --gateway {baseUrl}").ConfigureAwait(false);
            await output.WriteLineAsync($"  change:   edit {manifests}, then flotel apply -f {manifests} --gateway {baseUrl}").ConfigureAwait(false);
        }

        foreach (var note in notes)
        {
            await output.WriteLineAsync($"  note:     {note}").ConfigureAwait(false);
        }

        if (interactive)
        {
            await output.WriteLineAsync($"  log file: {Path.Combine(data, "flotel-up.log")}   (Ctrl-C stops everything)").ConfigureAwait(false);
        }

        await output.WriteLineAsync($"listening syslog={syslog} http={http}").ConfigureAwait(false);
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);

        var status = new UpStatus(gateway.Metrics, agent.Metrics, logging);
        try
        {
            if (interactive)
            {
                await status.RunLiveAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await status.RunPlainAsync(output, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C / SIGTERM: stop everything below.
        }

        await error.WriteLineAsync("flotel up: stopping the agent, the workloads, the helpers and the gateway").ConfigureAwait(false);
        var pods = agent.Plan.Workloads.Select(w => w.Name).ToList();
        await agent.StopAsync().ConfigureAwait(false);
        await agent.DisposeAsync().ConfigureAwait(false);
        await StopHelpersAsync(podman, pods, nodeExporter, builtIn).ConfigureAwait(false);
        await gateway.StopAsync().ConfigureAwait(false);
        await error.WriteLineAsync("flotel up: stopped").ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The agent on the gateway's bundles, as <c>flotel agent --gateway</c> runs it. The first bundle is waited for at
    /// most <see cref="FirstBundleTimeout"/>: up applied the manifests just before, so a longer wait is a fault to name.
    /// </summary>
    private static async Task<AgentHost> StartFleetAgentAsync(
        AgentOptions options, UpFleet.Enrolment enrolment, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        using var firstBundle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        firstBundle.CancelAfter(FirstBundleTimeout);
        var source = new GatewayPlanSource(
            enrolment.Gateway, enrolment.Identity, enrolment.Files, new FleetSourceOptions(), options.PlanTransform, TimeProvider.System,
            loggerFactory.CreateLogger<GatewayPlanSource>());
        try
        {
            return await AgentHost.StartAsync(options, source, loggerFactory, TimeProvider.System, cancellationToken: firstBundle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var seconds = FirstBundleTimeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
            var device = enrolment.Identity.DeviceName;
            throw new AgentStartException($"no usable bundle for device {device} from {enrolment.Gateway} within {seconds} s (see the log above)");
        }
    }

    /// <summary><c>up</c> sends everything to its own gateway, whatever the manifests' addresses say.</summary>
    internal static DevicePlan PointAtGateway(DevicePlan plan, IPEndPoint http, IPEndPoint syslog)
    {
        LogTargetPlan Local(LogTargetPlan t) => t with
        {
            Host = syslog.Address.ToString(),
            Port = syslog.Port,
            Address = syslog.ToString(),
            Protocol = t.Protocol == SyslogProtocol.Udp ? SyslogProtocol.Udp : SyslogProtocol.Tcp,
        };
        return plan with
        {
            LogTargets = plan.LogTargets.Select(Local).ToList(),
            Workloads = plan.Workloads.Select(w => w.LogTarget is null ? w : w with { LogTarget = Local(w.LogTarget) }).ToList(),
            MetricsReceiver = plan.MetricsReceiver with { Url = $"http://{http}/api/v1/write", CaCertificatePem = null, CaSecretName = null },
        };
    }

    private static string? ResolveManifests(string? requested, string data, List<string> notes)
    {
        if (requested is not null)
        {
            return Directory.Exists(requested) ? Path.GetFullPath(requested) : null;
        }

        if (Directory.Exists(DefaultManifests))
        {
            return Path.GetFullPath(DefaultManifests);
        }

        // Not in a clone: use the copy of examples/blog built into flotel.
        var target = Directory.CreateDirectory(Path.Combine(data, "manifests")).FullName;
        var assembly = typeof(UpRunner).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("blog/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var file = File.Create(Path.Combine(target, name["blog/".Length..]));
            stream.CopyTo(file);
        }

        notes.Add($"./{DefaultManifests} not found: using the blog's manifests built into flotel, copied to {target}");
        return target;
    }

    /// <summary>
    /// Installs the missing <see cref="SystemPackages.Requirements"/> when allowed, one progress line per step on
    /// <paramref name="error"/>; a refusal is said there at once too, since without OpenSSL the gateway cannot start and
    /// the end's notes would never be printed.
    /// </summary>
    private static async Task InstallMissingAsync(bool noInstall, TextWriter error, List<string> notes, CancellationToken cancellationToken)
    {
        var missing = SystemPackages.Missing(SystemPackages.Requirements, SystemPackages.Exists);
        if (missing.Count == 0)
        {
            return;
        }

        var manager = SystemPackages.Detect(SystemPackages.Exists);
        var isRoot = Environment.IsPrivilegedProcess;
        var sudo = !isRoot && !noInstall && manager != PackageManager.None && SystemPackages.Exists("sudo")
            && (await ChildProcess.RunAsync("sudo", ["-n", "true"], null, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false)).ExitCode == 0;
        var plan = SystemPackages.Decide(missing, manager, isRoot, sudo, noInstall);
        var names = string.Join(' ', missing.Select(r => r.Name));
        var refusal = plan.Decision switch
        {
            InstallDecision.Refused => $"missing {names}; not installed (--no-install); to install: {plan.CommandLine}",
            InstallDecision.NotPermitted => $"missing {names}; not installed (not root, and sudo asks for a password); to install: {plan.CommandLine}",
            InstallDecision.NoPackageManager => $"missing {names}; neither apt-get nor dnf found: {plan.CommandLine}",
            _ => null,
        };
        if (refusal is not null)
        {
            await error.WriteLineAsync("flotel up: " + refusal).ConfigureAwait(false);
            notes.Add(refusal);
            return;
        }

        var before = await InstalledPackagesAsync(manager, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < plan.Commands.Count; i++)
        {
            var command = plan.Commands[i];
            await error.WriteLineAsync($"flotel up: installing {string.Join(' ', plan.Packages)} ({i + 1}/{plan.Commands.Count}: {string.Join(' ', command)})").ConfigureAwait(false);
            var (exit, output) = await ChildProcess.RunAsync(
                command[0], command.Skip(1), new Dictionary<string, string>(StringComparer.Ordinal) { ["DEBIAN_FRONTEND"] = "noninteractive" },
                TimeSpan.FromMinutes(15), cancellationToken).ConfigureAwait(false);
            if (exit != 0)
            {
                var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty;
                await error.WriteLineAsync($"flotel up: {string.Join(' ', command)} failed (exit {exit}): {last}").ConfigureAwait(false);
                notes.Add($"installing {string.Join(' ', plan.Packages)} failed ({last}); to install: {plan.CommandLine}");
                return;
            }
        }

        var still = SystemPackages.Missing(missing, SystemPackages.Exists);
        var after = await InstalledPackagesAsync(manager, cancellationToken).ConfigureAwait(false);
        var tool = manager == PackageManager.Apt ? "apt-get" : "dnf";
        string summary;
        if (before is not null && after is not null)
        {
            var (requested, dependencies) = SystemPackages.Added(plan.Packages, before, after);
            summary = $"installed with {tool}: {string.Join(' ', requested)}"
                + (dependencies.Count > 0 ? $"; with their dependencies: {string.Join(' ', dependencies)}" : string.Empty);
        }
        else
        {
            // The package database could not be listed: name what is now found.
            summary = $"installed with {tool}: {string.Join(' ', missing.Except(still).Select(r => r.PackageFor(manager)).Distinct(StringComparer.Ordinal))}";
        }

        await error.WriteLineAsync("flotel up: " + summary).ConfigureAwait(false);
        notes.Add(summary + (still.Count > 0 ? $"; still missing: {string.Join(' ', still.Select(r => r.Name))}" : string.Empty));
    }

    /// <summary>The installed packages' names (dpkg-query or rpm), or null when they cannot be listed.</summary>
    private static async Task<IReadOnlySet<string>?> InstalledPackagesAsync(PackageManager manager, CancellationToken cancellationToken)
    {
        var command = SystemPackages.ListInstalledCommand(manager);
        if (!SystemPackages.Exists(command[0]))
        {
            return null;
        }

        var output = await ChildProcess.CaptureAsync(command[0], command.Skip(1), TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        return output is null ? null : SystemPackages.ParseInstalled(manager, output);
    }

    private static async Task<(Uri Url, ChildProcess? NodeExporter, BuiltInHostMetrics? BuiltIn)> StartHostMetricsAsync(List<string> notes, CancellationToken cancellationToken)
    {
        var binary = ExecutableLookup.Find("prometheus-node-exporter", "node_exporter");
        if (binary is not null)
        {
            var port = FreePort();
            var child = ChildProcess.Start(binary, [$"--web.listen-address=127.0.0.1:{port}"]);
            var url = new Uri($"http://127.0.0.1:{port}/metrics");
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            for (var i = 0; i < 50 && child.IsRunning; i++)
            {
                try
                {
                    using var response = await client.GetAsync(url, cancellationToken).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        notes.Add($"node_exporter: {binary} on {url} (pid {child.Pid})");
                        return (url, child, null);
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }

            notes.Add($"node_exporter at {binary} did not start ({child.Tail.Split('\n').LastOrDefault()}); using the built-in host metrics");
            await child.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            notes.Add("node_exporter not found (apt-get install prometheus-node-exporter): the blog's three system metrics come from the built-in host metrics instead");
        }

        var builtIn = await BuiltInHostMetrics.StartAsync(cancellationToken).ConfigureAwait(false);
        return (builtIn.Url, null, builtIn);
    }

    private static async Task<PodmanService?> StartPodmanAsync(string data, List<string> notes, CancellationToken cancellationToken)
    {
        var podman = ExecutableLookup.Find("podman");
        if (podman is null)
        {
            notes.Add($"podman not found ({PodmanService.InstallHint}): the workloads will not run; logs and metrics of everything else flow");
            return null;
        }

        try
        {
            var service = await PodmanService.StartAsync(podman, Path.Combine(data, "podman"), cancellationToken).ConfigureAwait(false);
            notes.Add($"podman: API on {service.Socket}; {service.Note}");
            return service;
        }
        catch (InvalidOperationException e)
        {
            notes.Add($"podman could not be prepared: {e.Message}; the workloads will not run");
            return null;
        }
    }

    private static async Task StopHelpersAsync(PodmanService? podman, IReadOnlyList<string> pods, ChildProcess? nodeExporter, BuiltInHostMetrics? builtIn)
    {
        if (podman is not null)
        {
            await podman.StopAsync(pods).ConfigureAwait(false);
            await podman.DisposeAsync().ConfigureAwait(false);
        }

        if (nodeExporter is not null)
        {
            await nodeExporter.DisposeAsync().ConfigureAwait(false);
        }

        if (builtIn is not null)
        {
            await builtIn.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The per-flow numbers of the status view, read from the gateway's and the agent's own counters.</summary>
internal sealed class UpStatus(MetricsRegistry gateway, MetricsRegistry agent, UpLogging logging)
{
    public async Task RunLiveAsync(CancellationToken cancellationToken)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]flotel up[/]");
        table.AddColumns("Flow", "Agent captured", "Agent sent", "Gateway stored", "Agent buffered/dropped");
        await AnsiConsole.Live(table).StartAsync(async context =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Fill(table);
                context.Refresh();
                await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    public async Task RunPlainAsync(TextWriter output, TimeSpan every, CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(every, cancellationToken).ConfigureAwait(false);
            var s = Snapshot();
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"status logs captured={s.LinesCaptured} sent={s.LinesSent} stored={s.LinesStored} | samples scraped={s.SamplesScraped} sent={s.SamplesSent} stored={s.SamplesStored}{(s.LastProblem is null ? string.Empty : " | last problem: " + s.LastProblem)}")).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Fill(Table table)
    {
        var s = Snapshot();
        table.Rows.Clear();
        table.AddRow("logs (lines)", N(s.LinesCaptured), N(s.LinesSent), N(s.LinesStored), $"{N(s.LogBufferBytes)} B / {N(s.LinesDropped)}");
        table.AddRow("metrics (samples)", N(s.SamplesScraped), N(s.SamplesSent), N(s.SamplesStored), N(s.SamplesDropped) + " dropped");
        table.Caption(s.LastProblem is null ? "[green]no warnings[/]" : "[yellow]last problem:[/] " + Markup.Escape(s.LastProblem));
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private Numbers Snapshot() => new(
        LinesCaptured: agent.Sum("flotel_agent_log_lines_captured_total"),
        LinesSent: agent.Sum("flotel_agent_log_lines_forwarded_total"),
        LinesStored: gateway.Sum("flotel_store_log_events_total"),
        LinesDropped: agent.Sum("flotel_agent_log_lines_dropped_total"),
        LogBufferBytes: 0,
        SamplesScraped: agent.Sum("flotel_agent_metrics_samples_total", ("result", "stored")),
        SamplesSent: agent.Sum("flotel_output_items_total", ("output", Flotel.Agent.Metrics.MetricsComponent.OutputName), ("result", "sent")),
        SamplesStored: gateway.Sum("flotel_store_samples_total"),
        SamplesDropped: agent.Sum("flotel_agent_metrics_wal_dropped_records_total") + agent.Sum("flotel_agent_metrics_expired_samples_total")
            + agent.Sum("flotel_output_items_total", ("output", Flotel.Agent.Metrics.MetricsComponent.OutputName), ("result", "lost")),
        LastProblem: logging.LastProblem);

    private sealed record Numbers(
        long LinesCaptured, long LinesSent, long LinesStored, long LinesDropped, long LogBufferBytes,
        long SamplesScraped, long SamplesSent, long SamplesStored, long SamplesDropped, string? LastProblem);
}
