using System.CommandLine;
using System.Globalization;
using System.Net;
using Flotel.Bench;

namespace Flotel.FleetSim;

/// <summary>
/// Command-line options of the fleet simulator. A run is bounded: <see cref="WarmupSeconds"/> and then
/// <see cref="Seconds"/> of sending, then at most <see cref="SettleSeconds"/> of waiting for the counts; every address is
/// on loopback.
/// </summary>
internal sealed class FleetOptions
{
    private static readonly Option<int> DevicesOption = BenchOptions.Positive("--devices", 100, "Simulated devices");
    private static readonly Option<int> SecondsOption = BenchOptions.Positive("--seconds", 60, "Seconds of sending");
    private static readonly Option<double> LinesOption = LinesPerSecondOption();
    private static readonly Option<int> SeriesOption = BenchOptions.Positive("--series", 100, "Series in each remote-write request of a device");
    private static readonly Option<int> IntervalOption = BenchOptions.Positive("--interval", 60, "Seconds between a device's remote-write requests");
    private static readonly Option<Uri?> GatewayOption =
        BenchOptions.LoopbackUrl("--gateway", null, "HTTP base URL of a running gateway (needs --syslog); without it a gateway is started");
    private static readonly Option<IPEndPoint?> SyslogOption = BenchOptions.LoopbackEndpoint("--syslog", "Syslog listener of that gateway");
    private static readonly Option<int?> PidOption = new("--gateway-pid") { Description = "PID of that gateway, for its RSS and CPU", HelpName = "PID" };
    private static readonly Option<string?> FlotelOption = new("--flotel") { Description = "flotel.dll to start a gateway with", HelpName = "PATH" };
    private static readonly Option<bool> TlsOption = new("--tls") { Description = "Syslog over TLS instead of TCP" };
    private static readonly Option<int> ProbesOption =
        BenchOptions.NonNegative("--probes-per-s", 10, "Latency probes started per second of each kind (0 = none)");
    private static readonly Option<int> WarmupOption = BenchOptions.NonNegative("--warmup", 0,
        "Seconds of sending before the measured --seconds: their probes are not in the percentiles, their CPU not in the CPU row");
    private static readonly Option<bool> EnrolOption = new("--enrol")
    {
        Description = "Devices enrol with the fleet as the agent does (token, key pair, CSR), long-poll their bundle and send status " +
            "reports; remote write goes to the fleet listener and TLS syslog presents the device certificate",
    };
    private static readonly Option<bool> ControlPlaneOnlyOption = new("--control-plane-only")
    {
        Description = "--enrol without data: no syslog connection, no remote write, no probes (the control plane's own cost)",
    };
    private static readonly Option<Uri?> FleetOption =
        BenchOptions.LoopbackUrl("--fleet", null, "Fleet listener of that gateway (https://127.0.0.1:PORT), for --enrol with --gateway");
    private static readonly Option<int?> MaxHeldPollsOption = new("--max-held-polls")
    {
        Description = "fleet.maxHeldPolls of the gateway started with --enrol (default: the gateway's, 20000); " +
            "devices over it poll at fleet.pollIntervalSeconds",
        HelpName = "N",
    };
    private static readonly Option<bool> FleetByAddressOption = new("--fleet-by-address")
    {
        Description = "Devices name the fleet listener of the gateway started with --enrol by its address (https://127.0.0.1:PORT) " +
            "instead of https://localhost:PORT: .NET resumes no TLS session with an IP literal, so every reconnection is a full handshake",
    };
    private static readonly Option<int> SettleOption =
        BenchOptions.Positive("--settle-seconds", 120, "Most seconds to wait after sending for the counts to match");

    public int Devices { get; init; }

    public int Seconds { get; init; }

    /// <summary>Syslog lines per second per device (Flotta line layout, one persistent connection each).</summary>
    public double LinesPerSecond { get; init; }

    /// <summary>Series in each remote-write request of a device.</summary>
    public int Series { get; init; }

    /// <summary>Seconds between a device's remote-write requests (the agent's default push interval).</summary>
    public int IntervalSeconds { get; init; }

    /// <summary>HTTP base URL of a running gateway; null = start one (<see cref="FlotelDll"/>).</summary>
    public Uri? Gateway { get; init; }

    /// <summary>Syslog listener of that gateway (TCP, or TLS with <see cref="Tls"/>).</summary>
    public IPEndPoint? Syslog { get; init; }

    /// <summary>PID of that gateway, for its RSS and CPU (optional).</summary>
    public int? GatewayPid { get; init; }

    /// <summary>flotel.dll to start a gateway with when no <see cref="Gateway"/> is given.</summary>
    public string? FlotelDll { get; init; }

    public bool Tls { get; init; }

    /// <summary>Latency probes started per second (lines with a unique token, remote-write requests polled for).</summary>
    public int ProbesPerSecond { get; init; }

    /// <summary>Most seconds to wait after sending for the counts to match.</summary>
    public int SettleSeconds { get; init; }

    /// <summary>Seconds of sending before the measured <see cref="Seconds"/> (series creation falls there).</summary>
    public int WarmupSeconds { get; init; }

    /// <summary>Devices enrol and run the agent's control plane (<see cref="FleetDevice"/>).</summary>
    public bool Enrol { get; init; }

    /// <summary>The control plane alone: enrolled devices that send no data.</summary>
    public bool ControlPlaneOnly { get; init; }

    /// <summary>Fleet listener of an external gateway (<c>https://HOST:PORT</c>).</summary>
    public Uri? Fleet { get; init; }

    /// <summary><c>fleet.maxHeldPolls</c> of a started gateway; null = its default.</summary>
    public int? MaxHeldPolls { get; init; }

    /// <summary>
    /// Whether devices name the started gateway's fleet listener by its IP address (no TLS resumption) instead of
    /// <c>localhost</c>, a DNS name its certificate always carries (docs/fleet.md §5, "Connections").
    /// </summary>
    public bool FleetByAddress { get; init; }

    /// <summary>Whether devices send syslog lines and remote-write requests.</summary>
    public bool SendsData => !ControlPlaneOnly;

    /// <summary>The simulator's command; <paramref name="run"/> gets the options once they are valid.</summary>
    public static RootCommand CreateCommand(Func<FleetOptions, Task<int>> run)
    {
        var root = new RootCommand(
            "Simulates N devices on loopback: each keeps one syslog connection (TCP, or TLS with --tls) sending L lines/s in the " +
            "Flotta line layout with its device name as hostname, and sends one remote-write request of K series labelled " +
            "edgedeviceid=<device> every I seconds. Without --gateway it starts `flotel gateway` (--flotel) in a temporary " +
            "directory and stops it at the end. With --enrol every device first enrols with the fleet and runs the agent's " +
            "control plane. Before anything connects it checks that its own and the gateway's open-file limits (RLIMIT_NOFILE) " +
            "hold every device's sockets, and otherwise exits 2 naming the largest --devices that fits. Prints a table and a " +
            "last line starting with \"fleet:\".")
        {
            DevicesOption, SecondsOption, LinesOption, SeriesOption, IntervalOption, GatewayOption, SyslogOption, PidOption,
            FlotelOption, TlsOption, ProbesOption, SettleOption, WarmupOption, EnrolOption, ControlPlaneOnlyOption, FleetOption,
            MaxHeldPollsOption, FleetByAddressOption,
        };
        root.SetAction(parse =>
        {
            var options = new FleetOptions
            {
                Devices = parse.GetValue(DevicesOption),
                Seconds = parse.GetValue(SecondsOption),
                LinesPerSecond = parse.GetValue(LinesOption),
                Series = parse.GetValue(SeriesOption),
                IntervalSeconds = parse.GetValue(IntervalOption),
                Gateway = parse.GetValue(GatewayOption),
                Syslog = parse.GetValue(SyslogOption),
                GatewayPid = parse.GetValue(PidOption),
                FlotelDll = parse.GetValue(FlotelOption) is { } dll ? Path.GetFullPath(dll) : null,
                Tls = parse.GetValue(TlsOption),
                ProbesPerSecond = parse.GetValue(ProbesOption),
                SettleSeconds = parse.GetValue(SettleOption),
                WarmupSeconds = parse.GetValue(WarmupOption),
                Enrol = parse.GetValue(EnrolOption) || parse.GetValue(ControlPlaneOnlyOption),
                ControlPlaneOnly = parse.GetValue(ControlPlaneOnlyOption),
                Fleet = parse.GetValue(FleetOption),
                MaxHeldPolls = parse.GetValue(MaxHeldPollsOption),
                FleetByAddress = parse.GetValue(FleetByAddressOption),
            };
            return BenchOptions.RunCheckedAsync("flotel-fleetsim", options, options.Conflict(), run);
        });
        return root;
    }

    /// <summary>What is wrong between options that each parsed, or null.</summary>
    private string? Conflict() => this switch
    {
        { Gateway: not null, Syslog: null, ControlPlaneOnly: false } => "'--gateway' needs '--syslog HOST:PORT' (the gateway's syslog listener)",
        { Gateway: not null, Enrol: true, Fleet: null } => "'--enrol' with '--gateway' needs '--fleet https://HOST:PORT' (the gateway's fleet listener)",
        { Fleet: not null, Gateway: null } => "'--fleet' names the fleet listener of a running gateway: use it with '--gateway'",
        { Fleet: not null, Enrol: false } => "'--fleet' is used only with '--enrol' or '--control-plane-only'",
        { Fleet: { Scheme: not "https" } } => "'--fleet' must be an https URL (the fleet listener speaks TLS only)",
        { Gateway: null } when !File.Exists(FlotelDll) => "without '--gateway', '--flotel' must name flotel.dll (bench/fleet/run.sh builds it)",
        { MaxHeldPolls: not null, Gateway: not null } =>
            "'--max-held-polls' configures the gateway the simulator starts: set fleet.maxHeldPolls in that gateway's configuration instead",
        { MaxHeldPolls: not null, Enrol: false } => "'--max-held-polls' is used only with '--enrol' or '--control-plane-only'",
        { FleetByAddress: true, Gateway: not null } =>
            "'--fleet-by-address' names the fleet listener of the gateway the simulator starts: with '--gateway', '--fleet' names it",
        { FleetByAddress: true, Enrol: false } => "'--fleet-by-address' is used only with '--enrol' or '--control-plane-only'",
        { MaxHeldPolls: < 0 } => "'--max-held-polls' must be 0 or more",
        { GatewayPid: <= 0 } => "'--gateway-pid' must be a whole number greater than 0",
        _ => null,
    };

    private static Option<double> LinesPerSecondOption() => new("--lines-per-s")
    {
        Description = "Syslog lines per second per device (0 to 1000)",
        HelpName = "L",
        DefaultValueFactory = _ => 1,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 1000)
            {
                return rate;
            }

            result.AddError($"'--lines-per-s' must be a number from 0 to 1000, got '{text}'");
            return 0;
        },
    };
}
