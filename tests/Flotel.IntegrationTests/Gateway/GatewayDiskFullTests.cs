using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The gateway's data directory on a real disk that fills up (a small tmpfs): a full disk is back-pressure, not an
/// error. Remote write answers 503 with Retry-After, <c>_bulk</c> items 429, TCP syslog stops reading without closing
/// the connection, UDP counts its drops, <c>/readyz</c> answers 503; once the filler is deleted everything resumes
/// without a restart and every acknowledged item is stored exactly once.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayDiskFullTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [RootFact]
    public async Task DataDiskFull_InputsPushBackReadyzNotReady_AfterSpaceReturnsEverythingAcknowledgedStoredOnce()
    {
        using var disk = TmpfsMount.Create(sizeMiB: 8);
        await using var gateway = await InProcessGateway.StartAsync(o =>
        {
            o.DataDirectory = disk.Path;
            o.QueueMaxMiB = 64; // the disk, not the queue's bound, is what runs out
        });
        var run = Guid.NewGuid().ToString("N")[..8];
        var metric = "flotel_diskfull_" + run;
        var acknowledgedSeries = new List<int>();
        var acknowledgedDocuments = new List<string>();
        var request = 0;

        // Before: everything is accepted.
        Assert.Equal(HttpStatusCode.NoContent, await RemoteWriteAsync(gateway, metric, request));
        acknowledgedSeries.Add(request++);
        Assert.Equal(201, await BulkAsync(gateway, "doc-before-" + run));
        acknowledgedDocuments.Add("doc-before-" + run);
        Assert.Equal("ready\n", await gateway.Http.GetStringAsync(new Uri("readyz", UriKind.Relative)));

        _ = disk.Fill("filler");

        // Remote write: the first requests may still fit into the segment's last partly used page; then 503 + Retry-After.
        HttpResponseMessage? refused = null;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            using var message = GatewayTestKit.RemoteWrite(Body(metric, request));
            var response = await gateway.Http.SendAsync(message);
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                acknowledgedSeries.Add(request++);
                response.Dispose();
                return false;
            }

            request++;
            refused = response;
            return true;
        }, Generous), "remote write was never refused on the full disk");
        using (refused)
        {
            var body = await refused!.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // a sentence, not a stack trace
        }

        // _bulk: every item 429, as for a full queue.
        var bulkStatus = 0;
        var bulkTry = 0;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            var id = $"doc-full-{bulkTry++}-{run}";
            bulkStatus = await BulkAsync(gateway, id);
            if (bulkStatus == 201)
            {
                acknowledgedDocuments.Add(id);
            }

            return bulkStatus != 201;
        }, Generous), "_bulk was never refused on the full disk");
        Assert.Equal(429, bulkStatus);

        using (var notReady = await gateway.Http.GetAsync(new Uri("readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        // TCP syslog: lines sent while the disk is full are held (the connection stays open), not lost.
        const int TcpLines = 2000;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Lines($"tcp{run}", 0, TcpLines / 2));

        // UDP syslog cannot be paused: what the queue cannot write is counted as dropped.
        using var udp = new UdpClient();
        var metrics = string.Empty;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            var datagram = Encoding.ASCII.GetBytes($"<13>May 12 20:22:01 host app[1]: udp{run}");
            await udp.SendAsync(datagram, new IPEndPoint(IPAddress.Loopback, gateway.SyslogPort));
            metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            return GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_dropped_total{transport=\"udp\",reason=\"write_failed\"}") >= 1
                && GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_backpressure_total{transport=\"tcp\"}") >= 1;
        }, Generous), "no UDP drop or TCP back-pressure counted on the full disk:\n" + metrics);
        Assert.True(GatewayTestKit.ExpositionValue(metrics, "flotel_remote_write_rejected_total{reason=\"write_failed\"}") >= 1, metrics);
        Assert.Equal(0, GatewayTestKit.ExpositionValue(metrics, "flotel_queue_writable"));
        Assert.True(GatewayTestKit.ExpositionValue(metrics, "flotel_queue_write_failures") >= 1, metrics);

        // Space returns: no restart.
        File.Delete(Path.Combine(disk.Path, "filler"));
        Assert.True(await Eventually.PollAsync(async () =>
        {
            using var response = await gateway.Http.GetAsync(new Uri("readyz", UriKind.Relative));
            return response.StatusCode == HttpStatusCode.OK;
        }, Generous), "/readyz did not become ready again after space returned");

        // The same TCP connection goes on (had it been closed, these writes would fail or the lines would be missing).
        await stream.WriteAsync(Lines($"tcp{run}", TcpLines / 2, TcpLines));
        Assert.Equal(HttpStatusCode.NoContent, await RemoteWriteAsync(gateway, metric, request));
        acknowledgedSeries.Add(request++);
        Assert.Equal(201, await BulkAsync(gateway, "doc-after-" + run));
        acknowledgedDocuments.Add("doc-after-" + run);

        // Everything acknowledged (and every TCP line) is stored, exactly once.
        long tcpCount = 0;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            tcpCount = await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", MatchQuery("tcp" + run));
            return tcpCount >= TcpLines;
        }, Generous), $"{tcpCount} of {TcpLines} TCP lines stored");
        Assert.True(await Eventually.PollAsync(async () =>
            await GatewayTestKit.CountAsync(gateway.Http, "diskfull-*", """{"query":{"match_all":{}}}""") >= acknowledgedDocuments.Count, Generous),
            "not every acknowledged _bulk document was stored");
        JsonArray? series = null;
        Assert.True(await Eventually.PollAsync(async () =>
        {
            series = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count_over_time({metric}[1h])");
            return series?.Count >= acknowledgedSeries.Count;
        }, Generous), $"{series?.Count} of {acknowledgedSeries.Count} acknowledged series stored");

        // Let anything still in flight land, so a duplicate would show as an overshoot.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(TcpLines, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", MatchQuery("tcp" + run)));
        var documents = await GatewayTestKit.SearchAsync(gateway.Http, "diskfull-*", """{"query":{"match_all":{}},"size":1000}""");
        var ids = documents["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_source"]!["key"]!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(acknowledgedDocuments.Order(StringComparer.Ordinal), ids);
        series = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count_over_time({metric}[1h])");
        Assert.Equal(acknowledgedSeries.Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal),
            series!.Select(s => (string)s!["metric"]!["request"]!).Order(StringComparer.Ordinal));
        Assert.All(series!, s => Assert.Equal("1", (string)s!["value"]![1]!));
    }

    [RootFact]
    public async Task StoreDisksFull_QueueHealthy_StoreOutputRetriesSqliteFullAndStoresEverythingOnceSpaceReturns()
    {
        // The queue has room; the embedded stores' directories are full: every acknowledged item waits in the queue
        // while the store output retries its failing SQLite writes (SQLITE_FULL) without committing its cursor.
        var data = PeerProcess.CreateTempDirectory("gateway-stores-full");
        try
        {
            using var logsDisk = TmpfsMount.Create(sizeMiB: 8, Path.Combine(data, "logs"));
            using var metricsDisk = TmpfsMount.Create(sizeMiB: 8, Path.Combine(data, "metrics"));
            await using var gateway = await InProcessGateway.StartAsync(o => o.DataDirectory = data);
            var run = Guid.NewGuid().ToString("N")[..8];
            var metric = "flotel_storefull_" + run;
            _ = logsDisk.Fill("filler");
            _ = metricsDisk.Fill("filler");

            const int TcpLines = 3000;
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
                await tcp.GetStream().WriteAsync(Lines($"store{run}", 0, TcpLines));
            }

            const int Requests = 20;
            for (var i = 0; i < Requests; i++)
            {
                Assert.Equal(HttpStatusCode.NoContent, await RemoteWriteAsync(gateway, metric, i)); // the queue has room
            }

            var metrics = string.Empty;
            Assert.True(await Eventually.PollAsync(async () =>
            {
                metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
                return GatewayTestKit.ExpositionValue(metrics, "flotel_store_write_errors_total") >= 1;
            }, Generous), "no store write error was counted on the full store disks:\n" + metrics);
            Assert.Equal(0, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", MatchQuery($"store{run}")));

            File.Delete(Path.Combine(logsDisk.Path, "filler"));
            File.Delete(Path.Combine(metricsDisk.Path, "filler"));

            long count = 0;
            Assert.True(await Eventually.PollAsync(async () =>
            {
                count = await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", MatchQuery($"store{run}"));
                return count >= TcpLines;
            }, Generous), $"{count} of {TcpLines} lines stored after space returned");
            JsonArray? series = null;
            Assert.True(await Eventually.PollAsync(async () =>
            {
                series = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count_over_time({metric}[1h])");
                return series?.Count >= Requests;
            }, Generous), $"{series?.Count} of {Requests} series stored after space returned");

            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(TcpLines, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", MatchQuery($"store{run}")));
            series = await GatewayTestKit.InstantQueryAsync(gateway.Http, $"count_over_time({metric}[1h])");
            Assert.Equal(Requests, series!.Count);
            Assert.All(series, s => Assert.Equal("1", (string)s!["value"]![1]!));
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    private static async Task<HttpStatusCode> RemoteWriteAsync(InProcessGateway gateway, string metric, int request)
    {
        using var message = GatewayTestKit.RemoteWrite(Body(metric, request));
        using var response = await gateway.Http.SendAsync(message);
        return response.StatusCode;
    }

    /// <summary>One series per request (label <c>request</c>), one sample: a stored series is an acknowledged request.</summary>
    private static byte[] Body(string metric, int request) =>
        RemoteWriteCodec.Encode(new WriteRequest(
        [
            new TimeSeries(
                new LabelSet([new Label("__name__", metric), new Label("request", request.ToString(CultureInfo.InvariantCulture))]),
                [new Sample(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000, request)]),
        ]));

    /// <summary>One document per request; returns its item status (201 created, 429 refused).</summary>
    private static async Task<int> BulkAsync(InProcessGateway gateway, string key)
    {
        using var content = new StringContent(
            """{"index":{"_index":"diskfull-2026.01.01"}}""" + "\n" + "{\"message\":\"bulk\",\"key\":\"" + key + "\"}" + "\n",
            Encoding.UTF8, "application/x-ndjson");
        using var response = await gateway.Http.PostAsync(new Uri("_bulk", UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"_bulk answered {(int)response.StatusCode}: {text}");
        var item = JsonNode.Parse(text)!["items"]![0]!.AsObject().First().Value!;
        return (int)item["status"]!;
    }

    private static string MatchQuery(string token) => "{\"query\":{\"match\":{\"message\":\"" + token + "\"}}}";

    private static byte[] Lines(string token, int from, int to)
    {
        var text = new StringBuilder();
        for (var i = from; i < to; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"<13>May 12 20:22:01 host app[1]: {token} line {i}\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
