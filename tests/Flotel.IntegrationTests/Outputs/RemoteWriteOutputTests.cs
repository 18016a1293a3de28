using System.Globalization;
using System.Text.Json.Nodes;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>
/// The <c>remote_write</c> output against a REAL Prometheus (2.42, <c>--web.enable-remote-write-receiver</c>) and a
/// REAL VictoriaMetrics (1.79): every sample arrives, also when the receiver is stopped for 20 s and restarted on the
/// same port and data directory, and a receiver being down stalls neither the other output nor the embedded store.
/// Samples go in through the gateway's own remote-write input, as a device's agent would send them.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class RemoteWriteOutputTests : IDisposable
{
    private const string Metric = "flotel_rw_it";
    private const int Series = 3;
    private const int SamplesPerPhase = 150;
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(20);
    private readonly string _root = PeerProcess.CreateTempDirectory("rw-output");
    private readonly long _baseMs = DateTimeOffset.UtcNow.AddMinutes(-20).ToUnixTimeMilliseconds() / 1000 * 1000;

    public void Dispose() => GatewayTestKit.DeleteDirectory(_root);

    [Fact]
    public async Task RemoteWrite_PrometheusStoppedAndRestarted_EverySampleArrivesInOrderWhileVictoriaMetricsAndStoreKeepFlowing()
    {
        var prometheus = await StartPrometheusAsync(port: null);
        using var victoria = await StartVictoriaMetricsAsync(port: null);
        try
        {
            await using var gateway = await InProcessGateway.StartAsync(o =>
            {
                o.Outputs.Add(Output("prom", prometheus.BaseUrl + "/api/v1/write"));
                o.Outputs.Add(Output("vm", victoria.BaseUrl + "/api/v1/write"));
            });

            await SendPhaseAsync(gateway, 0);
            Assert.True(await Eventually.PollAsync(async () => await PrometheusSamplesAsync(prometheus) == Expected(1), TimeSpan.FromSeconds(60)), "phase 0 did not reach Prometheus");

            Assert.True(await prometheus.TerminateAsync(TimeSpan.FromSeconds(30)), "Prometheus did not stop on SIGTERM");
            var port = prometheus.Port;
            prometheus.Dispose();
            await SendPhaseAsync(gateway, 1);

            // While Prometheus is down: the other output and the embedded store get phase 1.
            Assert.True(await Eventually.PollAsync(async () => await VictoriaSamplesAsync(victoria) == Expected(2), TimeSpan.FromSeconds(60)), "VictoriaMetrics stalled while Prometheus was down");
            Assert.True(await Eventually.PollAsync(async () => await StoreCountAsync(gateway) == 2 * SamplesPerPhase, TimeSpan.FromSeconds(60)), "the embedded store stalled while Prometheus was down");
            await Task.Delay(Downtime);
            Assert.True(gateway.Host.Metrics.Sum("flotel_output_requests_total", ("output", "prom"), ("result", "retry")) > 0, "the prom output never retried");

            prometheus = await StartPrometheusAsync(port);
            await SendPhaseAsync(gateway, 2);
            string? last = null;
            var arrived = await Eventually.PollAsync(async () => (last = await PrometheusSamplesAsync(prometheus)) == Expected(3), TimeSpan.FromSeconds(90));
            Assert.True(arrived, "Prometheus after restart has:\n" + last + "\nexpected:\n" + Expected(3));
            Assert.Equal(0, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "prom"), ("result", "dead_lettered")));
            Assert.True(await Eventually.PollAsync(async () => await VictoriaSamplesAsync(victoria) == Expected(3), TimeSpan.FromSeconds(60)), "phase 2 did not reach VictoriaMetrics");
        }
        finally
        {
            prometheus.Dispose();
        }
    }

    [Fact]
    public async Task RemoteWrite_VictoriaMetricsStoppedAndRestartedOnSameData_EverySampleArrives()
    {
        var victoria = await StartVictoriaMetricsAsync(port: null);
        try
        {
            await using var gateway = await InProcessGateway.StartAsync(o => o.Outputs.Add(Output("vm", victoria.BaseUrl + "/api/v1/write")));

            await SendPhaseAsync(gateway, 0);
            Assert.True(await Eventually.PollAsync(async () => await VictoriaSamplesAsync(victoria) == Expected(1), TimeSpan.FromSeconds(60)), "phase 0 did not reach VictoriaMetrics");

            Assert.True(await victoria.TerminateAsync(TimeSpan.FromSeconds(30)), "VictoriaMetrics did not stop on SIGTERM");
            var port = victoria.Port;
            victoria.Dispose();
            await SendPhaseAsync(gateway, 1);
            await Task.Delay(Downtime);

            victoria = await StartVictoriaMetricsAsync(port);
            await SendPhaseAsync(gateway, 2);
            string? last = null;
            var arrived = await Eventually.PollAsync(async () => (last = await VictoriaSamplesAsync(victoria)) == Expected(3), TimeSpan.FromSeconds(90));
            Assert.True(arrived, "VictoriaMetrics after restart has:\n" + last + "\nexpected:\n" + Expected(3));
            Assert.Equal(0, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "vm"), ("result", "dead_lettered")));
        }
        finally
        {
            victoria.Dispose();
        }
    }

    private static RemoteWriteOptions Output(string name, string url)
    {
        var options = new RemoteWriteOptions { Name = name, MaxSamplesPerSend = 100 };
        options.Http.Url = new Uri(url);
        options.Http.Timeout = TimeSpan.FromSeconds(5);
        options.Http.MinBackoff = TimeSpan.FromMilliseconds(100);
        options.Http.MaxBackoff = TimeSpan.FromSeconds(1);
        return options;
    }

    private long Timestamp(int n) => _baseMs + (n * 1000L);

    /// <summary>Phase p holds samples p·N … p·N+N−1 of every series, sent in 5 requests as an agent would.</summary>
    private async Task SendPhaseAsync(InProcessGateway gateway, int phase)
    {
        const int perRequest = SamplesPerPhase / 5;
        for (var r = 0; r < 5; r++)
        {
            var series = new List<TimeSeries>();
            for (var s = 0; s < Series; s++)
            {
                var samples = new List<Sample>();
                for (var i = 0; i < perRequest; i++)
                {
                    var n = (phase * SamplesPerPhase) + (r * perRequest) + i;
                    samples.Add(new Sample(Timestamp(n), n + (s * 0.25)));
                }

                series.Add(new TimeSeries(LabelSet.Of("__name__", Metric, "series", s.ToString(CultureInfo.InvariantCulture), "job", "it"), samples));
            }

            using var request = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest(series)));
            using var response = await gateway.Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, "gateway remote write answered " + (int)response.StatusCode);
        }
    }

    /// <summary>The expected samples of the first <paramref name="phases"/> phases, one line per series: "s: ts=v ts=v …".</summary>
    private string Expected(int phases)
    {
        var lines = new List<string>();
        for (var s = 0; s < Series; s++)
        {
            var values = Enumerable.Range(0, phases * SamplesPerPhase)
                .Select(n => string.Create(CultureInfo.InvariantCulture, $"{Timestamp(n)}={n + (s * 0.25)}"));
            lines.Add(s.ToString(CultureInfo.InvariantCulture) + ": " + string.Join(' ', values));
        }

        return string.Join('\n', lines);
    }

    private static string Render(SortedDictionary<string, List<(long Ts, double Value)>> bySeries) =>
        string.Join('\n', bySeries.Select(kv => kv.Key + ": " + string.Join(' ', kv.Value.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Ts}={p.Value}")))));

    /// <summary>Every raw sample Prometheus holds, via an instant query of a range selector (returns raw samples).</summary>
    private async Task<string> PrometheusSamplesAsync(PeerProcess prometheus)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var time = ((Timestamp(3 * SamplesPerPhase) / 1000) + 1).ToString(CultureInfo.InvariantCulture);
        var url = $"{prometheus.BaseUrl}/api/v1/query?query={Uri.EscapeDataString(Metric + "[2h]")}&time={time}";
        try
        {
            var json = JsonNode.Parse(await http.GetStringAsync(new Uri(url)))!;
            var bySeries = new SortedDictionary<string, List<(long, double)>>(StringComparer.Ordinal);
            foreach (var result in json["data"]!["result"]!.AsArray())
            {
                bySeries[(string)result!["metric"]!["series"]!] = result["values"]!.AsArray()
                    .Select(v => ((long)Math.Round((double)v![0]! * 1000), double.Parse((string)v[1]!, CultureInfo.InvariantCulture))).ToList();
            }

            return Render(bySeries);
        }
        catch (HttpRequestException e)
        {
            return "unreachable: " + e.Message;
        }
    }

    /// <summary>Every raw sample VictoriaMetrics holds (<c>/api/v1/export</c>: JSON lines, timestamps sorted); duplicates from at-least-once resends collapse.</summary>
    private static async Task<string> VictoriaSamplesAsync(PeerProcess victoria)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var text = await http.GetStringAsync(new Uri(victoria.BaseUrl + "/api/v1/export?match[]=" + Metric));
            var bySeries = new SortedDictionary<string, List<(long, double)>>(StringComparer.Ordinal);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var json = JsonNode.Parse(line)!;
                var timestamps = json["timestamps"]!.AsArray().Select(t => (long)t!).ToArray();
                var values = json["values"]!.AsArray().Select(v => (double)v!).ToArray();
                bySeries[(string)json["metric"]!["series"]!] = timestamps.Zip(values).Distinct().ToList();
            }

            return Render(bySeries);
        }
        catch (HttpRequestException e)
        {
            return "unreachable: " + e.Message;
        }
    }

    private async Task<long> StoreCountAsync(InProcessGateway gateway)
    {
        var result = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count_over_time({Metric}{{series=\"0\"}}[2h])", (Timestamp(3 * SamplesPerPhase) / 1000) + 1);
        return result is { Count: 1 } ? long.Parse((string)result[0]!["value"]![1]!, CultureInfo.InvariantCulture) : 0;
    }

    private Task<PeerProcess> StartPrometheusAsync(int? port)
    {
        var run = Directory.CreateDirectory(Path.Combine(_root, "prometheus-run-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.WriteAllText(Path.Combine(run, "prometheus.yml"), "global:\n  scrape_interval: 15s\n");
        return PeerProcess.StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (p, dir) =>
            [
                "--config.file=" + Path.Combine(dir, "prometheus.yml"),
                "--storage.tsdb.path=" + Path.Combine(_root, "prometheus-data"),
                "--web.listen-address=127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture),
                "--web.enable-remote-write-receiver",
            ],
            "/-/ready", run, port);
    }

    private Task<PeerProcess> StartVictoriaMetricsAsync(int? port)
    {
        var run = Directory.CreateDirectory(Path.Combine(_root, "vm-run-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        return PeerProcess.StartAsync(
            "/usr/bin/victoria-metrics", "victoria-metrics",
            (p, _) =>
            [
                "-httpListenAddr=127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture),
                "-storageDataPath=" + Path.Combine(_root, "vm-data"),
                "-search.latencyOffset=0s",
                "-search.disableCache",
            ],
            "/health", run, port);
    }
}
