using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
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

        // Set operators: precedence (and/unless above or, all below comparisons), on/ignoring, or filling gaps.
        "it_requests_total and it_temperature_celsius > 20",
        "it_requests_total unless on (instance) it_temperature_celsius{job=\"db\"} > 20",
        "it_flaky_gauge or on () vector(0)",
        "it_temperature_celsius > 22 or it_temperature_celsius < 18",
        "it_requests_total{job=\"api\"} or it_requests_total{job=\"db\"} and it_requests_total{instance=\"a:9100\"}",
        "(it_requests_total > 500) unless (it_requests_total > 800)",
        "it_temperature_celsius unless ignoring (job) it_temperature_celsius{job=\"db\"}",
        "it_requests_total and on (job) it_bytes_total",
        "vector(1) and on () absent(it_nonexistent)",
        "it_temperature_celsius or it_requests_total",

        // Many-to-one / one-to-many matching, include labels, and the errors when matching is not unique.
        "it_requests_total * on (instance) group_left (version) it_build_info",
        "it_build_info * on (instance) group_right it_requests_total",
        "it_requests_total > on (instance) group_left (version) it_build_info",
        "it_build_info < on (instance) group_right (version) it_temperature_celsius",
        "it_temperature_celsius * ignoring (job) group_left sum by (instance) (it_requests_total)",
        "it_temperature_celsius{job=\"api\"} * on (instance) group_left (job) label_replace(it_build_info, \"job\", \"build\", \"\", \"\")",
        "it_requests_total * on (instance) group_left (job) label_replace(it_build_info, \"job\", \"build\", \"\", \"\")",
        "it_requests_total + on (job, instance) group_left (version) it_build_info",
        "it_temperature_celsius > bool on (instance) group_left it_build_info",
        "it_build_info * on (instance) it_requests_total",
        "it_requests_total * on (instance) it_build_info",
        "it_requests_total * on (instance) group_left it_temperature_celsius",

        // Aggregations with a parameter, by/without before or after, ties and φ outside [0, 1].
        "topk(2, it_temperature_celsius)",
        "bottomk by (job) (1, it_requests_total)",
        "topk(1, it_build_info)",
        "bottomk(1, it_build_info)",
        "topk(0, it_requests_total)",
        "topk(2.9, it_requests_total) by (instance)",
        "topk(scalar(count(it_build_info)), rate(it_requests_total[5m]))",
        "quantile(0.5, it_temperature_celsius)",
        "quantile by (job) (0.9, it_temperature_celsius)",
        "quantile(1.5, it_temperature_celsius)",
        "quantile(-1, it_temperature_celsius)",
        "stddev(it_temperature_celsius)",
        "stdvar by (instance) (it_temperature_celsius)",
        "stddev by (job) (rate(it_requests_total[5m]))",
        "group by (job) (it_requests_total)",
        "group(it_temperature_celsius) without (instance)",
        "count_values(\"count\", it_build_info)",
        "count_values without (instance) (\"v\", round(it_temperature_celsius))",
        "count_values by (job) (\"v\", ceil(it_temperature_celsius / 5))",

        // Instant-vector functions.
        "abs(-it_temperature_celsius)",
        "ceil(it_temperature_celsius)",
        "floor(it_temperature_celsius)",
        "round(it_temperature_celsius)",
        "round(it_temperature_celsius, 0.1)",
        "round(it_temperature_celsius, 5)",
        "exp(it_temperature_celsius / 10)",
        "ln(it_temperature_celsius)",
        "log2(it_requests_total)",
        "log10(it_requests_total)",
        "sqrt(it_requests_total)",
        "clamp(it_temperature_celsius, 18, 22)",
        "clamp(it_temperature_celsius, 22, 18)",
        "clamp_min(it_temperature_celsius, 20)",
        "clamp_max(it_temperature_celsius, 20)",
        "time()",
        "time() - 60",
        "vector(time())",
        "vector(3)",
        "scalar(it_bytes_total)",
        "scalar(it_requests_total)",
        "it_requests_total / scalar(sum(it_build_info))",
        "timestamp(it_requests_total)",
        "timestamp(it_flaky_gauge offset 2m)",
        "timestamp(rate(it_requests_total[5m]))",
        "absent(it_nonexistent{job=\"x\", instance=~\"a.*\"})",
        "absent(it_requests_total)",
        "absent(sum(it_nonexistent))",
        "absent(it_flaky_gauge)",
        "absent((it_nonexistent{job=\"x\"}))",
        "timestamp((it_requests_total))",
        "topk(3, it_build_info or on (instance) it_requests_total)",
        "label_replace(it_requests_total, \"host\", \"$1\", \"instance\", \"(.*):.*\")",
        "label_replace(it_requests_total, \"job\", \"\", \"job\", \"api\")",
        "label_replace(it_requests_total, \"x\", \"${1}_$port-$2x$$\", \"instance\", \"([a-z]):(?P<port>[0-9]+)\")",
        "label_replace(it_temperature_celsius, \"__name__\", \"renamed\", \"\", \"\")",
        "label_replace(it_requests_total, \"job\", \"same\", \"job\", \".*\")",
        "label_join(it_requests_total, \"both\", \"/\", \"job\", \"instance\")",
        "label_join(it_requests_total, \"e\", \"-\", \"nope\")",
        "sort(it_temperature_celsius)",
        "sort_desc(rate(it_requests_total[5m]))",
        "histogram_quantile(0.9, rate(it_latency_seconds_bucket[5m]))",
        "histogram_quantile(0.5, sum by (le) (rate(it_latency_seconds_bucket[5m])))",
        "histogram_quantile(0.99, it_latency_seconds_bucket)",
        "histogram_quantile(0, it_latency_seconds_bucket)",
        "histogram_quantile(1.5, rate(it_latency_seconds_bucket[5m]))",
        "histogram_quantile(-0.1, rate(it_latency_seconds_bucket[5m]))",
        "histogram_quantile(0.5, rate(it_latency_seconds_bucket{le!=\"+Inf\"}[5m]))",
        "rate(it_latency_seconds_sum[5m]) / rate(it_latency_seconds_count[5m])",

        // Range-vector functions.
        "delta(it_temperature_celsius[5m])",
        "delta(it_bytes_total[7m])",
        "idelta(it_temperature_celsius[5m])",
        "idelta(it_requests_total[1m])",
        "deriv(it_temperature_celsius[5m])",
        "deriv(it_build_info[5m])",
        "predict_linear(it_temperature_celsius[10m], 3600)",
        "predict_linear(it_requests_total[5m] offset 2m, 600)",
        "changes(it_temperature_celsius[5m])",
        "changes(it_build_info[10m])",
        "resets(it_requests_total[10m])",
        "stddev_over_time(it_temperature_celsius[5m])",
        "stdvar_over_time(it_requests_total[3m])",
        "quantile_over_time(0.9, it_temperature_celsius[5m])",
        "quantile_over_time(2, it_temperature_celsius[5m])",
        "present_over_time(it_flaky_gauge[2m])",
    ];

    /// <summary>
    /// Expressions Prometheus refuses while evaluating where there is data (non-unique matching, duplicate label sets,
    /// a NaN k): Flotel must refuse them alike, and Prometheus must refuse each at least once.
    /// </summary>
    private static readonly HashSet<string> ExecutionErrors =
    [
        "it_requests_total * on (instance) group_left (job) label_replace(it_build_info, \"job\", \"build\", \"\", \"\")",
        "topk(scalar(count(it_build_info)), rate(it_requests_total[5m]))",
        "it_build_info * on (instance) it_requests_total",
        "it_requests_total * on (instance) it_build_info",
        "it_requests_total * on (instance) group_left it_temperature_celsius",
        "label_replace(it_requests_total, \"job\", \"same\", \"job\", \".*\")",
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
            var refused = new HashSet<string>();
            var compared = 0;
            foreach (var expr in Expressions)
            {
                foreach (var t in evalTimes)
                {
                    var query = "/api/v1/query?query=" + Uri.EscapeDataString(expr) + "&time=" + Seconds(t);
                    compared += await CompareAsync(http, prometheus.BaseUrl, flotelUrl, query, expr, ExecutionErrors.Contains(expr), refused, mismatches);
                }

                if (expr is "\"hello\"" or "it_requests_total[2m]")
                {
                    continue;
                }

                foreach (var (from, to, step) in new[] { (start - 60_000, end + 120_000, "37"), (start + 300_000, end, "1m") })
                {
                    var query = "/api/v1/query_range?query=" + Uri.EscapeDataString(expr) + "&start=" + Seconds(from) + "&end=" + Seconds(to) + "&step=" + step;
                    compared += await CompareAsync(http, prometheus.BaseUrl, flotelUrl, query, expr, ExecutionErrors.Contains(expr), refused, mismatches);
                }
            }

            foreach (var expr in ExecutionErrors.Except(refused))
            {
                mismatches.Add(expr + ": Prometheus never refused it");
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
        AddHistogramAndInfo(series, start, end, new Random(7));
        return new WriteRequest(series);
    }

    /// <summary>
    /// A classic histogram per api instance (cumulative <c>le</c> buckets, <c>_sum</c>, <c>_count</c>; instance b restarts
    /// from zero mid-way) and an info metric <c>it_build_info{instance, version} = 1</c> for group_left joins. Its own
    /// random source, so the older series keep their values.
    /// </summary>
    private static void AddHistogramAndInfo(List<TimeSeries> series, long start, long end, Random rng)
    {
        string[] bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
        double[] limits = [0.05, 0.1, 0.25, 0.5, 1, double.PositiveInfinity];
        foreach (var (instance, offset) in new[] { ("a:9100", 2_000L), ("b:9100", 9_000L) })
        {
            var buckets = new List<Sample>[bounds.Length];
            for (var i = 0; i < buckets.Length; i++)
            {
                buckets[i] = [];
            }

            var counts = new double[bounds.Length];
            var sum = new List<Sample>();
            var count = new List<Sample>();
            double total = 0, observed = 0;
            for (var t = start + offset; t <= end; t += Step)
            {
                if (instance == "b:9100" && t - start is > 1_000_000 and <= 1_000_000 + Step)
                {
                    Array.Clear(counts);
                    total = 0;
                    observed = 0;
                }

                for (var n = rng.Next(0, 12); n > 0; n--)
                {
                    var latency = Math.Round(rng.NextDouble() * rng.NextDouble() * 1.6, 4);
                    total += latency;
                    observed++;
                    for (var i = 0; i < limits.Length; i++)
                    {
                        if (latency <= limits[i])
                        {
                            counts[i]++;
                        }
                    }
                }

                for (var i = 0; i < bounds.Length; i++)
                {
                    buckets[i].Add(new Sample(t, counts[i]));
                }

                sum.Add(new Sample(t, Math.Round(total, 4)));
                count.Add(new Sample(t, observed));
            }

            for (var i = 0; i < bounds.Length; i++)
            {
                series.Add(new TimeSeries(LabelSet.Of("__name__", "it_latency_seconds_bucket", "job", "api", "instance", instance, "le", bounds[i]), buckets[i]));
            }

            series.Add(new TimeSeries(LabelSet.Of("__name__", "it_latency_seconds_sum", "job", "api", "instance", instance), sum));
            series.Add(new TimeSeries(LabelSet.Of("__name__", "it_latency_seconds_count", "job", "api", "instance", instance), count));
        }

        foreach (var (instance, version) in new[] { ("a:9100", "1.2.3"), ("b:9100", "1.3.0") })
        {
            var info = new List<Sample>();
            for (var t = start + 5_000; t <= end; t += Step)
            {
                info.Add(new Sample(t, 1));
            }

            series.Add(new TimeSeries(LabelSet.Of("__name__", "it_build_info", "instance", instance, "version", version), info));
        }
    }

    private static string Seconds(long ms) => (ms / 1000).ToString(CultureInfo.InvariantCulture) + "." + (ms % 1000).ToString("D3", CultureInfo.InvariantCulture);

    private static async Task<int> CompareAsync(HttpClient http, string prometheusUrl, string flotelUrl, string pathAndQuery, string expr, bool mayFail, HashSet<string> refused, List<string> mismatches)
    {
        using var prometheusResponse = await http.GetAsync(new Uri(prometheusUrl + pathAndQuery));
        var expected = await prometheusResponse.Content.ReadAsStringAsync();
        using var flotelResponse = await http.GetAsync(new Uri(flotelUrl + pathAndQuery));
        var actual = await flotelResponse.Content.ReadAsStringAsync();
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        var before = mismatches.Count;
        var count = 0;
        var prometheusFailed = e.RootElement.GetProperty("status").GetString() != "success";
        if (prometheusFailed && !mayFail)
        {
            // The expression list itself is wrong: every expression must either work or be a listed error.
            mismatches.Add(pathAndQuery + ": Prometheus failed unexpectedly: " + expected);
            return 1;
        }

        if (prometheusFailed)
        {
            refused.Add(expr);
            // An error is an answer too: same status code and errorType (the messages name series in hash order).
            if (a.RootElement.GetProperty("status").GetString() != "error" || (int)flotelResponse.StatusCode != (int)prometheusResponse.StatusCode
                || a.RootElement.GetProperty("errorType").GetString() != e.RootElement.GetProperty("errorType").GetString())
            {
                mismatches.Add(pathAndQuery + ": Prometheus failed with " + expected + ", Flotel answered " + actual);
            }

            return 1;
        }

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
                    if (pathAndQuery.Contains("query=sort", StringComparison.Ordinal) && !ev.Keys.SequenceEqual(av.Keys))
                    {
                        // sort and sort_desc: the order of an instant query's answer is the result.
                        mismatches.Add(pathAndQuery + ": order " + string.Join(" ", ev.Keys) + " vs " + string.Join(" ", av.Keys));
                    }

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
