using System.Globalization;

namespace Flotel.FleetSim;

/// <summary>
/// The open-file budget of a run, checked before any device connects. Every simulated device holds sockets in the
/// simulator and as many in the gateway (its syslog connection, and with <c>--enrol</c> its one connection to the fleet
/// listener), and a process cannot hold more descriptors than its <c>RLIMIT_NOFILE</c> (<c>ulimit -n</c>; bench/fleet/run.sh
/// raises the soft limit to the hard one, and a gateway it starts inherits that). A run over the limit used to end
/// minutes in, after enrolment, with "Too many open files"; this names the limit and the largest device count that fits.
/// </summary>
internal static class OpenFiles
{
    /// <summary>
    /// Descriptors kept free in each process besides the devices' own: the admin client's pool and the enrolment calls
    /// in flight (64 each), files the stores open as data arrives (segments, WAL, indices), the runtime's own.
    /// </summary>
    public const int Reserve = 256;

    /// <summary>Sockets one device holds in each process: syslog when it sends data, the fleet connection when enrolled.</summary>
    public static int PerDevice(FleetOptions options) => (options.SendsData ? 1 : 0) + (options.Enrol ? 1 : 0);

    /// <summary>The soft <c>Max open files</c> of <paramref name="pid"/> (<c>/proc/PID/limits</c>), or null when unreadable or unlimited.</summary>
    public static long? Limit(string pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                    return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Descriptors <paramref name="pid"/> has open now (<c>/proc/PID/fd</c>), or 0 when unreadable.</summary>
    public static int Open(string pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>The most devices a process with <paramref name="limit"/> descriptors, <paramref name="open"/> of them in use, can hold.</summary>
    public static long MostDevices(long limit, int open, int perDevice) => Math.Max(0, (limit - open - Reserve) / perDevice);

    /// <summary>
    /// Null when <paramref name="options"/>'s devices fit in process <paramref name="pid"/> (<c>self</c> or a number) called
    /// <paramref name="who"/>, else what to do.
    /// </summary>
    public static string? Check(FleetOptions options, string pid, string who)
    {
        var perDevice = PerDevice(options);
        if (Limit(pid) is not { } limit || perDevice == 0)
        {
            return null;
        }

        var open = Open(pid);
        var need = open + Reserve + ((long)options.Devices * perDevice);
        if (need <= limit)
        {
            return null;
        }

        var most = MostDevices(limit, open, perDevice);
        return string.Create(CultureInfo.InvariantCulture,
            $"{options.Devices:N0} devices need about {need:N0} open files in {who} ({perDevice} socket{(perDevice > 1 ? "s" : string.Empty)} "
            + $"per device, {open} open now, {Reserve} kept free), over its limit of {limit:N0} (RLIMIT_NOFILE, `ulimit -n`); "
            + $"the largest run that fits is --devices {most}");
    }
}
