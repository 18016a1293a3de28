using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Cli.Up;

/// <summary>
/// The blog's three system metrics, read from /proc and /sys the way node_exporter 1.5 computes them, served on
/// 127.0.0.1 in the text format — what <c>flotel up</c> scrapes when node_exporter is not installed, so the demo's
/// metrics path works anyway (the names, units and labels match node_exporter's, the values come from the same files):
/// <list type="bullet">
/// <item><c>node_memory_Mapped_bytes</c>: <c>/proc/meminfo</c> <c>Mapped:</c> (kB × 1024), as the meminfo collector.</item>
/// <item><c>node_disk_io_now{device}</c>: <c>/proc/diskstats</c> field 9 after the name ("I/Os currently in progress",
/// Documentation/admin-guide/iostats.rst), devices filtered like the diskstats collector's default exclude.</item>
/// <item><c>node_network_speed_bytes{device}</c>: <c>/sys/class/net/*/speed</c> (Mbit/s) × 125000, as the netclass
/// collector; interfaces whose speed cannot be read (loopback, virtual) are skipped, as node_exporter does.</item>
/// </list>
/// </summary>
internal sealed partial class BuiltInHostMetrics : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BuiltInHostMetrics(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Where the metrics are served.</summary>
    public Uri Url { get; }

    /// <summary>Starts serving on 127.0.0.1 with a free port.</summary>
    public static async Task<BuiltInHostMetrics> StartAsync(CancellationToken cancellationToken)
    {
        // The empty builder reads no configuration files and watches no directory (see GatewayHost).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/metrics", () => Results.Text(Render(), "text/plain; version=0.0.4; charset=utf-8"));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BuiltInHostMetrics(app, new Uri(address.TrimEnd('/') + "/metrics"));
    }

    /// <summary>The exposition text for the current values.</summary>
    public static string Render(string procRoot = "/proc", string sysRoot = "/sys")
    {
        var text = new StringBuilder();
        var mapped = ReadMeminfoKiB(Path.Combine(procRoot, "meminfo"), "Mapped:");
        if (mapped is { } kib)
        {
            text.Append("# HELP node_memory_Mapped_bytes Memory information field Mapped_bytes.\n# TYPE node_memory_Mapped_bytes gauge\n");
            text.Append(CultureInfo.InvariantCulture, $"node_memory_Mapped_bytes {kib * 1024}\n");
        }

        var disks = ReadDiskIoNow(Path.Combine(procRoot, "diskstats"));
        if (disks.Count > 0)
        {
            text.Append("# HELP node_disk_io_now The number of I/Os currently in progress.\n# TYPE node_disk_io_now gauge\n");
            foreach (var (device, value) in disks)
            {
                text.Append(CultureInfo.InvariantCulture, $"node_disk_io_now{{device=\"{device}\"}} {value}\n");
            }
        }

        var speeds = ReadNetworkSpeeds(Path.Combine(sysRoot, "class", "net"));
        if (speeds.Count > 0)
        {
            text.Append("# HELP node_network_speed_bytes Network device property: speed_bytes\n# TYPE node_network_speed_bytes gauge\n");
            foreach (var (device, value) in speeds)
            {
                text.Append(CultureInfo.InvariantCulture, $"node_network_speed_bytes{{device=\"{device}\"}} {value}\n");
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static long? ReadMeminfoKiB(string file, string key)
    {
        foreach (var line in SafeReadLines(file))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                var parts = line[key.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
            }
        }

        return null;
    }

    private static List<(string Device, long Value)> ReadDiskIoNow(string file)
    {
        var result = new List<(string, long)>();
        foreach (var line in SafeReadLines(file))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 14 && !IgnoredDisk().IsMatch(f[2]) && long.TryParse(f[11], NumberStyles.None, CultureInfo.InvariantCulture, out var inProgress))
            {
                result.Add((f[2], inProgress));
            }
        }

        return result;
    }

    private static List<(string Device, long Value)> ReadNetworkSpeeds(string folder)
    {
        var result = new List<(string, long)>();
        if (!Directory.Exists(folder))
        {
            return result;
        }

        foreach (var device in Directory.GetDirectories(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(folder, device!, "speed")).Trim();
                if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mbits))
                {
                    result.Add((device!, mbits * 125_000));
                }
            }
            catch (IOException)
            {
                // EINVAL for loopback and most virtual interfaces: node_exporter skips them too.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    private static string[] SafeReadLines(string file)
    {
        try
        {
            return File.ReadAllLines(file);
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    // node_exporter 1.5's default --collector.diskstats.device-exclude.
    [GeneratedRegex(@"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")]
    private static partial Regex IgnoredDisk();
}
