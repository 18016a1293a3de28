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
/// The fleet simulator (bench/fleet/run.sh): N devices against one gateway on loopback, for sizing a gateway.
/// Phases: connect every device (at most 256 connects in flight), send for the given seconds with each device's lines
/// and requests jittered over their period, close the connections, then wait until the gateway holds every line and
/// sample sent (or the settle time ends) and print the table. Exit code 0 = nothing lost and no errors.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => BenchOptions.RunAsync(FleetOptions.CreateCommand(SimulateAsync), "flotel-fleetsim", args);

    private static async Task<int> SimulateAsync(FleetOptions options)
    {
        GatewayProcess? started = null;
        try
        {
            Uri gateway;
            IPEndPoint syslog;
            int? pid;
            if (options.Gateway is null)
            {
                await Console.Error.WriteLineAsync("flotel-fleetsim: starting flotel gateway").ConfigureAwait(false);
                started = await GatewayProcess.StartAsync(options.FlotelDll!, options.Tls).ConfigureAwait(false);
                (gateway, syslog, pid) = (started.Http, started.Syslog, started.Pid);
            }
            else
            {
                gateway = options.Gateway.AbsoluteUri.EndsWith('/') ? options.Gateway : new Uri(options.Gateway.AbsoluteUri + "/");
                (syslog, pid) = (options.Syslog!, options.GatewayPid);
            }

            var code = await RunAsync(options, gateway, syslog, pid).ConfigureAwait(false);
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

    private static async Task<int> RunAsync(FleetOptions options, Uri gateway, IPEndPoint syslog, int? pid)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        using var http = new HttpClient(handler) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        var clock = Stopwatch.StartNew();
        var run = new FleetRun(options, http, clock);
        var rssBefore = pid is { } p0 ? ProcStat.RssBytes(p0) : -1;
        var devices = new Device[options.Devices];
        for (var i = 0; i < devices.Length; i++)
        {
            devices[i] = new Device(string.Create(CultureInfo.InvariantCulture, $"fleet{run.RunId}-{i:D5}"), run);
        }

        // Connect phase: bounded concurrency keeps the gateway's accept backlog from overflowing.
        using (var connecting = new SemaphoreSlim(256))
        using (var connectDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            await Task.WhenAll(devices.Select(async d =>
            {
                await connecting.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await d.ConnectAsync(syslog, options.Tls, connectDeadline.Token).ConfigureAwait(false);
                }
                finally
                {
                    connecting.Release();
                }
            })).ConfigureAwait(false);
        }

        var connectSeconds = clock.Elapsed.TotalSeconds;
        var rssConnected = pid is { } p1 ? ProcStat.RssBytes(p1) : -1;
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"flotel-fleetsim: {run.Counters.Connected} of {devices.Length} devices connected in {connectSeconds:F1} s; sending for {options.Seconds} s")).ConfigureAwait(false);

        // Send phase.
        var cpuStart = pid is { } p2 ? ProcStat.CpuSeconds(p2) : -1;
        var sendStart = clock.Elapsed;
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds)))
        {
            var loops = new List<Task>(devices.Length * 2);
            foreach (var d in devices)
            {
                loops.Add(d.SendLinesAsync(stop.Token));
                loops.Add(d.SendMetricsAsync(stop.Token));
            }

            await Task.WhenAll(loops).ConfigureAwait(false);
        }

        var sendSeconds = (clock.Elapsed - sendStart).TotalSeconds;
        var cpuEnd = pid is { } p3 ? ProcStat.CpuSeconds(p3) : -1;
        var rssEnd = pid is { } p4 ? ProcStat.RssBytes(p4) : -1;
        await Task.WhenAll(devices.Select(d => d.CloseAsync())).ConfigureAwait(false);

        // Settle phase: the probes finish, then the counts must reach what was sent.
        await run.Probes.WaitAsync().ConfigureAwait(false);
        var counters = run.Counters;
        var window = (int)Math.Ceiling(clock.Elapsed.TotalSeconds) + 60;
        long storedLines = -1, storedSamples = -1;
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(options.SettleSeconds))
        {
            storedLines = await CountLinesAsync(http, run.RunToken).ConfigureAwait(false);
            storedSamples = await CountSamplesAsync(http, run.RunId, window).ConfigureAwait(false);
            if (storedLines >= counters.Lines && storedSamples >= counters.Samples)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }

        var searchable = run.Probes.Searchable();
        var queryable = run.Probes.Queryable();
        var linesLost = counters.Lines - storedLines;
        var samplesLost = counters.Samples - storedSamples;
        var errors = counters.ConnectFailures + counters.WriteFailures + counters.RequestFailures;
        var cpuCores = cpuStart >= 0 && cpuEnd >= 0 ? (cpuEnd - cpuStart) / sendSeconds : double.NaN;
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

        var table = new StringBuilder();
        void Row(string what, string value) => table.Append(CultureInfo.InvariantCulture, $"| {what} | {value} |\n");
        table.Append("| measure | value |\n|---|---|\n");
        Row("devices connected / asked", $"{counters.Connected} / {options.Devices} (in {connectSeconds:F1} s)");
        Row("sending", $"{sendSeconds:F1} s, {options.LinesPerSecond:0.###} lines/s and {options.Series} series every {options.IntervalSeconds} s per device{(options.Tls ? ", TLS" : string.Empty)}");
        Row("syslog lines sent / stored / lost", $"{counters.Lines} / {storedLines} / {linesLost}");
        Row("samples sent (2xx) / stored / lost", $"{counters.Samples} / {storedSamples} / {samplesLost}");
        Row("remote-write requests / retried (429, 503) / failed", $"{counters.Requests} / {counters.RequestRetries} / {counters.RequestFailures}");
        Row("connect failures / write failures", $"{counters.ConnectFailures} / {counters.WriteFailures}");
        Row("ingest-to-searchable p50 / p99 (probes)", $"{searchable.P50:F3} s / {searchable.P99:F3} s ({searchable.Count})");
        Row("ingest-to-queryable p50 / p99 (probes)", $"{queryable.P50:F3} s / {queryable.P99:F3} s ({queryable.Count})");
        Row("probes not found within 60 s", $"{run.Probes.TimedOut}");
        Row("gateway RSS before / connected / end of sending", $"{Mib(rssBefore)} / {Mib(rssConnected)} / {Mib(rssEnd)} MiB");
        Row("gateway CPU while sending", $"{cpuCores:F2} cores");
        Row("load average (1, 5, 15 min)", load);
        await Console.Out.WriteAsync(table.ToString()).ConfigureAwait(false);
        if (counters.FirstError is not null)
        {
            await Console.Out.WriteLineAsync("first error: " + counters.FirstError).ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"fleet: {counters.Connected} devices, {counters.Lines / sendSeconds:F0} msg/s, {counters.Samples / sendSeconds:F0} samples/s, ingest-to-searchable p50 {searchable.P50:F3} s p99 {searchable.P99:F3} s, ingest-to-queryable p99 {queryable.P99:F3} s, gateway RSS {Mib(rssEnd)} MiB, CPU {cpuCores:F2} cores")).ConfigureAwait(false);
        return linesLost == 0 && samplesLost == 0 && errors == 0 && run.Probes.TimedOut == 0 ? 0 : 1;
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
