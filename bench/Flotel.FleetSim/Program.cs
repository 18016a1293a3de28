using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Flotel.Bench;

namespace Flotel.FleetSim;

/// <summary>What every device of one run shares.</summary>
internal sealed class FleetRun(FleetOptions options, HttpClient http, Stopwatch clock)
{
    private long _probes;

    public FleetOptions Options => options;

    public HttpClient Http => http;

    public Stopwatch Clock => clock;

    public FleetCounters Counters { get; } = new();

    public Probes Probes { get; } = new(http, options.ProbesPerSecond, clock);

    /// <summary>Names this run: in device names and in a token of every line, so counts see only its own data.</summary>
    public string RunId { get; } = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));

    /// <summary>A word in every line of this run (the final <c>_count</c> matches it).</summary>
    public string RunToken => "fleetrun" + RunId;

    public string ProbeToken() => "probe" + RunId + "n" + Interlocked.Increment(ref _probes).ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The fleet simulator (bench/fleet/run.sh): N devices against one gateway on loopback, for sizing a gateway. Phases:
/// with <c>--enrol</c>, apply one EdgeDevice per device, create their tokens, enrol every device and start its control
/// plane (the agent's code, <see cref="FleetDevice"/>); connect every device (at most 256 connects in flight, 64 for
/// TLS with device certificates); send for the warm-up and then the measured seconds with each device's lines and
/// requests jittered over their period; close the connections, then wait until the gateway holds every line and sample
/// sent (or the settle time ends) and print the table. Exit code 0 = nothing lost and no errors.
/// </summary>
internal static class Program
{
    /// <summary>Key pairs and CSRs made with the agent's code to time one (before enrolment, on the simulator's CPU).</summary>
    private const int KeyTimingSamples = 500;

    public static Task<int> Main(string[] args) => BenchOptions.RunAsync(FleetOptions.CreateCommand(SimulateAsync), "flotel-fleetsim", args);

    private static async Task<int> SimulateAsync(FleetOptions options)
    {
        GatewayProcess? started = null;
        try
        {
            Uri gateway;
            IPEndPoint? syslog;
            Uri? fleet;
            int? pid;
            // Both processes' open-file limits are checked before anything connects: a run over either would fail
            // minutes in, after enrolment (OpenFiles).
            if (OpenFiles.Check(options, "self", "the simulator") is { } tooMany)
            {
                return await RefuseAsync(tooMany).ConfigureAwait(false);
            }

            if (options.Gateway is null)
            {
                await Console.Error.WriteLineAsync("flotel-fleetsim: starting flotel gateway").ConfigureAwait(false);
                started = await GatewayProcess.StartAsync(options.FlotelDll!, options.Tls, options.Enrol, options.MaxHeldPolls).ConfigureAwait(false);
                (gateway, syslog, fleet, pid) = (started.Http, started.Syslog, started.Fleet, started.Pid);
                if (fleet is not null && !options.FleetByAddress)
                {
                    // As a device configured with the gateway's DNS name: .NET's TLS client keeps sessions by server name and
                    // sends none for an IP literal (RFC 6066 §3), so only a named listener sees resumed handshakes.
                    fleet = new UriBuilder(fleet) { Host = "localhost" }.Uri;
                }
            }
            else
            {
                gateway = WithSlash(options.Gateway);
                (syslog, fleet, pid) = (options.Syslog, options.Fleet is { } f ? WithSlash(f) : null, options.GatewayPid);
            }

            var gatewayProc = pid?.ToString(CultureInfo.InvariantCulture);
            if (gatewayProc is not null && OpenFiles.Check(options, gatewayProc, $"the gateway (PID {gatewayProc})") is { } gatewayTooMany)
            {
                return await RefuseAsync(gatewayTooMany).ConfigureAwait(false);
            }

            var code = await RunAsync(options, gateway, syslog, fleet, pid).ConfigureAwait(false);
            if (code != 0 && started is not null)
            {
                await Console.Error.WriteLineAsync("flotel-fleetsim: gateway output:\n" + started.Log).ConfigureAwait(false);
            }

            return code;
        }
        finally
        {
            if (started is not null)
            {
                await started.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<int> RefuseAsync(string problem)
    {
        await Console.Error.WriteLineAsync("flotel-fleetsim: " + problem).ConfigureAwait(false);
        return 2;
    }

    private static Uri WithSlash(Uri url) => url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");

    private static async Task<int> RunAsync(FleetOptions options, Uri gateway, IPEndPoint? syslog, Uri? fleet, int? pid)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        using var http = new HttpClient(handler) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(120) };
        if (Environment.GetEnvironmentVariable("FLOTEL_ADMIN_TOKEN") is { Length: > 0 } adminToken)
        {
            // The admin API's bearer token, as `flotel token create` takes it (docs/fleet.md §7).
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
        }

        var clock = Stopwatch.StartNew();
        var run = new FleetRun(options, http, clock);
        var rssBefore = pid is { } p0 ? ProcStat.RssBytes(p0) : -1;
        var names = new string[options.Devices];
        var devices = new Device[options.Devices];
        for (var i = 0; i < devices.Length; i++)
        {
            names[i] = string.Create(CultureInfo.InvariantCulture, $"fleet{run.RunId}-{i:D5}");
            devices[i] = new Device(names[i], run);
        }

        ControlPlane? control = null;
        try
        {
            var enrolment = string.Empty;
            var keyMs = double.NaN;
            if (options.Enrol)
            {
                keyMs = TimeKeyPairs();
                // The agents' fleet files are written through fsync (FleetFiles): on tmpfs that costs the simulator
                // nothing, so the enrolment time is the gateway's and the handshakes'.
                var filesRoot = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "flotel-fleetsim-" + run.RunId);
                control = new ControlPlane(http, fleet!, filesRoot, run.Counters);
                enrolment = await EnrolAsync(control, names, devices, fleet!, clock).ConfigureAwait(false);
            }

            var rssEnrolled = pid is { } pe ? ProcStat.RssBytes(pe) : -1;
            var connectSeconds = 0.0;
            if (options.SendsData)
            {
                connectSeconds = await ConnectAsync(devices, syslog!, options.Tls, options.Enrol, clock).ConfigureAwait(false);
            }

            var rssConnected = pid is { } p1 ? ProcStat.RssBytes(p1) : -1;
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"flotel-fleetsim: {(options.SendsData ? run.Counters.Connected : control!.Enrolled)} of {devices.Length} devices ready; "
                + $"sending for {options.WarmupSeconds} + {options.Seconds} s")).ConfigureAwait(false);

            // Send phase: the warm-up, then the measured seconds (CPU, probes and control-plane rates from its start).
            var loops = new List<Task>(devices.Length * 2);
            double cpuStart, cpuEnd, sendSeconds;
            long rssEnd, statusStart, statusEnd, linesStart, samplesStart;
            double bundlesStart, bundlesEnd, longPolls = -1, deferredStart = 0, deferredEnd = 0, httpConnections = -1, applied = -1, heapEnd, committedEnd;
            using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.WarmupSeconds + options.Seconds)))
            {
                run.Probes.StartRate();
                // Known before the first probe: a probe that starts and is found within the warm-up is left out too.
                run.Probes.CountFrom(Stopwatch.GetTimestamp() + (options.WarmupSeconds * Stopwatch.Frequency));
                if (options.SendsData)
                {
                    foreach (var d in devices)
                    {
                        loops.Add(d.SendLinesAsync(stop.Token));
                        loops.Add(d.SendMetricsAsync(stop.Token));
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds)).ConfigureAwait(false);
                linesStart = Interlocked.Read(ref run.Counters.Lines);
                samplesStart = Interlocked.Read(ref run.Counters.Samples);
                cpuStart = pid is { } p2 ? ProcStat.CpuSeconds(p2) : -1;
                statusStart = control?.StatusReports ?? 0;
                bundlesStart = control is null ? 0 : await GatewayMetrics.SumAsync(http, "flotel_fleet_bundle_requests_total").ConfigureAwait(false);
                deferredStart = control is null ? 0 : await GatewayMetrics.SumAsync(http, "flotel_fleet_longpolls_deferred_total").ConfigureAwait(false);
                var sendStart = clock.Elapsed;
                loops.Add(Task.Delay(TimeSpan.FromSeconds(options.Seconds)));
                await Task.WhenAll(loops).ConfigureAwait(false);
                sendSeconds = (clock.Elapsed - sendStart).TotalSeconds;
                cpuEnd = pid is { } p3 ? ProcStat.CpuSeconds(p3) : -1;
                rssEnd = pid is { } p4 ? ProcStat.RssBytes(p4) : -1;
                heapEnd = await GatewayMetrics.SumAsync(http, "dotnet_gc_heap_bytes").ConfigureAwait(false);
                committedEnd = await GatewayMetrics.SumAsync(http, "dotnet_gc_committed_bytes").ConfigureAwait(false);
                statusEnd = control?.StatusReports ?? 0;
                if (control is not null)
                {
                    bundlesEnd = await GatewayMetrics.SumAsync(http, "flotel_fleet_bundle_requests_total").ConfigureAwait(false);
                    longPolls = await GatewayMetrics.SumAsync(http, "flotel_fleet_longpolls_waiting").ConfigureAwait(false);
                    deferredEnd = await GatewayMetrics.SumAsync(http, "flotel_fleet_longpolls_deferred_total").ConfigureAwait(false);
                    httpConnections = await GatewayMetrics.SumAsync(http, "flotel_http_connections_open").ConfigureAwait(false);
                    applied = await control.CountAppliedAsync(names).ConfigureAwait(false);
                }
                else
                {
                    bundlesEnd = 0;
                }
            }

            await Task.WhenAll(devices.Select(d => d.CloseAsync())).ConfigureAwait(false);

            // Settle phase: the probes finish, then the counts must reach what was sent.
            await run.Probes.WaitAsync().ConfigureAwait(false);
            var counters = run.Counters;
            long storedLines = 0, storedSamples = 0;
            if (options.SendsData)
            {
                (storedLines, storedSamples) = await SettleAsync(options, http, run, clock).ConfigureAwait(false);
            }

            const string Overwrites = "flotel_fleet_identity_overwrites_total";
            var boundLines = control is null ? 0 : await GatewayMetrics.SumAsync(http, Overwrites, "kind=\"logs\"").ConfigureAwait(false);
            var boundSamples = control is null ? 0 : await GatewayMetrics.SumAsync(http, Overwrites, "kind=\"samples\"").ConfigureAwait(false);
            var searchable = run.Probes.Searchable();
            var queryable = run.Probes.Queryable();
            var linesLost = counters.Lines - storedLines;
            var samplesLost = counters.Samples - storedSamples;
            var errors = counters.ConnectFailures + counters.WriteFailures + counters.RequestFailures + counters.EnrolFailures;
            var cpuCores = cpuStart >= 0 && cpuEnd >= 0 ? (cpuEnd - cpuStart) / sendSeconds : double.NaN;
            var controlRate = (bundlesEnd - bundlesStart + statusEnd - statusStart) / sendSeconds;
            var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

            var table = new StringBuilder();
            void Row(string what, string value) => table.Append(CultureInfo.InvariantCulture, $"| {what} | {value} |\n");
            table.Append("| measure | value |\n|---|---|\n");
            if (control is not null)
            {
                Row("devices enrolled / asked", $"{control.Enrolled} / {options.Devices}");
                Row("enrolment: EdgeDevices applied / tokens / enrolled / first bundles (all N)", enrolment);
                Row("key pair + CSR (agent's code, ECDSA P-256)", $"{keyMs:F2} ms each ({KeyTimingSamples} made)");
                Row("devices applied (gateway's view)", $"{applied} / {options.Devices}");
                Row("long-polls open (gateway, end of sending)", $"{longPolls}");
                Row("long-polls deferred by fleet.maxHeldPolls while sending / per second",
                    $"{deferredEnd - deferredStart} / {(deferredEnd - deferredStart) / sendSeconds:F1}");
                Row("gateway HTTP connections open, HTTP + fleet listener (end of sending)", $"{httpConnections}");
                Row("control-plane requests/s (bundle + status)",
                    $"{controlRate:F1} ({bundlesEnd - bundlesStart} bundle, {statusEnd - statusStart} status in {sendSeconds:F1} s)");
                Row("enrolment failures / agent warnings and errors", $"{counters.EnrolFailures} / {control.Log.Problems}");
            }

            if (options.SendsData)
            {
                Row("devices connected / asked", $"{counters.Connected} / {options.Devices} (in {connectSeconds:F1} s)");
            }

            Row("sending", Describe(options, sendSeconds));
            Row("syslog lines sent / stored / lost", $"{counters.Lines} / {storedLines} / {linesLost}");
            Row("samples sent (2xx) / stored / lost", $"{counters.Samples} / {storedSamples} / {samplesLost}");
            if (control is not null)
            {
                Row("lines / samples bound to a device certificate", $"{boundLines} / {boundSamples}");
            }

            Row("remote-write requests / retried (429, 503) / failed", $"{counters.Requests} / {counters.RequestRetries} / {counters.RequestFailures}");
            Row("connect failures / write failures", $"{counters.ConnectFailures} / {counters.WriteFailures}");
            Row("ingest-to-searchable p50 / p99 (probes)", $"{searchable.P50:F3} s / {searchable.P99:F3} s ({searchable.Count})");
            Row("ingest-to-queryable p50 / p99 (probes)", $"{queryable.P50:F3} s / {queryable.P99:F3} s ({queryable.Count})");
            Row("probes not found within 60 s / found in the warm-up (not counted)", $"{run.Probes.TimedOut} / {run.Probes.WarmupFound}");
            if (control is null)
            {
                Row("gateway RSS before / connected / end of sending", $"{Mib(rssBefore)} / {Mib(rssConnected)} / {Mib(rssEnd)} MiB");
            }
            else
            {
                Row("gateway RSS before / enrolled / connected / end of sending",
                    $"{Mib(rssBefore)} / {Mib(rssEnrolled)} / {Mib(rssConnected)} / {Mib(rssEnd)} MiB");
            }

            // RSS less the managed heap is mostly native: TLS state of the connections (OpenSSL), certificates, code.
            Row("gateway managed heap / GC committed (end of sending)", $"{Mib((long)heapEnd)} / {Mib((long)committedEnd)} MiB");
            Row(options.WarmupSeconds > 0 ? "gateway CPU while sending (after the warm-up)" : "gateway CPU while sending", $"{cpuCores:F2} cores");
            if (options.ControlPlaneOnly)
            {
                // Read with no data, this is the control plane's own cost: the figure the fleet's sizing asks for.
                var thousands = options.Devices / 1000.0;
                var rssGrowth = rssBefore >= 0 && rssEnd >= 0 ? Mib((long)((rssEnd - rssBefore) / thousands)) : "n/a";
                Row("gateway CPU / RSS growth per 1,000 devices",
                    string.Create(CultureInfo.InvariantCulture, $"{cpuCores / thousands:F3} cores / {rssGrowth} MiB"));
            }

            Row("load average (1, 5, 15 min)", load);
            await Console.Out.WriteAsync(table.ToString()).ConfigureAwait(false);
            if ((counters.FirstError ?? control?.Log.First) is { } first)
            {
                await Console.Out.WriteLineAsync("first error: " + first).ConfigureAwait(false);
            }

            if (counters.FirstError is not null && control?.Log.First is { } firstAgentProblem)
            {
                await Console.Out.WriteLineAsync("first agent warning: " + firstAgentProblem).ConfigureAwait(false);
            }

            var fleetPart = control is null
                ? string.Empty
                : string.Create(CultureInfo.InvariantCulture, $"{control.Enrolled} enrolled, {longPolls} long-polls, {controlRate:F1} control-plane req/s, ");
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"fleet: {(options.SendsData ? counters.Connected : control!.Enrolled)} devices, {fleetPart}"
                + $"{(counters.Lines - linesStart) / sendSeconds:F0} msg/s, {(counters.Samples - samplesStart) / sendSeconds:F0} samples/s, "
                + $"ingest-to-searchable p50 {searchable.P50:F3} s p99 {searchable.P99:F3} s, ingest-to-queryable p99 {queryable.P99:F3} s, "
                + $"gateway RSS {Mib(rssEnd)} MiB, CPU {cpuCores:F2} cores")).ConfigureAwait(false);
            var controlOk = control is null || (control.Enrolled == options.Devices && applied == options.Devices && control.Log.Problems == 0);
            return linesLost == 0 && samplesLost == 0 && errors == 0 && run.Probes.TimedOut == 0 && controlOk ? 0 : 1;
        }
        finally
        {
            foreach (var d in devices)
            {
                d.Dispose();
            }

            if (control is not null)
            {
                await control.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The "sending" row: rates, transport, warm-up.</summary>
    private static string Describe(FleetOptions options, double sendSeconds)
    {
        var what = options.SendsData
            ? string.Create(CultureInfo.InvariantCulture,
                $"{options.LinesPerSecond:0.###} lines/s and {options.Series} series every {options.IntervalSeconds} s per device")
            : "no data (control plane only)";
        var transport = (options.SendsData, options.Enrol, options.Tls) switch
        {
            (false, _, _) => string.Empty,
            (true, true, true) => ", TLS syslog and remote write to the fleet listener, both with the device certificate",
            (true, true, false) => ", TCP syslog, remote write to the fleet listener with the device certificate",
            (true, false, true) => ", TLS",
            _ => string.Empty,
        };
        var warmup = options.WarmupSeconds > 0 ? string.Create(CultureInfo.InvariantCulture, $" after {options.WarmupSeconds} s of warm-up") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{sendSeconds:F1} s{warmup}, {what}{transport}");
    }

    /// <summary>The enrolment phases (timed) and the data plane's switch to each device's certificate.</summary>
    private static async Task<string> EnrolAsync(ControlPlane control, string[] names, Device[] devices, Uri fleet, Stopwatch clock)
    {
        var start = clock.Elapsed;
        await control.ApplyDevicesAsync(names).ConfigureAwait(false);
        var applied = clock.Elapsed;
        var tokens = await control.CreateTokensAsync(names).ConfigureAwait(false);
        var created = clock.Elapsed;
        // 10 minutes, or 0.15 s per device when that is longer: on a loaded 2-core machine (load average 20) enrolment
        // and first bundles took 65 ms per device with 64 in flight, 11 minutes for 10,000.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(600, names.Length * 0.15)));
        var enrolled = await control.EnrolAsync(names, tokens, deadline.Token).ConfigureAwait(false);
        var enrolledAt = clock.Elapsed;
        await control.StartAsync(deadline.Token).ConfigureAwait(false);
        var bundled = clock.Elapsed;
        for (var i = 0; i < devices.Length; i++)
        {
            if (enrolled[i] is { } device)
            {
                devices[i].UseIdentity(device, fleet);
            }
        }

        var text = string.Create(CultureInfo.InvariantCulture,
            $"{(applied - start).TotalSeconds:F1} s / {(created - applied).TotalSeconds:F1} s / "
            + $"{(enrolledAt - created).TotalSeconds:F1} s / {(bundled - enrolledAt).TotalSeconds:F1} s");
        await Console.Error.WriteLineAsync($"flotel-fleetsim: {control.Enrolled} of {names.Length} devices enrolled ({text})").ConfigureAwait(false);
        return text;
    }

    /// <summary>Milliseconds per key pair and CSR, made as the agent makes them at enrolment.</summary>
    private static double TimeKeyPairs()
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < KeyTimingSamples; i++)
        {
            using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            _ = Flotel.Agent.Fleet.FleetEnrolment.CreateCsr(key);
        }

        return watch.Elapsed.TotalMilliseconds / KeyTimingSamples;
    }

    /// <summary>Connects every device's syslog connection: bounded concurrency keeps the gateway's accept backlog from overflowing.</summary>
    private static async Task<double> ConnectAsync(Device[] devices, IPEndPoint syslog, bool tls, bool clientCertificates, Stopwatch clock)
    {
        var start = clock.Elapsed;
        // With client certificates (TLS 1.3) a client's handshake ends before the server has checked its certificate;
        // a server that then runs past its 10 s handshake bound closes a connection the client counts as open. 64 in
        // flight keeps a loaded 2-core gateway within that bound (256 did not, at 1,000 devices and load average 28).
        using var connecting = new SemaphoreSlim(tls && clientCertificates ? 64 : 256);
        using var connectDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await Task.WhenAll(devices.Select(async d =>
        {
            await connecting.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await d.ConnectAsync(syslog, tls, connectDeadline.Token).ConfigureAwait(false);
            }
            finally
            {
                connecting.Release();
            }
        })).ConfigureAwait(false);
        return (clock.Elapsed - start).TotalSeconds;
    }

    /// <summary>Waits (at most the settle time) until the stores hold every line and sample sent; their counts.</summary>
    private static async Task<(long Lines, long Samples)> SettleAsync(FleetOptions options, HttpClient http, FleetRun run, Stopwatch clock)
    {
        long storedLines = -1, storedSamples = -1;
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(options.SettleSeconds))
        {
            // The window ends now and must reach back to the run's first sample: it grows while the settle time passes.
            var window = (int)Math.Ceiling(clock.Elapsed.TotalSeconds) + 60;
            storedLines = await CountLinesAsync(http, run.RunToken).ConfigureAwait(false);
            storedSamples = await CountSamplesAsync(http, run.RunId, window).ConfigureAwait(false);
            if (storedLines >= run.Counters.Lines && storedSamples >= run.Counters.Samples)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }

        return (storedLines, storedSamples);
    }

    private static string Mib(long bytes) => bytes < 0 ? "n/a" : (bytes / 1024.0 / 1024).ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>Lines of this run in the log store: <c>_count</c> of the run's token.</summary>
    private static async Task<long> CountLinesAsync(HttpClient http, string token)
    {
        try
        {
            using var body = new StringContent("{\"query\":{\"match\":{\"message\":\"" + token + "\"}}}", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri("logstash-*/_count", UriKind.Relative), body).ConfigureAwait(false);
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
            return json.RootElement.GetProperty("count").GetInt64();
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException or KeyNotFoundException or InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Samples of this run's devices in the metric store: a PromQL count over a window covering the run.</summary>
    private static async Task<long> CountSamplesAsync(HttpClient http, string runId, int windowSeconds)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"sum(count_over_time({{edgedeviceid=~\"fleet{runId}-.*\"}}[{windowSeconds}s]))");
        try
        {
            using var response = await http.GetAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(query), UriKind.Relative)).ConfigureAwait(false);
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? 0 : (long)double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException or KeyNotFoundException or InvalidOperationException)
        {
            return -1;
        }
    }
}
