using System.Globalization;
using System.Text;

namespace Flotel.LogCorpus;

/// <summary>
/// Realistic log lines, deterministic from a seed: a fleet of devices (a few chatty, most quiet: Zipf-weighted) whose
/// workloads write through the Flotta device worker and whose hosts forward their own syslog. Fixed parts repeat as
/// they do in real logs (templates, a few hundred client addresses, a dozen user agents, a container id per workload);
/// variable parts vary as they do (times, ids, sizes, durations, counters).
/// </summary>
/// <remarks>
/// Layouts: workload lines (blog, access, json) in the Flotta device worker's
/// <c>&lt;6&gt;RFC3339 HOSTNAME WORKLOAD[PID]: CONTAINER_ID: LINE</c> (docs/reference/flotta-device-worker.md §3.5, device
/// name as hostname); host lines (system) as RFC 3164 <c>&lt;PRI&gt;Mmm dd hh:mm:ss HOST TAG[PID]: MSG</c>, as rsyslog's
/// default forwarding template sends them. The texts are written for this corpus; their formats are those of NCSA's
/// combined log, systemd, the Linux kernel, OpenSSH, cron, NetworkManager and podman.
/// </remarks>
internal sealed class CorpusGenerator
{
    private static readonly string[] Sites = ["dc1", "store", "plant", "depot", "clinic"];
    private static readonly string[] Offsets = ["+00:00", "-04:00", "+01:00", "+02:00", "-05:00"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] Days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    private static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72",
        "curl/7.88.1",
        "python-requests/2.31.0",
        "okhttp/4.12.0",
        "Go-http-client/1.1",
    ];

    private static readonly string[] Referers = ["-", "-", "-", "https://shop.example.com/", "https://shop.example.com/cart", "https://www.google.com/"];
    private static readonly string[] Loggers = ["orders.http", "orders.db", "inventory.sync", "sensor.reader", "payments.client", "auth.session"];
    private static readonly string[] Sensors = ["temp-01", "temp-02", "temp-07", "humidity-03", "pressure-01", "door-12", "vibration-04"];
    private static readonly string[] Upstreams = ["http://inventory:8080", "http://payments:9000", "https://api.fleet.example.com"];
    private static readonly string[] UpstreamErrors = ["context deadline exceeded", "connection refused", "503 Service Unavailable", "EOF"];
    private static readonly string[] AppWorkloads = ["orders-api", "inventory-svc", "sensor-agent"];
    private static readonly string[] Images =
    [
        "quay.io/fleet/orders-api:1.8.2", "quay.io/fleet/inventory-svc:2.3.0", "quay.io/fleet/sensor-agent:0.9.14", "docker.io/library/nginx:1.25",
    ];

    private readonly Random _random;
    private readonly Device[] _devices;
    private readonly double[] _deviceWeights;
    private readonly string[] _clients;
    private readonly double[] _clientWeights;
    private readonly string[] _assetHashes;
    private readonly CorpusShape _shape;
    private readonly StringBuilder _line = new(512);
    private double _timeMs;
    private long _uptimeMicros = 86_400_000_000;

    public CorpusGenerator(CorpusShape shape, int seed, int devices, DateTimeOffset start)
    {
        _shape = shape;
        _random = new Random(seed);
        _timeMs = start.ToUnixTimeMilliseconds();
        _devices = new Device[devices];
        for (var i = 0; i < devices; i++)
        {
            var offset = Offsets[_random.Next(Offsets.Length)];
            _devices[i] = new Device(
                $"{Sites[i % Sites.Length]}-edge-{i:D3}",
                offset,
                TimeSpan.FromHours(int.Parse(offset[..3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
                _random.Next(900, 40_000),
                [.. Enumerable.Range(0, 8).Select(_ => Hex(64))],
                $"10.{20 + (i / 250)}.{i % 250}.{_random.Next(2, 250)}");
        }

        _deviceWeights = ZipfCumulative(devices, 1.1);
        _clients = [.. Enumerable.Range(0, 500).Select(_ => $"{_random.Next(1, 224)}.{_random.Next(256)}.{_random.Next(256)}.{_random.Next(1, 255)}")];
        _clientWeights = ZipfCumulative(_clients.Length, 1.0);
        _assetHashes = [.. Enumerable.Range(0, 4).Select(_ => Hex(8))];
    }

    /// <summary>The next line, without its line feed.</summary>
    public string Next()
    {
        _timeMs += -Math.Log(1 - _random.NextDouble()) * 9;
        _uptimeMicros += _random.Next(1, 20_000);
        var device = _devices[Pick(_deviceWeights)];
        var time = DateTimeOffset.FromUnixTimeMilliseconds((long)_timeMs);
        _line.Clear();
        var shape = _shape;
        if (shape == CorpusShape.Mix)
        {
            var r = _random.NextDouble();
            shape = r < 0.2 ? CorpusShape.Blog : r < 0.5 ? CorpusShape.Access : r < 0.8 ? CorpusShape.Json : CorpusShape.System;
        }

        switch (shape)
        {
            case CorpusShape.Blog:
                FlottaHeader(device, time, "random-workload", 0);
                Blog(time);
                break;
            case CorpusShape.Access:
                FlottaHeader(device, time, "web-frontend", 1);
                Access(time);
                break;
            case CorpusShape.Json:
                var app = _random.Next(AppWorkloads.Length);
                FlottaHeader(device, time, AppWorkloads[app], 2 + app);
                Json(time);
                break;
            default:
                SystemLine(device, time);
                break;
        }

        return _line.ToString();
    }

    // <6>2022-05-12T16:22:01-04:00 HOST random-workload[3966]: <64 hex>: ...
    private void FlottaHeader(Device device, DateTimeOffset time, string workload, int container)
    {
        var local = time.ToOffset(device.Zone);
        _line.Append("<6>").Append(local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)).Append(device.Offset)
            .Append(' ').Append(device.Name).Append(' ').Append(workload)
            .Append(CultureInfo.InvariantCulture, $"[{device.AgentPid}]: ").Append(device.Containers[container]).Append(": ");
    }

    // The blog's workload: `echo "New message at: $(date)"` (date's default format, UTC in the container).
    private void Blog(DateTimeOffset time)
    {
        var t = time.UtcDateTime;
        _line.Append("New message at: ").Append(Days[(int)t.DayOfWeek]).Append(' ').Append(Months[t.Month - 1]).Append(' ')
            .Append(t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2)).Append(' ')
            .Append(t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC ").Append(t.Year.ToString(CultureInfo.InvariantCulture));
    }

    // NCSA combined: client - user [dd/MMM/yyyy:HH:mm:ss +0000] "METHOD path HTTP/1.1" status bytes "referer" "agent"
    private void Access(DateTimeOffset time)
    {
        var t = time.UtcDateTime;
        var client = _clients[Pick(_clientWeights)];
        string method = "GET", path, agent = UserAgents[Math.Min(UserAgents.Length - 1, (int)(-Math.Log(1 - _random.NextDouble()) * 2.5))];
        int status = 200, bytes;
        var r = _random.NextDouble();
        if (r < 0.12)
        {
            path = "/healthz";
            agent = "kube-probe/1.28";
            bytes = 2;
        }
        else if (r < 0.17)
        {
            path = "/metrics";
            agent = "Prometheus/2.42.0";
            bytes = _random.Next(14_000, 16_000);
        }
        else if (r < 0.40)
        {
            var asset = _random.Next(4);
            path = asset switch
            {
                0 => $"/static/js/app.{_assetHashes[0]}.js",
                1 => $"/static/js/vendor.{_assetHashes[1]}.js",
                2 => $"/static/css/main.{_assetHashes[2]}.css",
                _ => $"/images/products/{_random.Next(1, 400)}.jpg",
            };
            status = _random.NextDouble() < 0.35 ? 304 : 200;
            bytes = status == 304 ? 0 : asset switch { 0 => 184_213, 1 => 412_877, 2 => 23_940, _ => _random.Next(20_000, 90_000) };
        }
        else if (r < 0.75)
        {
            path = _random.Next(3) switch
            {
                0 => $"/api/v1/products/{_random.Next(1, 5000)}",
                1 => $"/api/v1/products?page={_random.Next(1, 30)}&size=20",
                _ => $"/api/v1/orders/{_random.Next(100_000, 999_999)}/status",
            };
            bytes = _random.Next(180, 6000);
        }
        else if (r < 0.90)
        {
            method = _random.NextDouble() < 0.6 ? "POST" : "PUT";
            path = $"/api/v1/cart/{Guid()}/items";
            status = _random.NextDouble() < 0.9 ? 201 : 409;
            bytes = _random.Next(60, 900);
        }
        else
        {
            path = _random.Next(3) switch { 0 => "/", 1 => "/login", _ => $"/wp-login.php?redirect_to={_random.Next(1000)}" };
            method = path == "/login" && _random.NextDouble() < 0.5 ? "POST" : "GET";
            status = path.StartsWith("/wp-", StringComparison.Ordinal) ? 404
                : path == "/login" && method == "POST" ? (_random.NextDouble() < 0.8 ? 302 : 401)
                : 200;
            bytes = status == 404 ? 153 : _random.Next(2_000, 9_000);
        }

        if (status == 200 && _random.NextDouble() < 0.004)
        {
            status = 500;
            bytes = 21;
        }

        _line.Append(client).Append(" - - [").Append(t.Day.ToString("D2", CultureInfo.InvariantCulture)).Append('/').Append(Months[t.Month - 1]).Append('/')
            .Append(t.ToString("yyyy:HH:mm:ss", CultureInfo.InvariantCulture)).Append(" +0000] \"").Append(method).Append(' ').Append(path)
            .Append(CultureInfo.InvariantCulture, $" HTTP/1.1\" {status} {bytes} \"").Append(Referers[_random.Next(Referers.Length)]).Append("\" \"")
            .Append(agent).Append('"');
    }

    private void Json(DateTimeOffset time)
    {
        var ts = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var logger = Loggers[_random.Next(Loggers.Length)];
        var r = _random.NextDouble();
        var c = CultureInfo.InvariantCulture;
        if (r < 0.45)
        {
            var status = _random.NextDouble() < 0.95 ? 200 : 404;
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"info\",\"logger\":\"{logger}\",\"msg\":\"request completed\",\"method\":\"GET\",")
                .Append(c, $"\"path\":\"/api/v1/products/{_random.Next(1, 5000)}\",\"status\":{status},")
                .Append(c, $"\"duration_ms\":{_random.NextDouble() * 40:F2},\"request_id\":\"{Guid()}\"}}");
        }
        else if (r < 0.65)
        {
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"debug\",\"logger\":\"{logger}\",\"msg\":\"cache hit\",")
                .Append(c, $"\"key\":\"product:{_random.Next(1, 5000)}\",\"ttl_s\":300}}");
        }
        else if (r < 0.85)
        {
            var sensor = Sensors[_random.Next(Sensors.Length)];
            var unit = sensor.StartsWith("temp", StringComparison.Ordinal) ? "C" : "raw";
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"info\",\"logger\":\"sensor.reader\",\"msg\":\"sensor reading\",\"sensor_id\":\"{sensor}\",")
                .Append(c, $"\"value\":{18 + (_random.NextDouble() * 8):F2},\"unit\":\"{unit}\"}}");
        }
        else if (r < 0.93)
        {
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"info\",\"logger\":\"orders.http\",\"msg\":\"order created\",")
                .Append(c, $"\"order_id\":{_random.Next(100_000, 999_999)},\"customer_id\":{_random.Next(1, 20_000)},\"items\":{_random.Next(1, 8)},")
                .Append(c, $"\"total\":{_random.Next(300, 30_000) / 100.0:F2},\"currency\":\"EUR\"}}");
        }
        else if (r < 0.98)
        {
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"warn\",\"logger\":\"orders.db\",\"msg\":\"slow query\",")
                .Append("\"query\":\"SELECT id, status, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20\",")
                .Append(c, $"\"duration_ms\":{250 + (_random.NextDouble() * 900):F1}}}");
        }
        else
        {
            _line.Append(c, $"{{\"time\":\"{ts}\",\"level\":\"error\",\"logger\":\"payments.client\",\"msg\":\"upstream request failed\",")
                .Append(c, $"\"upstream\":\"{Upstreams[_random.Next(Upstreams.Length)]}\",\"error\":\"{UpstreamErrors[_random.Next(UpstreamErrors.Length)]}\",")
                .Append(c, $"\"attempt\":{_random.Next(1, 4)},\"request_id\":\"{Guid()}\"}}");
        }
    }

    // RFC 3164 as rsyslog forwards it: <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG (day space-padded).
    private void SystemLine(Device device, DateTimeOffset time)
    {
        var t = time.UtcDateTime;
        var c = CultureInfo.InvariantCulture;
        var r = _random.NextDouble();
        (int facility, int severity, string tag) = r switch
        {
            < 0.25 => (3, 6, "systemd[1]"),
            < 0.45 => (0, 6, "kernel"),
            < 0.55 => (10, 6, $"sshd[{_random.Next(1000, 60_000)}]"),
            < 0.65 => (9, 6, $"CRON[{_random.Next(1000, 60_000)}]"),
            < 0.77 => (3, 6, $"NetworkManager[{device.AgentPid / 3}]"),
            < 0.82 => (3, 6, $"chronyd[{device.AgentPid / 5}]"),
            _ => (3, 6, $"podman[{_random.Next(1000, 60_000)}]"),
        };
        var container = device.Containers[_random.Next(device.Containers.Length)];
        string message = tag switch
        {
            "systemd[1]" => _random.Next(6) switch
            {
                0 => $"Started Session {_random.Next(1, 3000)} of User core.",
                1 => "Starting Cleanup of Temporary Directories...",
                2 => "systemd-tmpfiles-clean.service: Deactivated successfully.",
                3 => $"Started libpod-conmon-{container}.scope.",
                4 => $"Started libcrun container {container[..12]}.",
                _ => $"libpod-{container}.scope: Consumed {_random.Next(1, 900)}.{_random.Next(100, 999)}s CPU time.",
            },
            "kernel" => _random.Next(5) switch
            {
                0 => $"[{_uptimeMicros / 1_000_000,5}.{_uptimeMicros % 1_000_000:D6}] IPv6: ADDRCONF(NETDEV_CHANGE): veth{container[..7]}: link becomes ready",
                1 => $"[{_uptimeMicros / 1_000_000,5}.{_uptimeMicros % 1_000_000:D6}] cni-podman0: "
                    + $"port {_random.Next(1, 9)}(veth{container[..7]}) entered forwarding state",
                2 => $"[{_uptimeMicros / 1_000_000,5}.{_uptimeMicros % 1_000_000:D6}] usb 1-1.{_random.Next(1, 5)}: "
                    + $"new high-speed USB device number {_random.Next(2, 40)} using xhci_hcd",
                3 => $"[{_uptimeMicros / 1_000_000,5}.{_uptimeMicros % 1_000_000:D6}] EXT4-fs (mmcblk0p2): re-mounted. Opts: (null). Quota mode: none.",
                _ => $"[{_uptimeMicros / 1_000_000,5}.{_uptimeMicros % 1_000_000:D6}] audit: "
                    + $"type=1400 audit({time.ToUnixTimeSeconds()}.{_random.Next(100, 999)}:{_random.Next(100, 9999)}): "
                    + "apparmor=\"DENIED\" operation=\"open\" profile=\"containers-default-0.50.1\" name=\"/proc/sys/kernel/random/uuid\" "
                    + $"pid={_random.Next(1000, 60_000)} comm=\"node\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0",
            },
            _ when tag.StartsWith("sshd", StringComparison.Ordinal) => _random.Next(3) switch
            {
                0 => $"Accepted publickey for core from 10.0.{_random.Next(0, 4)}.{_random.Next(2, 250)} port {_random.Next(32_768, 60_999)} "
                    + $"ssh2: ED25519 SHA256:{Base64(43)}",
                1 => "pam_unix(sshd:session): session opened for user core(uid=1000) by (uid=0)",
                _ => $"Disconnected from user core 10.0.{_random.Next(0, 4)}.{_random.Next(2, 250)} port {_random.Next(32_768, 60_999)}",
            },
            _ when tag.StartsWith("CRON", StringComparison.Ordinal) => _random.Next(2) == 0
                ? "(root) CMD (/usr/local/bin/fleet-health.sh >/dev/null 2>&1)"
                : "pam_unix(cron:session): session closed for user root",
            _ when tag.StartsWith("NetworkManager", StringComparison.Ordinal) =>
                $"<info>  [{time.ToUnixTimeSeconds()}.{_random.Next(1000, 9999)}] dhcp4 (eth0): state changed new lease, address={device.Address}",
            _ when tag.StartsWith("chronyd", StringComparison.Ordinal) => _random.Next(2) == 0
                ? "Selected source 10.0.0.1 (ntp.fleet.local)"
                : $"System clock wrong by {_random.NextDouble() * 0.01:F6} seconds",
            _ => $"{t.ToString("yyyy-MM-dd HH:mm:ss.fffffff", c)} +0000 UTC m=+{_random.Next(1, 90_000)}.{_random.Next(100_000_000, 999_999_999)} "
                + $"container health_status {container} (image={Images[_random.Next(Images.Length)]}, "
                + $"name={AppWorkloads[_random.Next(AppWorkloads.Length)]}, health_status=healthy)",
        };
        _line.Append(c, $"<{(facility * 8) + severity}>").Append(Months[t.Month - 1]).Append(' ').Append(t.Day.ToString(c).PadLeft(2)).Append(' ')
            .Append(t.ToString("HH:mm:ss", c)).Append(' ').Append(device.Name).Append(' ').Append(tag).Append(": ").Append(message);
    }

    private int Pick(double[] cumulative)
    {
        var i = Array.BinarySearch(cumulative, _random.NextDouble() * cumulative[^1]);
        return Math.Min(i < 0 ? ~i : i, cumulative.Length - 1);
    }

    // Cumulative Zipf weights 1/k^s: the first few entries take most of the draws, as real traffic does.
    private static double[] ZipfCumulative(int n, double s)
    {
        var weights = new double[n];
        double sum = 0;
        for (var k = 0; k < n; k++)
        {
            sum += 1 / Math.Pow(k + 1, s);
            weights[k] = sum;
        }

        return weights;
    }

    private string Hex(int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = "0123456789abcdef"[_random.Next(16)];
        }

        return new string(chars);
    }

    private string Base64(int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[_random.Next(64)];
        }

        return new string(chars);
    }

    private string Guid()
    {
        var h = Hex(32);
        return $"{h[..8]}-{h[8..12]}-4{h[13..16]}-a{h[17..20]}-{h[20..]}";
    }

    private sealed record Device(string Name, string Offset, TimeSpan Zone, int AgentPid, string[] Containers, string Address);
}
