using System.Globalization;
using System.Text.Json.Nodes;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.IntegrationTests.Gateway;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>
/// The <c>influxdb</c> output against a REAL InfluxDB 1.6 (Debian package <c>influxdb</c>), started on 127.0.0.1 with a
/// generated config (HTTP and RPC bind addresses on free ports, meta/data/WAL in a temporary directory), points read
/// back through <c>/query</c>.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class InfluxDbOutputTests : IDisposable
{
    private const int Samples = 120;
    private readonly string _root = PeerProcess.CreateTempDirectory("influx-output");
    private readonly long _baseMs = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() / 1000 * 1000;

    public void Dispose() => GatewayTestKit.DeleteDirectory(_root);

    [Fact]
    public async Task InfluxDb_UnreachableAtStartThenUp_EveryFinitePointArrivesWithEscapedNamesAndTags()
    {
        var port = Loopback.FreePort();
        var output = new InfluxDbOptions { Name = "influx", Database = "flotta", MaxPoints = 50, Gzip = true };
        output.Http.Url = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
        output.Http.MinBackoff = TimeSpan.FromMilliseconds(100);
        output.Http.MaxBackoff = TimeSpan.FromSeconds(1);
        await using var gateway = await InProcessGateway.StartAsync(o => o.Outputs.Add(output));

        var plain = LabelSet.Of("__name__", "node_load1", "device", "dev1", "job", "node");
        var special = LabelSet.Of(
            "__name__", "flotel:special_total",
            "comma", "a,b", "equals", "a=b", "space", "a b", "quote", "say \"hi\"", "newline", "l1\nl2", "empty", string.Empty);
        var series = new List<TimeSeries>
        {
            new(plain, Enumerable.Range(0, Samples).Select(i => new Sample(_baseMs + (i * 1000L), i * 0.5)).ToList()),
            new(special, [new Sample(_baseMs, 1e300), new Sample(_baseMs + 1000, double.NaN), new Sample(_baseMs + 2000, Sample.StaleMarker), new Sample(_baseMs + 3000, -2.5)]),
        };
        using (var request = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest(series))))
        {
            using var response = await gateway.Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }

        // Nothing listens yet: the output retries and keeps the points queued.
        Assert.True(await Eventually.PollAsync(
            () => Task.FromResult(gateway.Host.Metrics.Sum("flotel_output_requests_total", ("output", "influx"), ("result", "retry")) >= 2), TimeSpan.FromSeconds(30)));

        using var influx = await StartInfluxAsync(port);
        using var http = new HttpClient { BaseAddress = new Uri(influx.BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
        using (var create = await http.PostAsync(new Uri("/query?q=" + Uri.EscapeDataString("CREATE DATABASE \"flotta\""), UriKind.Relative), null))
        {
            Assert.True(create.IsSuccessStatusCode);
        }

        var expected = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in series)
        {
            foreach (var sample in s.Samples.Where(p => double.IsFinite(p.Value)))
            {
                expected.Add(Point(s.Labels.MetricName!, s.Labels.Where(l => l.Name != "__name__" && l.Value.Length > 0)
                    .Select(l => (l.Name, l.Name == "newline" ? "l1\\nl2" : l.Value)), sample.TimestampMs, sample.Value));
            }
        }

        SortedSet<string>? actual = null;
        var arrived = await Eventually.PollAsync(async () => (actual = await QueryAllAsync(http)).SetEquals(expected), TimeSpan.FromSeconds(60));
        Assert.True(arrived, "InfluxDB holds:\n" + string.Join('\n', actual ?? []) + "\nexpected:\n" + string.Join('\n', expected));
        Assert.Equal(Samples + 2, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "influx"), ("result", "sent")));
        Assert.Equal(1, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "influx"), ("result", "skipped"), ("reason", "non_finite")));
        Assert.Equal(1, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "influx"), ("result", "skipped"), ("reason", "stale_marker")));
        Assert.Equal(0, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "influx"), ("result", "dead_lettered")));
    }

    [Fact]
    public async Task InfluxDb1_TagKeysAndValuesWithBackslashesAndSeparators_ReadBackExactlyThroughInfluxQl()
    {
        // influxd 1.x unescapes only "\,", "\ " and "\=" in tags (a backslash is otherwise literal); the 2.x rule of
        // doubling a backslash before a separator stored x\,y as x\\,y.
        var port = Loopback.FreePort();
        using var influx = await StartInfluxAsync(port);
        using var http = new HttpClient { BaseAddress = new Uri(influx.BaseUrl), Timeout = TimeSpan.FromSeconds(10) };
        using (var create = await http.PostAsync(new Uri("/query?q=" + Uri.EscapeDataString("CREATE DATABASE \"flotta\""), UriKind.Relative), null))
        {
            Assert.True(create.IsSuccessStatusCode);
        }

        var output = new InfluxDbOptions { Name = "influx", Database = "flotta" };
        output.Http.Url = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
        await using var gateway = await InProcessGateway.StartAsync(o => o.Outputs.Add(output));

        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["backslash_comma"] = "x\\,y",
            ["backslash_space"] = "a\\ b",
            ["backslash_equals"] = "a\\=b",
            ["two_backslashes_comma"] = "a\\\\,b",
            ["leading_backslash_comma"] = "\\,lead",
            ["backslash_letters"] = "C:\\dir\\file",
            ["two_backslashes"] = "end\\\\x",
            ["separators"] = "a,b=c d",
            ["quotes"] = "say \"hi\"",
            ["key,with comma"] = "v",
            ["key with space"] = "v",
            ["key=with equals"] = "v",
            ["key\\,backslash comma"] = "v",
            ["key\\backslash"] = "v",
            ["key\"quote"] = "v",
        };
        const string Measurement = "flotel:escaping_total";
        var labels = LabelSet.Of(["__name__", Measurement, .. tags.SelectMany(t => new[] { t.Key, t.Value })]);
        using (var request = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(labels, [new Sample(_baseMs, 42)])]))))
        {
            using var response = await gateway.Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }

        var expected = Point(Measurement, tags.Select(t => (t.Key, t.Value)), _baseMs, 42);
        SortedSet<string>? actual = null;
        var arrived = await Eventually.PollAsync(async () => (actual = await QueryAllAsync(http)).Count > 0, TimeSpan.FromSeconds(60));
        Assert.True(arrived, "nothing arrived in InfluxDB");
        Assert.Equal(expected, Assert.Single(actual!));

        var url = "/query?db=flotta&q=" + Uri.EscapeDataString("SHOW TAG VALUES FROM /.*/ WITH KEY =~ /.*/");
        var series = Assert.Single(JsonNode.Parse(await http.GetStringAsync(new Uri(url, UriKind.Relative)))!["results"]![0]!["series"]!.AsArray())!;
        Assert.Equal(Measurement, (string?)series["name"]);
        var shown = series["values"]!.AsArray().ToDictionary(v => (string)v![0]!, v => (string)v![1]!, StringComparer.Ordinal);
        Assert.Equal(tags, new SortedDictionary<string, string>(shown, StringComparer.Ordinal));
        Assert.Equal(0, gateway.Host.Metrics.Sum("flotel_output_items_total", ("output", "influx"), ("result", "dead_lettered")));
    }

    private static string Point(string measurement, IEnumerable<(string Key, string Value)> tags, long timestamp, double value) =>
        string.Create(CultureInfo.InvariantCulture, $"{measurement} {{{string.Join(", ", tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value))}}} {timestamp} {value:R}");

    /// <summary>Every point of the database, one line each, via <c>SELECT "value" FROM /.*/ GROUP BY *</c> (empty tags dropped).</summary>
    private static async Task<SortedSet<string>> QueryAllAsync(HttpClient http)
    {
        var points = new SortedSet<string>(StringComparer.Ordinal);
        var url = "/query?db=flotta&epoch=ms&q=" + Uri.EscapeDataString("SELECT \"value\" FROM /.*/ GROUP BY *");
        var json = JsonNode.Parse(await http.GetStringAsync(new Uri(url, UriKind.Relative)))!;
        foreach (var s in json["results"]![0]!["series"]?.AsArray() ?? [])
        {
            var tags = s!["tags"]?.AsObject().Where(t => ((string?)t.Value)?.Length > 0).Select(t => (t.Key, (string)t.Value!)).ToList() ?? [];
            foreach (var v in s["values"]!.AsArray())
            {
                points.Add(Point((string)s["name"]!, tags, (long)v![0]!, (double)v[1]!));
            }
        }

        return points;
    }

    private Task<PeerProcess> StartInfluxAsync(int port)
    {
        var run = Directory.CreateDirectory(Path.Combine(_root, "influxd")).FullName;
        var rpc = Loopback.FreePort();
        return PeerProcess.StartAsync(
            "/usr/bin/influxd", "influxdb",
            (p, dir) =>
            {
                // Every listener on 127.0.0.1 (the RPC bind-address defaults to all interfaces on 8088); no reporting.
                File.WriteAllText(Path.Combine(dir, "influxdb.conf"), string.Create(CultureInfo.InvariantCulture, $"""
                    reporting-disabled = true
                    bind-address = "127.0.0.1:{rpc}"
                    [meta]
                      dir = "{Path.Combine(dir, "meta")}"
                    [data]
                      dir = "{Path.Combine(dir, "data")}"
                      wal-dir = "{Path.Combine(dir, "wal")}"
                      query-log-enabled = false
                    [monitor]
                      store-enabled = false
                    [http]
                      enabled = true
                      bind-address = "127.0.0.1:{p}"
                      log-enabled = false
                    """));
                return ["-config", Path.Combine(dir, "influxdb.conf")];
            },
            "/ping", run, port);
    }
}
