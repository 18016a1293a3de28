using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.FleetSim;

/// <summary>Totals shared by every device; fields, so they can be incremented with <see cref="Interlocked"/>.</summary>
internal sealed class FleetCounters
{
    public long Connected;
    public long ConnectFailures;
    public long WriteFailures;
    public long Lines;
    public long Requests;
    public long RequestFailures;
    public long RequestRetries;
    public long Samples;
    public long EnrolFailures;
    public string? FirstError;

    public void Fail(ref long counter, string what)
    {
        Interlocked.Increment(ref counter);
        Interlocked.CompareExchange(ref FirstError, what, null);
    }
}

/// <summary>
/// One simulated device: a persistent syslog connection writing lines in the Flotta layout (DW
/// <c>internal/logs/syslog_transport.go</c>, docs/reference/flotta-device-worker.md §3.6) with the device name as
/// HOSTNAME, and a remote-write request of its series every interval, labelled <c>edgedeviceid</c> like the agent's
/// (<c>src/Flotel.Agent/Metrics/ScrapeBuilder.cs</c>). Both run as async loops on timers: no thread per device.
/// An enrolled device (<see cref="UseIdentity"/>) sends as the agent does with a fleet identity (docs/fleet.md §6): its
/// remote write goes to the fleet listener over its control plane's HTTP/2 connection, and its TLS syslog connection presents its
/// certificate; both trust the fleet CA.
/// </summary>
internal sealed class Device(string name, FleetRun run) : IDisposable
{
    /// <summary>Flotta's default allow-list names (a node_exporter subset); series k is name k mod 12, cpu k / 12.</summary>
    private static readonly string[] Names =
    [
        "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_load1",
        "node_load5", "node_load15", "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
        "node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_disk_read_bytes_total",
        "node_disk_written_bytes_total",
    ];

    private Stream? _syslog;
    private Socket? _socket;
    private FleetDevice? _fleet;
    private HttpClient? _http;

    public string Name => name;

    /// <summary>The selector of this device's first series (the queryable probe's target).</summary>
    public string FirstSeriesSelector => Names[0] + "{edgedeviceid=\"" + name + "\",cpu=\"0\"}";

    /// <summary>Sends from now on with <paramref name="fleet"/>'s certificate; remote write to <paramref name="fleetListener"/>.</summary>
    public void UseIdentity(FleetDevice fleet, Uri fleetListener)
    {
        _fleet = fleet;
        // The agent's connection pool to the fleet listener: remote write rides the control plane's HTTP/2 connection.
        _http = new HttpClient(fleet.Identity.FleetListenerHandler, disposeHandler: false)
        {
            BaseAddress = fleetListener,
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }

    public async Task ConnectAsync(IPEndPoint syslog, bool tls, CancellationToken cancel)
    {
        var socket = new Socket(syslog.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(syslog, cancel).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (tls)
            {
                // Loopback benchmark against a gateway with a self-signed certificate: any certificate is accepted.
#pragma warning disable CA5359
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
#pragma warning restore CA5359
                var options = new SslClientAuthenticationOptions { TargetHost = "127.0.0.1" };
                if (_fleet is not null)
                {
                    // The agent presents its device certificate on every TLS connection to the gateway (docs/fleet.md §6).
                    options.LocalCertificateSelectionCallback = _fleet.Identity.CertificateSelector;
                }

                await ssl.AuthenticateAsClientAsync(options, cancel).ConfigureAwait(false);
                stream = ssl;
            }

            _socket = socket;
            _syslog = stream;
            Interlocked.Increment(ref run.Counters.Connected);
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            socket.Dispose();
            run.Counters.Fail(ref run.Counters.ConnectFailures, $"{name}: connect: {e.Message}");
        }
    }

    /// <summary>Writes L lines a second until <paramref name="stop"/>, the first after a random part of one period.</summary>
    public async Task SendLinesAsync(CancellationToken stop)
    {
        if (_syslog is null || run.Options.LinesPerSecond <= 0)
        {
            return;
        }

        var period = TimeSpan.FromSeconds(1 / run.Options.LinesPerSecond);
        var next = run.Clock.Elapsed + (period * Random.Shared.NextDouble());
        var pid = 1000 + (name.GetHashCode(StringComparison.Ordinal) & 0x7fff);
        var container = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name)));
        long seq = 0;
        try
        {
            while (true)
            {
                var wait = next - run.Clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop).ConfigureAwait(false);
                }

                var probe = run.Probes.TryReserveLine() ? run.ProbeToken() : null;
                // <PRI>RFC3339 HOSTNAME workload[pid]: <container id>: <line>\n\n — Flotta appends "\n" to a body that
                // already ends with one (the blank line is ignored by the gateway's framer).
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"<6>{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssK} {name} fleet-workload[{pid}]: {container}: {run.RunToken} seq {seq} level=info msg=\"request served\" {probe}\n\n");
                await _syslog.WriteAsync(Encoding.UTF8.GetBytes(line), stop).ConfigureAwait(false);
                Interlocked.Increment(ref run.Counters.Lines);
                if (probe is not null)
                {
                    run.Probes.FollowLine(probe, Stopwatch.GetTimestamp());
                }

                seq++;
                next += period;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the run's time is over
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            run.Counters.Fail(ref run.Counters.WriteFailures, $"{name}: syslog write: {e.Message}");
        }
    }

    /// <summary>Sends one request of K series every interval until <paramref name="stop"/>, the first at a random point of the first interval.</summary>
    public async Task SendMetricsAsync(CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(run.Options.IntervalSeconds);
        var next = run.Clock.Elapsed + (interval * Random.Shared.NextDouble());
        var labels = new LabelSet[run.Options.Series];
        for (var k = 0; k < labels.Length; k++)
        {
            labels[k] = LabelSet.Of(
                Label.MetricNameLabel, Names[k % Names.Length],
                "cpu", (k / Names.Length).ToString(CultureInfo.InvariantCulture),
                "edgedeviceid", name,
                "instance", "localhost:9100",
                "job", "node",
                "metric-source", "node-exporter");
        }

        long tick = 0;
        try
        {
            while (true)
            {
                var wait = next - run.Clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop).ConfigureAwait(false);
                }

                var timestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var series = new TimeSeries[labels.Length];
                for (var k = 0; k < series.Length; k++)
                {
                    series[k] = new TimeSeries(labels[k], [new Sample(timestampMs, (tick * (k + 1)) + k)]);
                }

                var body = RemoteWriteCodec.Encode(new WriteRequest(series));
                if (await PostAsync(body, stop).ConfigureAwait(false))
                {
                    Interlocked.Add(ref run.Counters.Samples, series.Length);
                    if (run.Probes.TryReserveSeries())
                    {
                        run.Probes.FollowSeries(FirstSeriesSelector, timestampMs, Stopwatch.GetTimestamp());
                    }
                }

                tick++;
                next += interval;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the run's time is over
        }
    }

    /// <summary>Ends the connection as a device does on shutdown: FIN after the last line, so every line is framed.</summary>
    public async Task CloseAsync()
    {
        if (_syslog is null)
        {
            return;
        }

        try
        {
            await _syslog.FlushAsync().ConfigureAwait(false);
            if (_syslog is SslStream ssl)
            {
                await ssl.ShutdownAsync().ConfigureAwait(false);
            }

            _socket?.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // already broken: counted when the write failed
        }

        await _syslog.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose() => _http?.Dispose();

    /// <summary>Posts like a remote-write sender: 429/503 are retried with backoff (up to 3 times), anything else non-2xx is an error.</summary>
    private async Task<bool> PostAsync(byte[] body, CancellationToken stop)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(RemoteWriteHeaders.ContentType);
            content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/write", UriKind.Relative))
            {
                Content = content,
                Version = (_http ?? run.Http).DefaultRequestVersion,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            };
            request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
            string failure;
            try
            {
                // Not cancelled by the end of the run: a request under way is finished, as an agent stopping would.
                using var response = await (_http ?? run.Http).SendAsync(request, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref run.Counters.Requests);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                failure = $"{name}: remote write: HTTP {(int)response.StatusCode}";
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && attempt < 3 && !stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref run.Counters.RequestRetries);
                    await Task.Delay(TimeSpan.FromSeconds(attempt + 1), stop).ConfigureAwait(false);
                    continue;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // .NET's message is generic ("An error occurred while sending the request"): the cause is the inner one.
                failure = e.InnerException is { } cause ? $"{name}: remote write: {e.Message} ({cause.Message})" : $"{name}: remote write: {e.Message}";
            }

            run.Counters.Fail(ref run.Counters.RequestFailures, failure);
            return false;
        }
    }
}
