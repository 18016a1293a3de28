using System.Diagnostics;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Flotel.Store.Tests.Metrics;

public sealed class MetricStoreTests(ITestOutputHelper output) : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static LabelMatcher Eq(string name, string value) => new(LabelMatchType.Equal, name, value);

    private static Sample[] Regular(int count, long start = T0, long step = 15_000, Func<int, double>? value = null)
    {
        var samples = new Sample[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = new Sample(start + (i * step), value?.Invoke(i) ?? i);
        }

        return samples;
    }

    [Fact]
    public void Select_Series_WithAStoppedToken_ThrowOperationCanceled()
    {
        using var store = _fixture.Open();
        store.Append(LabelSet.Of("__name__", "up", "job", "node"), Regular(10));
        using var stopped = new CancellationTokenSource();
        stopped.Cancel();

        Assert.Throws<OperationCanceledException>(() => store.Select([Eq("__name__", "up")], long.MinValue, long.MaxValue, stopped.Token));
        Assert.Throws<OperationCanceledException>(() => store.LabelValues("job", [], long.MinValue, long.MaxValue, stopped.Token));
        Assert.Single(store.Select([Eq("__name__", "up")], long.MinValue, long.MaxValue, CancellationToken.None));
    }

    [Fact]
    public void Select_AfterAppendAcrossManyChunks_ReturnsEverySampleInRange()
    {
        using var store = _fixture.Open();
        var labels = LabelSet.Of("__name__", "up", "job", "node");
        var samples = Regular(1000, value: i => i * 0.5);
        var r = store.Append(labels, samples);
        Assert.Equal(new AppendResult(1000, 0, 0, 1), r);

        var all = Assert.Single(store.Select([Eq("__name__", "up")], long.MinValue, long.MaxValue));
        Assert.Equal(labels, all.Labels);
        Assert.Equal(samples, all.Samples);

        var part = Assert.Single(store.Select([Eq("job", "node")], samples[100].TimestampMs, samples[300].TimestampMs));
        Assert.Equal(samples[100..301], part.Samples);
    }

    [Fact]
    public void Append_OlderOrEqualTimestamps_AreCountedAndDropped()
    {
        using var store = _fixture.Open();
        var labels = LabelSet.Of("__name__", "c");
        store.Append(labels, Regular(5));
        var r = store.Append(labels, [new Sample(T0 + 30_000, 9), new Sample(T0 + 60_000, 9), new Sample(T0 + 59_999, 9), new Sample(T0 + 75_000, 5)]);
        Assert.Equal(new AppendResult(1, 2, 1, 0), r);
        Assert.Equal(2, store.OutOfOrderTotal);
        Assert.Equal(1, store.DuplicateTotal);
        var s = Assert.Single(store.Select([Eq("__name__", "c")], long.MinValue, long.MaxValue));
        Assert.Equal(6, s.Samples.Length);
        Assert.Equal(5, s.Samples[^1].Value);
    }

    [Fact]
    public void Append_RemoteWriteBody_StoresEverySeriesAndSample()
    {
        using var store = _fixture.Open();
        var request = new WriteRequest(
        [
            new TimeSeries(LabelSet.Of("__name__", "a", "instance", "x"), Regular(3)),
            new TimeSeries(LabelSet.Of("__name__", "a", "instance", "y", "empty", string.Empty), Regular(2, value: _ => Sample.StaleMarker)),
        ]);
        var r = store.AppendRemoteWriteBody(RemoteWriteCodec.Encode(request));
        Assert.Equal(new AppendResult(5, 0, 0, 2), r);

        // A redelivered body (the durable queue replays after a crash) changes nothing.
        var again = store.AppendRemoteWriteBody(RemoteWriteCodec.Encode(request));
        Assert.Equal(new AppendResult(0, 3, 2, 0), again);

        var y = Assert.Single(store.Select([Eq("instance", "y")], long.MinValue, long.MaxValue));
        Assert.Equal(LabelSet.Of("__name__", "a", "instance", "y"), y.Labels);
        Assert.All(y.Samples, s => Assert.True(s.IsStaleMarker));
    }

    [Fact]
    public void Select_EachMatcherKind_SelectsLikePrometheus()
    {
        using var store = _fixture.Open();
        store.Append(LabelSet.Of("__name__", "m", "job", "api", "env", "prod"), Regular(1));
        store.Append(LabelSet.Of("__name__", "m", "job", "api2"), Regular(1));
        store.Append(LabelSet.Of("__name__", "m", "job", "db", "env", "dev"), Regular(1));

        string Jobs(params LabelMatcher[] ms) => string.Join(",", store.Select(ms, long.MinValue, long.MaxValue).Select(s => s.Labels.TryGetValue("job", out var j) ? j : "?").Order(StringComparer.Ordinal));

        Assert.Equal("api", Jobs(Eq("__name__", "m"), Eq("job", "api")));
        Assert.Equal("api2,db", Jobs(Eq("__name__", "m"), new LabelMatcher(LabelMatchType.NotEqual, "job", "api")));
        Assert.Equal("api,api2", Jobs(new LabelMatcher(LabelMatchType.RegexMatch, "job", "api.*")));
        Assert.Equal(string.Empty, Jobs(new LabelMatcher(LabelMatchType.RegexMatch, "job", "pi")));
        Assert.Equal("db", Jobs(Eq("__name__", "m"), new LabelMatcher(LabelMatchType.RegexNoMatch, "job", "api.*")));
        Assert.Equal("api2", Jobs(Eq("__name__", "m"), Eq("env", string.Empty)));
        Assert.Equal("api,db", Jobs(Eq("__name__", "m"), new LabelMatcher(LabelMatchType.NotEqual, "env", string.Empty)));
    }

    [Fact]
    public async Task Reopen_AfterFlush_KeepsSamplesAndRejectsOldOnes()
    {
        var labels = LabelSet.Of("__name__", "g", "k", "v");
        var samples = Regular(250, value: i => Math.Sin(i));
        using (var store = _fixture.Open())
        {
            store.Append(labels, samples);
            await store.FlushAsync();
        }

        using (var store = _fixture.Open())
        {
            var s = Assert.Single(store.Select([Eq("k", "v")], long.MinValue, long.MaxValue));
            Assert.Equal(samples, s.Samples);
            var r = store.Append(labels, [samples[^1], new Sample(samples[^1].TimestampMs + 15_000, 1)]);
            Assert.Equal(new AppendResult(1, 0, 1, 0), r);
            Assert.Equal(251, Assert.Single(store.Select([Eq("k", "v")], long.MinValue, long.MaxValue)).Samples.Length);
            Assert.Equal(["k", "__name__"], store.LabelNames([], long.MinValue, long.MaxValue).Reverse());
            Assert.Equal(["v"], store.LabelValues("k", [], long.MinValue, long.MaxValue));
        }
    }

    [Fact]
    public async Task AppendRemoteWriteBody_ReplayedAfterFlushAndReopen_StoresEachSampleOnce()
    {
        // The durable queue's store-metrics cursor moves only after a flush: a crash between the flush and the cursor
        // write delivers every body of that interval again, to a store that already holds their samples.
        var x = LabelSet.Of("__name__", "r", "i", "x");
        var y = LabelSet.Of("__name__", "r", "i", "y");
        byte[][] bodies =
        [
            RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(x, Regular(3)), new TimeSeries(y, Regular(2))])),
            RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(x, Regular(2, start: T0 + 45_000))])),
        ];
        using (var store = _fixture.Open())
        {
            Assert.Equal(7, bodies.Sum(b => store.AppendRemoteWriteBody(b).Appended));
            await store.FlushAsync();
        }

        using (var reopened = _fixture.Open())
        {
            var replayed = bodies.Select(b => reopened.AppendRemoteWriteBody(b)).ToList();

            Assert.Equal(0, replayed.Sum(r => r.Appended));
            Assert.Equal(7, replayed.Sum(r => r.Duplicate + r.OutOfOrder));
            var stored = Assert.Single(reopened.Select([Eq("i", "x")], long.MinValue, long.MaxValue)).Samples;
            Assert.Equal([.. Regular(3), .. Regular(2, start: T0 + 45_000)], stored);
            Assert.Equal(Regular(2), Assert.Single(reopened.Select([Eq("i", "y")], long.MinValue, long.MaxValue)).Samples);
        }
    }

    [Fact]
    public async Task Flush_TwiceWhileHeadGrows_DoesNotDuplicateSamples()
    {
        using var store = _fixture.Open();
        var labels = LabelSet.Of("__name__", "h");
        store.Append(labels, Regular(10));
        await store.FlushAsync();
        store.Append(labels, Regular(10, start: T0 + 150_000));
        await store.FlushAsync();
        Assert.Equal(20, Assert.Single(store.Select([Eq("__name__", "h")], long.MinValue, long.MaxValue)).Samples.Length);
    }

    [Fact]
    public void ApplyRetention_OldSeries_IsDeletedAndNewKept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + TimeSpan.FromDays(1).Ticks / TimeSpan.TicksPerMillisecond));
        // 240 samples a chunk, so each series' 300 samples are a stored chunk and a head.
        using var store = _fixture.Open(time, o => (o.RetentionAge, o.MaxSamplesPerChunk) = (TimeSpan.FromHours(12), 240));
        store.Append(LabelSet.Of("__name__", "old"), Regular(300));
        store.Append(LabelSet.Of("__name__", "new"), Regular(300, start: T0 + (long)TimeSpan.FromHours(20).TotalMilliseconds));
        var result = store.ApplyRetention();
        Assert.Equal(1, result.SeriesDeleted);
        Assert.True(result.ChunksDeleted >= 1);
        Assert.Empty(store.Select([Eq("__name__", "old")], long.MinValue, long.MaxValue));
        Assert.Equal(300, Assert.Single(store.Select([Eq("__name__", "new")], long.MinValue, long.MaxValue)).Samples.Length);
        Assert.Equal(1, store.SeriesCount);
    }

    [Fact]
    public void ApplyRetention_OverByteLimit_DeletesOldestChunksFirst()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 36_000_000));
        using var store = _fixture.Open(time, o => o.RetentionBytes = 200 * 1024);
        var rng = new Random(1);
        for (var s = 0; s < 50; s++)
        {
            store.Append(LabelSet.Of("__name__", "big", "s", s.ToString(System.Globalization.CultureInfo.InvariantCulture)), Regular(2400, value: _ => rng.NextDouble()));
        }

        output.WriteLine($"used {store.UsedBytes()} disk {store.DiskBytes} chunks {store.ChunkStatistics()}");
        var result = store.ApplyRetention();
        output.WriteLine($"used {store.UsedBytes()} disk {store.DiskBytes} chunks {store.ChunkStatistics()} deleted {result}");
        Assert.True(result.ChunksDeleted > 0);
        var remaining = store.Select([Eq("__name__", "big")], long.MinValue, long.MaxValue);
        var oldest = remaining.Min(r => r.Samples[0].TimestampMs);
        Assert.True(oldest > T0, "the oldest chunks go first");
        Assert.All(remaining, r => Assert.Equal(T0 + (2399 * 15_000), r.Samples[^1].TimestampMs));
    }

    [Fact]
    public void ApplyRetention_ByteLimitDeletesEveryChunkOfSomeSeries_ThoseSeriesGoAndTheRestStartAtTheirOldestSample()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 72_000_000));
        var rng = new Random(3);
        long used;
        const long NewStart = T0 + (1200 * 15_000);
        using (var store = _fixture.Open(time))
        {
            // 20 series that stopped before 20 others started; after a restart none has samples in memory.
            for (var s = 0; s < 20; s++)
            {
                var id = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
                store.Append(LabelSet.Of("__name__", "old", "s", id), Regular(1200, value: _ => rng.NextDouble()));
                store.Append(LabelSet.Of("__name__", "new", "s", id), Regular(1200, start: NewStart, value: _ => rng.NextDouble()));
            }

            used = store.UsedBytes();
        }

        using (var store = _fixture.Open(time, o => o.RetentionBytes = used / 2))
        {
            var result = store.ApplyRetention();

            output.WriteLine($"used {used} → {store.UsedBytes()}, {result}");
            Assert.Equal(20, result.SeriesDeleted);
            Assert.Empty(store.Series([Eq("__name__", "old")], long.MinValue, long.MaxValue));
            Assert.DoesNotContain("old", store.LabelValues("__name__", [], long.MinValue, long.MaxValue));
            Assert.Equal(20, store.SeriesCount);
            var remaining = store.Select([Eq("__name__", "new")], long.MinValue, long.MaxValue);
            Assert.Equal(20, remaining.Count);
            Assert.Contains(remaining, r => r.Samples[0].TimestampMs > NewStart); // the limit reached into the new series too
            foreach (var r in remaining)
            {
                // A series is listed for a range only when it has samples there.
                var first = r.Samples[0].TimestampMs;
                Assert.True(r.Labels.TryGetValue("s", out var id));
                Assert.Empty(store.Series([Eq("__name__", "new"), Eq("s", id)], long.MinValue, first - 1));
                Assert.Single(store.Series([Eq("__name__", "new"), Eq("s", id)], long.MinValue, first));
            }
        }
    }

    [Fact]
    public async Task DiskUsage_NodeExporterLikeLoad_StaysUnderTwoBytesPerSample()
    {
        // 1,000 series × 2,880 samples (12 h at 15 s, 0–2 ms scrape jitter, appended 10 minutes at a time for every
        // series in turn, as remote-write batches arrive), a node_exporter-like mix: half constant or rarely changing
        // (sizes, info, idle interfaces), a quarter integer counters (bytes, packets), 15 % float seconds counters
        // with two decimals (node_cpu_seconds_total), 10 % gauges with three decimals drifting by up to ±0.5 per
        // scrape (load, temperatures).
        using var store = _fixture.Open();
        var rng = new Random(7);
        const int seriesCount = 1000;
        const int perSeries = 2880;
        const int perBatch = 40;
        var values = new double[seriesCount];
        var labelSets = new LabelSet[seriesCount];
        for (var s = 0; s < seriesCount; s++)
        {
            labelSets[s] = LabelSet.Of("__name__", "node_metric_" + (s % 50).ToString(System.Globalization.CultureInfo.InvariantCulture), "instance", "host-" + (s / 50).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":9100", "job", "node");
            values[s] = rng.Next(0, 1_000_000);
        }

        var sw = Stopwatch.StartNew();
        var batch = new Sample[perBatch];
        for (var start = 0; start < perSeries; start += perBatch)
        {
            for (var s = 0; s < seriesCount; s++)
            {
                for (var k = 0; k < perBatch; k++)
                {
                    var i = start + k;
                    values[s] = (s % 20) switch
                    {
                        < 10 => i % 40 == 0 ? values[s] + 1 : values[s],
                        < 15 => values[s] + rng.Next(0, 1000),
                        < 18 => Math.Round(values[s] + (rng.NextDouble() * 15), 2),
                        _ => Math.Round(values[s] + rng.NextDouble() - 0.5, 3),
                    };
                    batch[k] = new Sample(T0 + (i * 15_000L) + rng.Next(0, 3), values[s]);
                }

                store.Append(labelSets[s], batch);
            }
        }

        await store.FlushAsync();
        sw.Stop();
        var samples = (double)seriesCount * perSeries;
        var bytesPerSample = store.DiskBytes / samples;
        output.WriteLine($"chunks {store.ChunkStatistics()} used {store.UsedBytes()}");
        output.WriteLine($"{samples} samples, {store.DiskBytes} bytes on disk, {bytesPerSample:F3} bytes/sample, {samples / sw.Elapsed.TotalSeconds:F0} samples/s (per-sample model API)");
        Assert.True(bytesPerSample <= 2.0, $"{bytesPerSample:F3} bytes/sample");
    }

    [Fact]
    public void Append_BatchedRemoteWriteRequests_MeasuresIngestRate()
    {
        using var store = _fixture.Open();
        const int series = 10_000;
        const int perRequest = 5;
        var requests = new List<byte[]>();
        for (var r = 0; r < 50; r++)
        {
            var ts = new List<TimeSeries>(series);
            for (var s = 0; s < series; s++)
            {
                var samples = new Sample[perRequest];
                for (var k = 0; k < perRequest; k++)
                {
                    var i = (r * perRequest) + k;
                    samples[k] = new Sample(T0 + (i * 15_000L), (s * 10.0) + i);
                }

                ts.Add(new TimeSeries(LabelSet.Of("__name__", "bench_total", "series", s.ToString(System.Globalization.CultureInfo.InvariantCulture), "job", "bench"), samples));
            }

            requests.Add(WriteRequestEncoder.Encode(new WriteRequest(ts)));
        }

        Assert.Equal(series * perRequest, store.Append(requests[0]).Appended);
        var sw = Stopwatch.StartNew();
        var appended = 0;
        foreach (var body in requests.Skip(1))
        {
            appended += store.Append(body).Appended;
        }

        sw.Stop();
        Assert.Equal(49 * series * perRequest, appended); // 250 samples per series: every series seals one chunk
        output.WriteLine($"{appended} samples in {sw.Elapsed.TotalMilliseconds:F0} ms = {appended / sw.Elapsed.TotalSeconds:F0} samples/s into existing series");
    }
}
