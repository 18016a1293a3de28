using System.Text.Json;
using Flotel.IntegrationTests.Outputs.TimestreamFake;
using Flotel.Model.Metrics;
using static Flotel.IntegrationTests.Outputs.TimestreamOutputHarness;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>The timestream output against the fake server (written from the documented protocol; no real Timestream runs here).</summary>
public sealed class TimestreamOutputTests
{
    [Fact]
    public async Task Output_SeriesWithManySamples_WritesEveryRecordInSignedCallsOfAtMost100()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        await using var h = Create(fake);
        await h.AppendAsync(Series("node_load1", "dev1", 150), Series("node_load5", "dev1", 150), Series("node_load1", "dev2", 150, i => i * 0.1));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent == 450, "450 records sent");

        Assert.Empty(fake.Violations);
        Assert.Equal(450, fake.Stored.Count);
        Assert.Equal(100, fake.MaxRecordsInCall);
        Assert.Equal(5, fake.WriteRecordsCalls);
        Assert.Equal(1, fake.DescribeEndpointsCalls);
        Assert.All(fake.Requests.Where(r => r.Target.EndsWith("WriteRecords", StringComparison.Ordinal)), r => Assert.Equal(fake.ActiveCellPort, r.Port));
        var stored = fake.Stored.Where(r => r.Name == "node_load1" && r.Dimensions["edgedeviceid"] == "dev2").MaxBy(r => r.TimeMs)!;
        Assert.Equal(14.9, stored.Value, 10);
        Assert.Equal(["edgedeviceid", "job"], stored.Dimensions.Keys);
        Assert.Equal(450, h.Items("sent", "ok"));
        Assert.Equal(0, h.Output.Delivery.Retries + h.Output.Delivery.DeadLettered + h.Output.Delivery.Dropped);
    }

    [Fact]
    public async Task Output_RecordsTimestreamCannotTake_AreCountedOrDeadLetteredAndNeverSent()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        await using var h = Create(fake);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var labels = LabelSet.Of("__name__", "m", "edgedeviceid", "dev1");
        await h.AppendAsync(
            new TimeSeries(labels, [new Sample(now - 3000, 1), new Sample(now - 2000, double.NaN), new Sample(now - 1000, Sample.StaleMarker)]),
            new TimeSeries(LabelSet.Of("__name__", "inf", "edgedeviceid", "dev1"), [new Sample(now, double.PositiveInfinity), new Sample(now, double.NegativeInfinity)]),
            new TimeSeries(LabelSet.Of("__name__", "lonely"), [new Sample(now, 1)]),
            new TimeSeries(LabelSet.Of("__name__", "old", "edgedeviceid", "dev1"), [new Sample(now - (7 * 3_600_000L), 1)]),
            new TimeSeries(LabelSet.Of("__name__", "future", "edgedeviceid", "dev1"), [new Sample(now + 3_600_000L, 1)]),
            new TimeSeries(LabelSet.Of("__name__", "wide", new string('d', 61), "x"), [new Sample(now, 1)]),
            new TimeSeries(LabelSet.Of("__name__", "ok", "edgedeviceid", "dev1"), [new Sample(now - 500, 2)]));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent == 2 && h.Output.Delivery.DeadLettered == 4 && h.Output.Delivery.Dropped == 4, "every record settled");

        Assert.Empty(fake.Violations);
        Assert.Equal(["m", "ok"], fake.Stored.Select(r => r.Name).Order());
        Assert.Equal(1, h.Items("dropped", "stale_marker"));
        Assert.Equal(3, h.Items("dropped", "non_finite"));
        Assert.Equal(1, h.Items("dead_lettered", "no_dimension"));
        Assert.Equal(1, h.Items("dead_lettered", "too_old"));
        Assert.Equal(1, h.Items("dead_lettered", "too_new"));
        Assert.Equal(1, h.Items("dead_lettered", "name_too_long"));
        var lines = (await File.ReadAllLinesAsync(h.DeadLetterPath)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["future", "lonely", "old", "wide"], lines.Select(l => l.GetProperty("item").GetProperty("labels").GetProperty("__name__").GetString()).Order());
        Assert.All(lines, l => Assert.Equal("ts", l.GetProperty("output").GetString()));
        Assert.Contains(lines, l => l.GetProperty("reason").GetString()!.Contains("memory-store retention", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Output_RejectedRecords419_DeadLettersRejectedOnesAndAcknowledgesTheRest()
    {
        await using var fake = new FakeTimestreamServer { RejectMeasureName = "bad_metric" };
        await fake.StartAsync();
        await using var h = Create(fake);
        await h.AppendAsync(Series("good", "dev1", 5), Series("bad_metric", "dev1", 2), Series("good", "dev2", 3));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent + h.Output.Delivery.DeadLettered == 10, "10 records settled");

        Assert.Equal(8, h.Output.Delivery.Sent);
        Assert.Equal(2, h.Items("dead_lettered", "rejected_record"));
        Assert.Equal(8, fake.Stored.Count);
        Assert.Equal(1, fake.WriteRecordsCalls);
        Assert.Equal(0, h.Output.Delivery.Retries);
        var lines = await File.ReadAllLinesAsync(h.DeadLetterPath);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Contains("Scripted rejection of measure bad_metric", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Output_ThrottlingAndServerErrors_RetriedUntilStoredWithNothingLost()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        fake.EnqueueFaults(FakeTimestreamServer.Fault.Throttling, FakeTimestreamServer.Fault.InternalError, FakeTimestreamServer.Fault.Throttling);
        await using var h = Create(fake);
        await h.AppendAsync(Series("up", "dev1", 120));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent == 120, "120 records sent");

        Assert.Equal(3, h.Output.Delivery.Retries);
        Assert.Equal(5, fake.WriteRecordsCalls);
        Assert.Equal(120, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.DeadLettered + h.Output.Delivery.Dropped + h.Output.Delivery.Lost);
        Assert.Empty(fake.Violations);
    }

    [Fact]
    public async Task Output_PermanentErrors_DeadLetterTheCallWithoutRetrying()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        fake.EnqueueFaults(FakeTimestreamServer.Fault.Validation, FakeTimestreamServer.Fault.ResourceNotFound);
        await using var h = Create(fake);
        await h.AppendAsync(Series("up", "dev1", 200), Series("up", "dev2", 50));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent + h.Output.Delivery.DeadLettered == 250, "250 records settled");

        Assert.Equal(0, h.Output.Delivery.Retries);
        Assert.Equal(100, h.Items("dead_lettered", "validation"));
        Assert.Equal(100, h.Items("dead_lettered", "resource_not_found"));
        Assert.Equal(50, h.Output.Delivery.Sent);
        Assert.Equal(3, fake.WriteRecordsCalls);
        Assert.Equal(200, (await File.ReadAllLinesAsync(h.DeadLetterPath)).Length);
    }

    [Fact]
    public async Task Output_DescribeEndpointsAnswersInvalidSignatureForAWhile_RetriesUntilItSucceedsAndDeliversEveryRecord()
    {
        // A wrong or rotated key: the discovery call is refused before any write. The records are not at fault.
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        fake.EnqueueDescribeEndpointsFaults(
            FakeTimestreamServer.Fault.InvalidSignature, FakeTimestreamServer.Fault.InvalidSignature,
            FakeTimestreamServer.Fault.UnrecognizedClient, FakeTimestreamServer.Fault.AccessDenied);
        await using var h = Create(fake);
        await h.AppendAsync(Series("up", "dev1", 150));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent == 150, "150 records sent once the credentials are accepted");

        Assert.Equal(5, fake.DescribeEndpointsCalls);
        Assert.Equal(4, h.Output.Delivery.Retries);
        Assert.Equal(150, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.DeadLettered + h.Output.Delivery.Dropped + h.Output.Delivery.Lost);
        Assert.False(File.Exists(h.DeadLetterPath) && new FileInfo(h.DeadLetterPath).Length > 0, "nothing dead-lettered");
        Assert.Empty(fake.Violations);
    }

    [Fact]
    public async Task Output_WriteRecordsAnswersCredentialErrors_RetriesTheCallAndDeadLettersNothing()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        fake.EnqueueFaults(FakeTimestreamServer.Fault.AccessDenied, FakeTimestreamServer.Fault.InvalidSignature, FakeTimestreamServer.Fault.UnrecognizedClient);
        await using var h = Create(fake);
        await h.AppendAsync(Series("up", "dev1", 150));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Sent == 150, "150 records sent");

        Assert.Equal(3, h.Output.Delivery.Retries);
        Assert.Equal(5, fake.WriteRecordsCalls);
        Assert.Equal(150, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.DeadLettered + h.Output.Delivery.Dropped + h.Output.Delivery.Lost);
        Assert.Empty(fake.Violations);
    }

    [Fact]
    public async Task Output_CellMoved421_RediscoversTheEndpointAndWritesThere()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        await using var h = Create(fake);
        h.Output.Start();
        await h.AppendAsync(Series("up", "dev1", 10));
        await Until(() => h.Output.Delivery.Sent == 10, "first 10 sent");
        var firstCell = fake.ActiveCellPort;
        fake.MoveCell();
        await h.AppendAsync(Series("up", "dev2", 10));
        await Until(() => h.Output.Delivery.Sent == 20, "20 sent");

        Assert.Equal(2, fake.DescribeEndpointsCalls);
        Assert.Equal(20, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.Retries);
        Assert.Equal(new Uri($"http://127.0.0.1:{fake.ActiveCellPort}/"), h.Output.Client.CurrentEndpoint);
        Assert.NotEqual(firstCell, fake.ActiveCellPort);
        // One WriteRecords went to the old cell after the move and was answered 421, then resent to the new cell.
        var writes = fake.Requests.Where(r => r.Target.EndsWith("WriteRecords", StringComparison.Ordinal)).Select(r => r.Port).ToList();
        Assert.Equal([firstCell, firstCell, fake.ActiveCellPort], writes);
    }

    [Fact]
    public async Task Output_PeerDownAtStart_DeliversEverythingOnceItIsUp()
    {
        await using var fake = new FakeTimestreamServer();
        await using var h = Create(fake);
        await h.AppendAsync(Series("up", "dev1", 250));
        h.Output.Start();
        await Until(() => h.Output.Delivery.Retries >= 3, "retries while the peer is down");
        Assert.Equal(0, h.Output.Delivery.Sent);
        await fake.StartAsync();
        await Until(() => h.Output.Delivery.Sent == 250, "250 records sent after the peer came up");

        Assert.Equal(250, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.DeadLettered + h.Output.Delivery.Lost);
        Assert.Empty(fake.Violations);
    }

    [Fact]
    public async Task Output_PeerGoesAwayMidStream_ResumesWithoutLossOrRejectedDuplicates()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        await using var h = Create(fake);
        var series = Enumerable.Range(0, 20).Select(i => Series("node_cpu", "dev" + i, 100, s => (i * 1000) + s)).ToArray();
        foreach (var s in series)
        {
            await h.AppendAsync(s);
        }

        h.Output.Start();
        await Until(() => fake.Stored.Count >= 300, "some records stored before the peer goes away");
        await fake.StopAsync();
        var sentWhenStopped = h.Output.Delivery.Sent;
        await Until(() => h.Output.Delivery.Retries >= 2, "retries while the peer is away");
        Assert.True(h.Output.Delivery.Sent < 2000, "the peer went away before everything was sent");
        await fake.StartAsync();
        await Until(() => h.Output.Delivery.Sent == 2000, "all 2000 records sent");

        Assert.True(sentWhenStopped < 2000);
        Assert.Equal(2000, fake.Stored.Count);
        Assert.Equal(0, h.Output.Delivery.DeadLettered + h.Output.Delivery.Dropped + h.Output.Delivery.Lost);
        Assert.Empty(fake.Violations);
    }
}
