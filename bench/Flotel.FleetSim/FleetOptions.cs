using System.Globalization;
using System.Net;

namespace Flotel.FleetSim;

/// <summary>
/// Command-line options of the fleet simulator. A run is bounded: <see cref="Seconds"/> of sending, then at most
/// <see cref="SettleSeconds"/> of waiting for the counts; every address is on loopback.
/// </summary>
internal sealed class FleetOptions
{
    public int Devices { get; private set; } = 100;

    public int Seconds { get; private set; } = 60;

    /// <summary>Syslog lines per second per device (Flotta line layout, one persistent connection each).</summary>
    public double LinesPerSecond { get; private set; } = 1;

    /// <summary>Series in each remote-write request of a device.</summary>
    public int Series { get; private set; } = 100;

    /// <summary>Seconds between a device's remote-write requests (the agent's default push interval).</summary>
    public int IntervalSeconds { get; private set; } = 60;

    /// <summary>HTTP base URL of a running gateway; null = start one (<see cref="FlotelDll"/>).</summary>
    public Uri? Gateway { get; private set; }

    /// <summary>Syslog listener of that gateway (TCP, or TLS with <see cref="Tls"/>).</summary>
    public IPEndPoint? Syslog { get; private set; }

    /// <summary>PID of that gateway, for its RSS and CPU (optional).</summary>
    public int? GatewayPid { get; private set; }

    /// <summary>flotel.dll to start a gateway with when no <see cref="Gateway"/> is given.</summary>
    public string? FlotelDll { get; private set; }

    public bool Tls { get; private set; }

    /// <summary>Latency probes started per second (lines with a unique token, remote-write requests polled for).</summary>
    public int ProbesPerSecond { get; private set; } = 10;

    /// <summary>Most seconds to wait after sending for the counts to match.</summary>
    public int SettleSeconds { get; private set; } = 120;

    public static string Usage =>
        """
        flotel-fleetsim --devices N --seconds S [--lines-per-s 1] [--series 100] [--interval 60]
                        [--gateway URL --syslog HOST:PORT [--gateway-pid PID]] [--flotel PATH/flotel.dll] [--tls]
                        [--probes-per-s 10] [--settle-seconds 120]
        Simulates N devices on loopback: each keeps one syslog connection (TCP, or TLS with --tls) sending L lines/s
        in the Flotta line layout with its device name as hostname, and sends one remote-write request of K series
        labelled edgedeviceid=<device> every I seconds. Without --gateway it starts `flotel gateway` (--flotel) in a
        temporary directory and stops it at the end. Prints a table and a last line starting with "fleet:".
        """;

    public static FleetOptions? Parse(string[] args, out string? error)
    {
        var options = new FleetOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--tls")
            {
                options.Tls = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                error = $"'{name}' needs a value";
                return null;
            }

            var value = args[++i];
            switch (name)
            {
                case "--devices":
                    options.Devices = Positive(name, value, ref error);
                    break;
                case "--seconds":
                    options.Seconds = Positive(name, value, ref error);
                    break;
                case "--lines-per-s":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate < 0 || rate > 1000)
                    {
                        error = $"'--lines-per-s' must be a number from 0 to 1000, got '{value}'";
                    }

                    options.LinesPerSecond = rate;
                    break;
                case "--series":
                    options.Series = Positive(name, value, ref error);
                    break;
                case "--interval":
                    options.IntervalSeconds = Positive(name, value, ref error);
                    break;
                case "--probes-per-s":
                    options.ProbesPerSecond = Positive(name, value, ref error);
                    break;
                case "--settle-seconds":
                    options.SettleSeconds = Positive(name, value, ref error);
                    break;
                case "--gateway":
                    if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || !url.IsLoopback)
                    {
                        error = $"'--gateway' must be an absolute URL on loopback, got '{value}'";
                    }

                    options.Gateway = url;
                    break;
                case "--syslog":
                    if (!IPEndPoint.TryParse(value, out var syslog) || !IPAddress.IsLoopback(syslog.Address) || syslog.Port == 0)
                    {
                        error = $"'--syslog' must be a loopback HOST:PORT, got '{value}'";
                    }

                    options.Syslog = syslog;
                    break;
                case "--gateway-pid":
                    options.GatewayPid = Positive(name, value, ref error);
                    break;
                case "--flotel":
                    options.FlotelDll = value;
                    break;
                default:
                    error = $"unknown option '{name}'";
                    return null;
            }

            if (error is not null)
            {
                return null;
            }
        }

        if (options.Gateway is not null && options.Syslog is null)
        {
            error = "'--gateway' needs '--syslog HOST:PORT' (the gateway's syslog listener)";
            return null;
        }

        if (options.Gateway is null && (options.FlotelDll is null || !File.Exists(options.FlotelDll)))
        {
            error = "without '--gateway', '--flotel' must name flotel.dll (bench/fleet/run.sh builds it)";
            return null;
        }

        return options;
    }

    private static int Positive(string name, string value, ref string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return n;
        }

        error = $"'{name}' must be a whole number greater than 0, got '{value}'";
        return 0;
    }
}
