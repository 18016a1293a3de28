using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Gateway.Query.Prometheus;
using Flotel.IntegrationTests.Gateway;
using Flotel.TestKit;

namespace Flotel.IntegrationTests.Prometheus;

/// <summary>
/// The Prometheus API endpoints beyond queries against real Prometheus 2.42 programs: a Prometheus agent's remote-write
/// metadata answered by <c>/api/v1/metadata</c>; promtool 2.42 reading answers with Flotta's <c>metric-source</c>
/// label; <c>format_query</c>, status shapes and exemplar errors compared with a Prometheus server's.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class PromApiSurfaceTests
{
    /// <summary>Expressions whose <c>format_query</c> text must be Prometheus's, character for character.</summary>
    private static readonly string[] FormatExpressions =
    [
        "up", "sum(rate(up[5m]))by(job)", "foo{a=\"b\",c!~\"d\"}   offset 5m", "topk(3,up)without(a)", "1000000", "0.000001",
        "1e21", "up[90s]", "up + on(job) group_left(x) up", "up > bool 1", "-up ^ 2", "2 ^ -1", "(1 + 2) * 3",
        "up and up or up unless up", "count_values(\"v\", up)", "'it\\'s'", "\"a\\tb\\u0001\"", "up offset -1h30m",
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", "label_replace(up, \"a\", \"$1\", \"job\", \"(.*)\")",
        "sum without () (up)", "up * ignoring(x) group_right() up", "{__name__=~\"up|down\"}", "Inf", "-Inf", "NaN",
        "up[1y2w3d4h5m6s7ms]", "absent(nonexistent{job=\"x\"})", "((up))", "- -5",
    ];

    [Fact]
    public async Task PrometheusAgent_SendsMetadata_GatewayAnswersItByMetric()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using var node = await PeerProcess.StartAsync(
            "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter",
            (port, _) => ["--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)],
            "/metrics");
        var config = PeerProcess.CreateTempDirectory("prometheus-agent-metadata");
        await File.WriteAllTextAsync(Path.Combine(config, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: node
                static_configs:
                  - targets: ['127.0.0.1:{node.Port.ToString(CultureInfo.InvariantCulture)}']
            remote_write:
              - url: http://{gateway.Host.HttpEndPoint}/api/v1/write
                queue_config:
                  batch_send_deadline: 1s
                  min_backoff: 100ms
                  max_backoff: 1s
                metadata_config:
                  send: true
                  send_interval: 1s

            """);
        using var prometheus = await PeerProcess.StartAsync(
            "/usr/bin/prometheus", "prometheus",
            (port, dir) =>
            [
                "--config.file=" + Path.Combine(dir, "prometheus.yml"),
                "--enable-feature=agent",
                "--storage.agent.path=" + Path.Combine(dir, "wal"),
                "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            ],
            "/-/ready", config);

        JsonElement data = default;
        var arrived = await Eventually.PollAsync(async () =>
        {
            data = await DataAsync(gateway.Http, "/api/v1/metadata?metric=node_memory_MemTotal_bytes");
            return data.TryGetProperty("node_memory_MemTotal_bytes", out _);
        }, TimeSpan.FromSeconds(30));
        Assert.True(arrived, "no metadata for node_memory_MemTotal_bytes arrived\n" + prometheus.Output);
        var entry = Assert.Single(data.GetProperty("node_memory_MemTotal_bytes").EnumerateArray());
        Assert.Equal("gauge", entry.GetProperty("type").GetString());
        Assert.Equal("Memory information field MemTotal_bytes.", entry.GetProperty("help").GetString());

        var all = await DataAsync(gateway.Http, "/api/v1/metadata");
        Assert.Equal("counter", all.GetProperty("node_cpu_seconds_total")[0].GetProperty("type").GetString());
        Assert.Equal(3, (await DataAsync(gateway.Http, "/api/v1/metadata?limit=3")).EnumerateObject().Count());
    }

    [Fact]
    public async Task Promtool_MetricSourceLabel_RefusedAsStoredAndReadSanitised()
    {
        if (!File.Exists("/usr/bin/promtool"))
        {
            throw new InvalidOperationException("promtool is missing: install the Debian package 'prometheus' (apt-get install -y prometheus)");
        }

        foreach (var mode in new[] { PrometheusLabelNames.Utf8, PrometheusLabelNames.Sanitize })
        {
            await using var gateway = await InProcessGateway.StartAsync(o => o.PrometheusLabelNames = mode);
            await RemoteWriteAsync(gateway.Http, "up", ("metric-source", "system"), ("edgedeviceid", "dev1"));
            await Eventually.PollAsync(async () => (await DataAsync(gateway.Http, "/api/v1/series?match[]=up")).GetArrayLength() == 1, TimeSpan.FromSeconds(20));

            // promtool decodes a series answer into label sets, which check every name: metric-source is refused.
            var (exit, output) = await RunAsync("/usr/bin/promtool", "query", "series", "http://" + gateway.Host.HttpEndPoint, "--match=up");
            if (mode == PrometheusLabelNames.Utf8)
            {
                Assert.True(exit != 0, "promtool 2.42 read a series answer with metric-source: " + output);
                Assert.Contains("metric-source", output, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(exit == 0, "promtool failed: " + output);
                Assert.Contains("metric_source", output, StringComparison.Ordinal);
            }

            // Its instant query result is decoded without that check, so it reads either spelling.
            (exit, output) = await RunAsync("/usr/bin/promtool", "query", "instant", "http://" + gateway.Host.HttpEndPoint, "up{edgedeviceid=\"dev1\"}");
            Assert.True(exit == 0, "promtool failed: " + output);
            Assert.Contains(mode == PrometheusLabelNames.Utf8 ? "metric-source=\"system\"" : "metric_source=\"system\"", output, StringComparison.Ordinal);

            // The sanitised name also selects, in the query promtool sends.
            (exit, output) = await RunAsync("/usr/bin/promtool", "query", "instant", "http://" + gateway.Host.HttpEndPoint, "up{metric_source=\"system\"}");
            Assert.Equal(0, exit);
            Assert.Equal(mode == PrometheusLabelNames.Sanitize, output.Contains("edgedeviceid=\"dev1\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task StatusFormatAndExemplars_AnswerLikePrometheus()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using var prometheus = await PeerProcess.StartPrometheusReceiverAsync();
        using var http = new HttpClient { BaseAddress = new Uri(prometheus.BaseUrl), Timeout = TimeSpan.FromSeconds(15) };
        var mismatches = new List<string>();

        foreach (var expr in FormatExpressions)
        {
            var path = "/api/v1/format_query?query=" + Uri.EscapeDataString(expr);
            var expected = (await DataAsync(http, path)).GetString();
            var actual = (await DataAsync(gateway.Http, path)).GetString();
            if (expected != actual)
            {
                mismatches.Add($"format_query {expr}: Prometheus {expected}, Flotel {actual}");
            }
        }

        foreach (var path in new[] { "/api/v1/status/buildinfo", "/api/v1/status/runtimeinfo", "/api/v1/targets", "/api/v1/targets?state=active" })
        {
            var expected = Shape(await DataAsync(http, path));
            var actual = Shape(await DataAsync(gateway.Http, path));
            if (expected != actual)
            {
                mismatches.Add($"{path}: Prometheus {expected}, Flotel {actual}");
            }
        }

        foreach (var query in new[] { "query=up", "query=up&start=1&end=2", "", "query=up&start=1&end=0", "query=up&start=abc", "query=up&end=abc", "start=abc", "query=1%2B", "limit=abc", "limit=1.5", "limit=-1" })
        {
            var path = (query.StartsWith("limit", StringComparison.Ordinal) ? "/api/v1/metadata?" : "/api/v1/query_exemplars?") + query;
            var expected = await RawAsync(http, path);
            var actual = await RawAsync(gateway.Http, path);
            if (expected != actual)
            {
                mismatches.Add($"{path}: Prometheus {expected}, Flotel {actual}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    /// <summary>The object's keys and their JSON kinds, nested: what a client's decoder depends on.</summary>
    private static string Shape(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(",", e.EnumerateObject().Select(p => p.Name + ":" + Shape(p.Value))) + "}",
        JsonValueKind.Array => "[" + string.Join(",", e.EnumerateArray().Select(Shape).Distinct()) + "]",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => e.ValueKind.ToString(),
    };

    private static async Task<string> RawAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (int)response.StatusCode + " " + await response.Content.ReadAsStringAsync();
    }

    private static async Task<JsonElement> DataAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, path + ": " + text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("data").Clone();
    }

    private static async Task RemoteWriteAsync(HttpClient http, string name, params (string Name, string Value)[] labels)
    {
        var all = new List<string> { "__name__", name };
        foreach (var (n, v) in labels)
        {
            all.Add(n);
            all.Add(v);
        }

        var request = new Flotel.Wire.RemoteWrite.WriteRequest(
            [new Flotel.Model.Metrics.TimeSeries(Flotel.Model.Metrics.LabelSet.Of([.. all]), [new Flotel.Model.Metrics.Sample(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1)])]);
        using var content = new ByteArrayContent(Flotel.Wire.RemoteWrite.RemoteWriteCodec.Encode(request));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Flotel.Wire.RemoteWrite.RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(Flotel.Wire.RemoteWrite.RemoteWriteHeaders.ContentEncoding);
        using var response = await http.PostAsync(new Uri("/api/v1/write", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    private static async Task<(int Exit, string Output)> RunAsync(string binary, params string[] arguments)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
