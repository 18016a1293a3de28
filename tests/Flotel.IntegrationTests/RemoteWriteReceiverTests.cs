using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests;

/// <summary>Bytes encoded by Flotel, POSTed to real remote-write receivers, come back exactly from their query APIs.</summary>
[Collection(PeerCollection.Name)]
public sealed class RemoteWriteReceiverTests
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Three series with recent timestamps (last minutes), unusual values, unsorted label input and an empty-valued label.</summary>
    private static (WriteRequest Request, string Metric) RecentRequest()
    {
        var metric = "flotel_it_" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var series = new List<TimeSeries>();
        for (var i = 0; i < 3; i++)
        {
            var labels = new LabelSet(
            [
                new Label("zone", "z" + i.ToString(CultureInfo.InvariantCulture)),
                new Label("__name__", metric),
                new Label("edgedeviceid", "device-é€"),
                new Label("empty", string.Empty),
                new Label("job", "flotel"),
            ]);
            series.Add(new TimeSeries(labels,
            [
                new Sample(now - 120_000 + i, 0.1 + i),
                new Sample(now - 60_000 + i, -1234.5678e-3),
                new Sample(now - 1_000 + i, 31191040 + i),
            ]));
        }

        return (new WriteRequest(series), metric);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string url, WriteRequest request)
    {
        var content = new ByteArrayContent(RemoteWriteCodec.Encode(request));
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        message.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        message.Headers.UserAgent.Add(new ProductInfoHeaderValue("flotel-it", "0.1"));
        return await http.SendAsync(message);
    }

    /// <summary>Expected (labels without empty ones → [(ms, value)]) from the request, keyed by the zone label.</summary>
    private static Dictionary<string, (Dictionary<string, string> Labels, List<(long, double)> Samples)> Expected(WriteRequest request) =>
        request.Series.ToDictionary(
            s => s.Labels.TryGetValue("zone", out var z) ? z : string.Empty,
            s => (s.Labels.Where(l => l.Value.Length > 0).ToDictionary(l => l.Name, l => l.Value), s.Samples.Select(x => (x.TimestampMs, x.Value)).ToList()));

    [Fact]
    public async Task Prometheus_FlotelEncodedRequest_IsAcceptedAndQueryable()
    {
        using var prometheus = await PeerProcess.StartPrometheusReceiverAsync();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var (request, metric) = RecentRequest();
        using (var response = await PostAsync(http, prometheus.BaseUrl + "/api/v1/write", request))
        {
            Assert.True(response.IsSuccessStatusCode, $"Prometheus answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{prometheus.Output}");
        }

        // A range selector returns every raw sample with its exact timestamp.
        var time = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 + 1).ToString("F3", CultureInfo.InvariantCulture);
        var url = prometheus.BaseUrl + "/api/v1/query?query=" + Uri.EscapeDataString(metric + "[10m]") + "&time=" + time;
        var actual = await PollAsync(http, url, json =>
        {
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 3 ? result.EnumerateArray().Select(r => (
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                r.GetProperty("values").EnumerateArray().Select(v => (
                    (long)(v[0].GetDecimal() * 1000m),
                    double.Parse(v[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture))).ToList())).ToList() : null;
        });

        AssertSameSeries(Expected(request), actual);
    }

    [Fact]
    public async Task VictoriaMetrics_FlotelEncodedRequest_IsAcceptedAndExportable()
    {
        using var vm = await PeerProcess.StartAsync(
            "/usr/bin/victoria-metrics", "victoria-metrics",
            (port, dir) =>
            [
                "-httpListenAddr=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                "-storageDataPath=" + Path.Combine(dir, "data"),
                "-retentionPeriod=1d",
                "-search.latencyOffset=0s",
            ],
            "/health");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var (request, metric) = RecentRequest();
        using (var response = await PostAsync(http, vm.BaseUrl + "/api/v1/write", request))
        {
            Assert.True(response.IsSuccessStatusCode, $"VictoriaMetrics answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{vm.Output}");
        }

        // Freshly ingested rows sit in an in-memory buffer until flushed (~1 s); force it.
        using (var flush = await http.GetAsync(new Uri(vm.BaseUrl + "/internal/force_flush")))
        {
            Assert.True(flush.IsSuccessStatusCode, "force_flush: " + (int)flush.StatusCode);
        }

        var url = vm.BaseUrl + "/api/v1/export?match[]=" + Uri.EscapeDataString("{__name__=\"" + metric + "\"}") + "&start=-1h";
        var actual = await PollAsync(http, url, text =>
        {
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length != 3)
            {
                return null;
            }

            return lines.Select(line =>
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                var timestamps = root.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
                var values = root.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
                return (root.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), timestamps.Zip(values).ToList());
            }).ToList();
        });

        AssertSameSeries(Expected(request), actual);
    }

    private static void AssertSameSeries(
        Dictionary<string, (Dictionary<string, string> Labels, List<(long, double)> Samples)> expected,
        List<(Dictionary<string, string> Labels, List<(long, double)> Samples)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (labels, samples) in actual)
        {
            var want = expected[labels["zone"]];
            Assert.Equal(want.Labels.OrderBy(p => p.Key, StringComparer.Ordinal), labels.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(want.Samples, samples);
        }
    }

    private static Task<T> PollAsync<T>(HttpClient http, string url, Func<JsonDocument, T?> read)
        where T : class => PollAsync(http, url, text =>
        {
            using var json = JsonDocument.Parse(text);
            return read(json);
        });

    private static async Task<T> PollAsync<T>(HttpClient http, string url, Func<string, T?> read)
        where T : class
    {
        var watch = Stopwatch.StartNew();
        var last = string.Empty;
        while (watch.Elapsed < QueryTimeout)
        {
            last = await http.GetStringAsync(new Uri(url));
            if (read(last) is { } value)
            {
                return value;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"no complete answer from {url} within {QueryTimeout.TotalSeconds} s; last: {last}");
    }
}
