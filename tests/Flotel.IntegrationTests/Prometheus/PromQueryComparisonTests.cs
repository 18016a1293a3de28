using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Store.Metrics;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.IntegrationTests.Prometheus;

/// <summary>
/// The same samples go to a real Prometheus 2.42 (remote-write receiver) and to Flotel's metric store; the same
/// PromQL queries go to both HTTP APIs; the answers must agree (labels exactly, values within 1e-9 relative).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class PromQueryComparisonTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Step = 15_000;

    /// <summary>Every feature of the PromQL subset: matcher kinds, range functions over counters with resets, aggregations, arithmetic, offset, staleness.</summary>
    private static readonly string[] Expressions =
    [
        "it_requests_total",
        "it_requests_total{job=\"api\"}",
        "it_requests_total{job!=\"api\"}",
        "it_requests_total{instance=~\"a.*\"}",
        "it_requests_total{instance!~\"a.*\"}",
        "{__name__=~\"it_.*\", job=\"db\"}",
        "rate(it_requests_total[5m])",
        "irate(it_requests_total[5m])",
        "increase(it_requests_total[10m])",
        "rate(it_bytes_total[2m])",
        "increase(it_bytes_total[7m])",
        "avg_over_time(it_temperature_celsius[5m])",
        "min_over_time(it_temperature_celsius[5m])",
        "max_over_time(it_temperature_celsius[5m])",
        "sum_over_time(it_temperature_celsius[5m])",
        "count_over_time(it_requests_total[5m])",
        "last_over_time(it_temperature_celsius[5m])",
        "sum by (job) (rate(it_requests_total[5m]))",
        "avg without (instance) (it_temperature_celsius)",
        "min(it_temperature_celsius) by (instance)",
        "max by (job) (it_temperature_celsius)",
        "count without (job, instance) (it_requests_total)",
        "sum(it_requests_total)",
        "it_temperature_celsius * 2 + 1",
        "2 ^ 3 * 4 - 10 % 3",
        "-it_temperature_celsius / 3",
        "it_requests_total offset 5m",
        "rate(it_requests_total[5m] offset 10m)",
        "it_flaky_gauge",
        "count_over_time(it_flaky_gauge[10m])",
        "it_temperature_celsius > 20",
        "it_temperature_celsius > bool 20",
        "it_requests_total - it_requests_total offset 1m",
        "sum by (job) (it_temperature_celsius) / on (job) sum by (job) (it_requests_total)",
        "\"hello\"",
        "it_requests_total[2m]",
    ];

    [Fact]
    public async Task FlotelEngine_SameSamplesAndQueries_AnswersLikePrometheus()
    {
        var end = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Step * Step) - 90_000;
        var start = end - (29 * 60_000);
        var request = Generate(start, end, new Random(20260427));
        var body = RemoteWriteCodec.Encode(request);

        using var prometheus = await PeerProcess.StartPrometheusReceiverAsync();

        var storeDir = PeerProcess.CreateTempDirectory("flotel-store");
        try
        {
            // Small chunks so most samples are read back from sealed SQLite chunks (XOR and decimal), and a reopen so
            // the answers come from what was persisted, not from memory.
            var options = new MetricStoreOptions { DataDirectory = storeDir, MaxSamplesPerChunk = 20 };
            using (var first = MetricStore.Open(options))
            {
                var appended = first.AppendRemoteWriteBody(body);
                Assert.Equal(request.SampleCount, appended.Appended);
                await first.FlushAsync();
            }

            using var store = MetricStore.Open(options);
            Assert.True(store.ChunkStatistics().Chunks > 50);

            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            await using var app = builder.Build();
            app.MapPrometheusApi(store, TimeProvider.System);
            await app.StartAsync();
            var flotelUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using (var content = new ByteArrayContent(body))
            {
                content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
                content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
                using var response = await http.PostAsync(new Uri(prometheus.BaseUrl + "/api/v1/write"), content);
                Assert.True(response.IsSuccessStatusCode, $"Prometheus answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{prometheus.Output}");
            }

            long[] evalTimes = [end, end - 433_000, start + 240_000, start + 830_000, start + (17 * 60_000) + 2_500, end + 180_000, end + 360_000];
            var mismatches = new List<string>();
            var compared = 0;
            foreach (var expr in Expressions)
            {
                foreach (var t in evalTimes)
                {
                    var query = "/api/v1/query?query=" + Uri.EscapeDataString(expr) + "&time=" + Seconds(t);
                    compared += await CompareAsync(http, prometheus.BaseUrl, flotelUrl, query, mismatches);
                }

                if (expr is "\"hello\"" or "it_requests_total[2m]")
                {
                    continue;
                }

                foreach (var (from, to, step) in new[] { (start - 60_000, end + 120_000, "37"), (start + 300_000, end, "1m") })
                {
                    var query = "/api/v1/query_range?query=" + Uri.EscapeDataString(expr) + "&start=" + Seconds(from) + "&end=" + Seconds(to) + "&step=" + step;
                    compared += await CompareAsync(http, prometheus.BaseUrl, flotelUrl, query, mismatches);
                }
            }

            output.WriteLine($"{compared} values compared over {Expressions.Length} expressions, {mismatches.Count} differences");
            Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {compared} answers differ:\n" + string.Join("\n", mismatches.Take(20)));
            Assert.True(compared > 1000, $"only {compared} values compared");
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(storeDir, recursive: true);
        }
    }

    /// <summary>Counters with resets, gauges, 2 jobs × 2 instances, a counter with a gap, a gauge ending in a stale marker.</summary>
    private static WriteRequest Generate(long start, long end, Random rng)
    {
        var series = new List<TimeSeries>();
        var n = 0;
        foreach (var job in new[] { "api", "db" })
        {
            foreach (var instance in new[] { "a:9100", "b:9100" })
            {
                var offset = (n * 1_234) + 7;
                var requests = new List<Sample>();
                var temps = new List<Sample>();
                var counter = rng.Next(0, 1000) + 0.5;
                var temp = 15 + (rng.NextDouble() * 10);
                var i = 0;
                for (var t = start + offset; t <= end; t += Step, i++)
                {
                    var jitter = rng.Next(-3, 4);
                    counter = (i + n) % 37 == 36 ? rng.Next(0, 5) : counter + rng.Next(0, 40) + (n % 2 == 0 ? 0 : 0.25);
                    requests.Add(new Sample(t + jitter, counter));
                    temp = Math.Round(temp + ((rng.NextDouble() - 0.5) * 2), 3);
                    temps.Add(new Sample(t + jitter, temp));
                }

                series.Add(new TimeSeries(LabelSet.Of("__name__", "it_requests_total", "job", job, "instance", instance), requests));
                series.Add(new TimeSeries(LabelSet.Of("__name__", "it_temperature_celsius", "job", job, "instance", instance), temps));
                n++;
            }
        }

        // A byte counter with a 4-minute gap (extrapolation thresholds) and a reset right after it.
        var bytes = new List<Sample>();
        var b = 1e9;
        for (var t = start + 3_000; t <= end; t += Step)
        {
            if (t > start + 600_000 && t < start + 840_000)
            {
                continue;
            }

            b = t - start is > 840_000 and < 855_000 ? 1000 : b + rng.Next(1_000, 100_000);
            bytes.Add(new Sample(t, b));
        }

        series.Add(new TimeSeries(LabelSet.Of("__name__", "it_bytes_total", "job", "db", "instance", "a:9100"), bytes));

        // A gauge that disappears (stale marker) 15 minutes in, then comes back 5 minutes later.
        var flaky = new List<Sample>();
        for (var t = start + 11_000; t <= end; t += Step)
        {
            var rel = t - start;
            if (rel is > 900_000 and < 915_000)
            {
                flaky.Add(new Sample(t, Sample.StaleMarker));
            }
            else if (rel is < 900_000 or > 1_200_000)
            {
                flaky.Add(new Sample(t, rng.Next(0, 100)));
            }
        }

        series.Add(new TimeSeries(LabelSet.Of("__name__", "it_flaky_gauge", "job", "api", "instance", "c:9100"), flaky));
        return new WriteRequest(series);
    }

    private static string Seconds(long ms) => (ms / 1000).ToString(CultureInfo.InvariantCulture) + "." + (ms % 1000).ToString("D3", CultureInfo.InvariantCulture);

    private static async Task<int> CompareAsync(HttpClient http, string prometheusUrl, string flotelUrl, string pathAndQuery, List<string> mismatches)
    {
        var expected = await http.GetStringAsync(new Uri(prometheusUrl + pathAndQuery));
        using var flotelResponse = await http.GetAsync(new Uri(flotelUrl + pathAndQuery));
        var actual = await flotelResponse.Content.ReadAsStringAsync();
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        var before = mismatches.Count;
        var count = 0;
        var data = e.RootElement.GetProperty("data");
        if (a.RootElement.GetProperty("status").GetString() != "success")
        {
            mismatches.Add(pathAndQuery + ": Flotel failed: " + actual);
            return 1;
        }

        var adata = a.RootElement.GetProperty("data");
        var type = data.GetProperty("resultType").GetString();
        if (type != adata.GetProperty("resultType").GetString())
        {
            mismatches.Add(pathAndQuery + ": resultType " + type + " vs " + adata.GetProperty("resultType").GetString());
            return 1;
        }

        var er = data.GetProperty("result");
        var ar = adata.GetProperty("result");
        switch (type)
        {
            case "scalar" or "string":
                count += ComparePoints(pathAndQuery, "", [er], [ar], mismatches);
                break;
            case "vector":
                {
                    var ev = er.EnumerateArray().ToDictionary(x => Canonical(x.GetProperty("metric")), x => x.GetProperty("value"));
                    var av = ar.EnumerateArray().ToDictionary(x => Canonical(x.GetProperty("metric")), x => x.GetProperty("value"));
                    CompareKeys(pathAndQuery, ev.Keys, av.Keys, mismatches);
                    foreach (var k in ev.Keys.Intersect(av.Keys))
                    {
                        count += ComparePoints(pathAndQuery, k, [ev[k]], [av[k]], mismatches);
                    }

                    break;
                }

            default:
                {
                    var em = er.EnumerateArray().ToDictionary(x => Canonical(x.GetProperty("metric")), x => x.GetProperty("values").EnumerateArray().ToList());
                    var am = ar.EnumerateArray().ToDictionary(x => Canonical(x.GetProperty("metric")), x => x.GetProperty("values").EnumerateArray().ToList());
                    CompareKeys(pathAndQuery, em.Keys, am.Keys, mismatches);
                    foreach (var k in em.Keys.Intersect(am.Keys))
                    {
                        count += ComparePoints(pathAndQuery, k, em[k], am[k], mismatches);
                    }

                    break;
                }
        }

        return Math.Max(count, mismatches.Count > before ? 1 : 0) + (count == 0 ? 1 : 0);
    }

    private static void CompareKeys(string query, IEnumerable<string> expected, IEnumerable<string> actual, List<string> mismatches)
    {
        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            mismatches.Add(query + ": series missing " + string.Join(" ", missing) + "; extra " + string.Join(" ", extra));
        }
    }

    private static int ComparePoints(string query, string series, List<JsonElement> expected, List<JsonElement> actual, List<string> mismatches)
    {
        if (expected.Count != actual.Count)
        {
            mismatches.Add($"{query} {series}: {expected.Count} points vs {actual.Count}");
            return 1;
        }

        for (var i = 0; i < expected.Count; i++)
        {
            var et = expected[i][0].GetDouble();
            var at = actual[i][0].GetDouble();
            var evs = expected[i][1].GetString()!;
            var avs = actual[i][1].GetString()!;
            if (et != at || !Close(evs, avs))
            {
                mismatches.Add($"{query} {series}: [{et}, {evs}] vs [{at}, {avs}]");
            }
        }

        return expected.Count;
    }

    private static bool Close(string expected, string actual)
    {
        if (expected == actual)
        {
            return true;
        }

        if (!double.TryParse(expected, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) || !double.TryParse(actual, NumberStyles.Float, CultureInfo.InvariantCulture, out var a))
        {
            return false;
        }

        return Math.Abs(e - a) <= 1e-9 * Math.Max(Math.Abs(e), Math.Abs(a));
    }

    private static string Canonical(JsonElement metric)
    {
        var sb = new StringBuilder("{");
        foreach (var p in metric.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            sb.Append(p.Name).Append('=').Append(p.Value.GetString()).Append(',');
        }

        return sb.Append('}').ToString();
    }
}
