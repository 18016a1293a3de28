using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// <c>dotnet flotel.dll gateway</c> as a real process: the blog's line and search, a clean SIGTERM stop, and crash
/// safety under SIGKILL (every acknowledged sample survives; the syslog lines the queue took are stored exactly once,
/// those flushed well before the kill among them).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayProcessTests(ITestOutputHelper output)
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    /// <summary>The line from the Flotta observability blog (random-workload's output as Flotta's rsyslog forwards it).</summary>
    private const string BlogLine =
        "<6>2022-05-12T16:22:01-04:00  random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022\n";

    [Theory]
    [InlineData(null, "0x1000000")]
    [InlineData("0x2000000", "0x2000000")]
    public async Task GatewayProcess_Gen0Budget_SixteenMiBUnlessTheEnvironmentSetsIt(string? given, string expected)
    {
        // .NET reads DOTNET_GCgen0size only from the environment: the gateway sets it and re-executes itself (same PID)
        // unless it was given (GcBudget; without it this VM's L3 size made the gen-0 budget ~200 MiB).
        var data = PeerProcess.CreateTempDirectory("gateway-gc");
        try
        {
            using var gateway = await GatewayProcess.StartAsync(data, new Dictionary<string, string?> { ["DOTNET_GCgen0size"] = given });
            var environment = (await File.ReadAllTextAsync($"/proc/{gateway.Pid}/environ")).Split('\0');
            Assert.Equal(["DOTNET_GCgen0size=" + expected], environment.Where(e => e.StartsWith("DOTNET_GCgen0size=", StringComparison.Ordinal)));
            var commandLine = (await File.ReadAllTextAsync($"/proc/{gateway.Pid}/cmdline")).TrimEnd('\0').Split('\0');
            Assert.Equal(["dotnet", GatewayProcess.FlotelDll, "gateway"], commandLine[..3]);
            using var health = await gateway.Http.GetAsync(new Uri("healthz", UriKind.Relative));
            Assert.True(health.IsSuccessStatusCode, gateway.Stderr);
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task GatewayProcess_DataInsideTheWorkingDirectory_NoFileWatcher()
    {
        // The default data directory (./.flotel/gateway) is inside the working directory. ASP.NET Core's default builders
        // watch the working directory recursively for appsettings.json changes (inotify), which woke a watcher thread on
        // every queue and store write; the gateway reads no such files and must hold no inotify descriptor at all.
        var data = PeerProcess.CreateTempDirectory("gateway-watch");
        try
        {
            using var gateway = await GatewayProcess.StartAsync(data);
            using var health = await gateway.Http.GetAsync(new Uri("healthz", UriKind.Relative));
            Assert.True(health.IsSuccessStatusCode, gateway.Stderr);
            var links = Directory.GetFiles($"/proc/{gateway.Pid}/fd").Select(fd => new FileInfo(fd).LinkTarget).ToList();
            Assert.Contains(links, l => l is not null && l.StartsWith(data, StringComparison.Ordinal)); // the reading works
            Assert.DoesNotContain(links, l => l is not null && l.Contains("inotify", StringComparison.Ordinal));
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task GatewayProcess_BlogLineOverTcp_FoundByBlogSearchAndStopsCleanlyOnSigterm()
    {
        var data = PeerProcess.CreateTempDirectory("gateway-proc");
        try
        {
            using var gateway = await GatewayProcess.StartAsync(data);
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(gateway.SyslogEndPoint);
                await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(BlogLine));
            }

            JsonNode? response = null;
            var found = await Eventually.PollAsync(async () =>
            {
                // The blog's request: GET with a JSON body.
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("logstash-2022.05.12/_search?pretty=true", UriKind.Relative))
                {
                    Content = new StringContent("{\"query\":{\"match_all\":{}}}", Encoding.UTF8, "application/json"),
                };
                using var http = await gateway.Http.SendAsync(request);
                if (!http.IsSuccessStatusCode)
                {
                    return false;
                }

                response = JsonNode.Parse(await http.Content.ReadAsStringAsync());
                return (long?)response?["hits"]?["total"]?["value"] >= 1;
            }, TimeSpan.FromSeconds(20));
            Assert.True(found, $"blog line not found: {response?.ToJsonString()}\n{gateway.Stderr}");
            Assert.Equal(1L, (long?)response!["hits"]!["total"]!["value"]);
            var source = response["hits"]!["hits"]![0]!["_source"]!;
            Assert.Equal(6, (int)source["severity"]!);
            Assert.Equal("Informational", (string?)source["severity_label"]);
            Assert.Equal(0, (int)source["facility"]!);
            Assert.Equal("kernel", (string?)source["facility_label"]);
            Assert.Equal("random-workload", (string?)source["program"]);
            Assert.Equal("3966", (string?)source["pid"]);
            Assert.Equal("2022-05-12T20:22:01.000Z", (string?)source["@timestamp"]);
            Assert.Null(source["tags"]);

            var exit = await gateway.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(30));
            Assert.True(exit == 0, $"flotel gateway after SIGTERM: exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none within 30 s"}\n{gateway.Stderr}");
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    [Fact]
    public async Task GatewayProcess_SigkillUnderLoad_AcknowledgedSamplesSurviveAndQueuedLinesAreStoredExactlyOnce()
    {
        var data = PeerProcess.CreateTempDirectory("gateway-crash");
        var run = Guid.NewGuid().ToString("N")[..8];
        var metric = "flotel_crash_" + run;
        var token = "crashrun" + run;
        var acked = new ConcurrentDictionary<int, (long Ms, double Value)>();
        var lineWrites = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        TimeSpan killedAt;
        int requestsSent = 0;
        try
        {
            using (var gateway = await GatewayProcess.StartAsync(data))
            {
                using var stop = new CancellationTokenSource();
                var baseMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
                var writer = Task.Run(async () =>
                {
                    using var http = new HttpClient { BaseAddress = gateway.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        var labels = new LabelSet([new Label("__name__", metric), new Label("seq", i.ToString(CultureInfo.InvariantCulture))]);
                        var ms = baseMs + i;
                        var value = (i * 1.5) + 0.25;
                        var body = RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(labels, [new Sample(ms, value)])]));
                        Interlocked.Increment(ref requestsSent);
                        try
                        {
                            using var request = GatewayTestKit.RemoteWrite(body);
                            using var response = await http.SendAsync(request, stop.Token);
                            if (response.IsSuccessStatusCode)
                            {
                                acked[i] = (ms, value);
                            }
                        }
                        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                        {
                            // The gateway was killed mid-request: not acknowledged, nothing is promised.
                            if (stop.IsCancellationRequested)
                            {
                                return;
                            }

                            await Task.Delay(10);
                        }
                    }
                });
                var syslog = Task.Run(async () =>
                {
                    try
                    {
                        using var client = new TcpClient { NoDelay = true };
                        await client.ConnectAsync(gateway.SyslogEndPoint);
                        var stream = client.GetStream();
                        for (var i = 0; !stop.IsCancellationRequested; i++)
                        {
                            var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
                            var line = $"<14>{now} crashhost crashtest[7]: {token} line {i.ToString(CultureInfo.InvariantCulture)}\n";
                            await stream.WriteAsync(Encoding.UTF8.GetBytes(line), stop.Token);
                            await stream.FlushAsync(stop.Token);
                            lineWrites.Enqueue(clock.Elapsed);
                            if (i % 20 == 19)
                            {
                                await Task.Delay(5, stop.Token);
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                    {
                        // Connection reset by the kill.
                    }
                });

                await Task.Delay(TimeSpan.FromSeconds(4));
                Assert.False(writer.IsCompleted, "remote-write sender ended early: " + writer.Exception);
                Assert.False(syslog.IsCompleted, "syslog sender ended early: " + syslog.Exception);
                killedAt = clock.Elapsed;
                var exit = await gateway.SignalAndWaitAsync(SigKill, TimeSpan.FromSeconds(15));
                Assert.NotNull(exit);
                await stop.CancelAsync();
                await Task.WhenAll(writer, syslog);
            }

            Assert.True(acked.Count > 50, $"only {acked.Count} of {requestsSent} remote-write requests were acknowledged before the kill");
            var flushedBefore = lineWrites.Count(t => t <= killedAt - TimeSpan.FromSeconds(1));
            var written = lineWrites.Count;
            Assert.True(flushedBefore > 50, $"only {flushedBefore} syslog lines written 1 s before the kill");

            using var restarted = await GatewayProcess.StartAsync(data);
            JsonArray? result = null;
            var missing = new List<int>();
            var allThere = await Eventually.PollAsync(async () =>
            {
                result = await GatewayTestKit.InstantQueryAsync(restarted.Http, metric);
                var present = new Dictionary<int, double>();
                foreach (var series in result ?? [])
                {
                    var seq = int.Parse((string)series!["metric"]!["seq"]!, CultureInfo.InvariantCulture);
                    present[seq] = double.Parse((string)series["value"]![1]!, CultureInfo.InvariantCulture);
                }

                missing = acked.Where(a => !present.TryGetValue(a.Key, out var v) || v != a.Value.Value).Select(a => a.Key).Order().ToList();
                return missing.Count == 0;
            }, TimeSpan.FromSeconds(30));
            Assert.True(allThere, $"{missing.Count} of {acked.Count} acknowledged samples are missing or wrong after the restart (first: {string.Join(",", missing.Take(10))}); query returned {result?.Count} series\n{restarted.Stderr}");

            // The lines the queue had taken are stored once store-logs has committed the whole queue (nothing arrives
            // after the restart). Exactly once: each line number once, no gap. The kill loses only a tail: lines read from
            // the socket but not yet queued (TCP syslog has no acknowledgement), never one before a stored one.
            var drained = await Eventually.PollAsync(
                async () => await MetricAsync(restarted.Http, "flotel_queue_reader_lag{reader=\"store-logs\"}") == 0, TimeSpan.FromSeconds(30));
            Assert.True(drained, $"store-logs did not catch up with the queue within 30 s\n{restarted.Stderr}");
            var numbers = await StoredLineNumbersAsync(restarted.Http, token);
            var stored = numbers.Count;
            var distinct = numbers.Distinct().Count();
            var twice = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).Order().Take(10);
            Assert.True(distinct == stored, $"{stored} lines stored, {stored - distinct} of them more than once (first: {string.Join(",", twice)})");
            Assert.Equal(Enumerable.Range(0, stored), numbers.Order());
            Assert.True(stored >= flushedBefore,
                $"{stored} syslog lines stored after the restart; {flushedBefore} were written ≥ 1 s before the kill, {written} in all\n{restarted.Stderr}");
            Assert.True(stored <= written, $"{stored} lines stored but only {written} written");
            var skipped = await MetricAsync(restarted.Http, "flotel_store_log_replay_skipped_total");

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"remote write: {acked.Count} of {requestsSent} requests acknowledged, all found; syslog: {stored} stored once each (lines 0..{stored - 1}), "
                + $"{flushedBefore} written ≥ 1 s before the kill, {written} written; {skipped} replayed lines skipped as already stored"));
            var exitCode = await restarted.SignalAndWaitAsync(SigTerm, TimeSpan.FromSeconds(30));
            Assert.Equal(0, exitCode);
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(data);
        }
    }

    private static async Task<double?> MetricAsync(HttpClient http, string series) =>
        GatewayTestKit.ExpositionValue(await http.GetStringAsync(new Uri("metrics", UriKind.Relative)), series);

    /// <summary>The numbers of the stored lines of run <paramref name="token"/>, every hit once (paged in document order).</summary>
    private static async Task<List<int>> StoredLineNumbersAsync(HttpClient http, string token)
    {
        const int PageSize = 5000;
        var numbers = new List<int>();
        string? after = null;
        while (true)
        {
            var body = "{\"query\":{\"match\":{\"message\":\"" + token + "\"}},\"size\":" + PageSize.ToString(CultureInfo.InvariantCulture)
                + ",\"sort\":[{\"_doc\":\"asc\"}],\"_source\":[\"message\"]" + (after is null ? string.Empty : ",\"search_after\":" + after) + "}";
            var hits = (await GatewayTestKit.SearchAsync(http, "logstash-*", body))["hits"]!["hits"]!.AsArray();
            foreach (var hit in hits)
            {
                var message = (string)hit!["_source"]!["message"]!;
                numbers.Add(int.Parse(message[(message.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            }

            if (hits.Count < PageSize)
            {
                return numbers;
            }

            after = hits[^1]!["sort"]!.ToJsonString();
        }
    }
}
