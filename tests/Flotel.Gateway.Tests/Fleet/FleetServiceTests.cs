using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Fleet;

public sealed class FleetServiceTests : IDisposable
{
    private readonly TempDirectory _data = new("flotel-fleetservice-");
    private readonly FakeTimeProvider _time = new(FleetTestKit.Now);
    private readonly FleetOptions _options = new() { Enabled = true, CertificateDays = 30, RenewGraceDays = 10, OfflineAfterSeconds = 180 };

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Generation_GrowsOnlyWhenTheDevicesBytesChange_AndSurvivesARestart()
    {
        var blog = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"));
        string digest;
        await using (var fleet = Start())
        {
            fleet.Apply(blog);
            Assert.Equal(1, await GenerationAsync(fleet));
            fleet.Apply(blog);
            fleet.Apply(FleetTestKit.ObjectsOfText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\ndata: {a: b}\n", "x.yaml"));
            Assert.Equal(1, await GenerationAsync(fleet));

            fleet.Apply([.. blog.Select(o => o.Key == "configmap/logstash-syslog" ? o with { Yaml = o.Yaml.Replace("Protocol: tcp", "Protocol: udp", StringComparison.Ordinal) } : o)]);
            Assert.Equal(2, await GenerationAsync(fleet));
            digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;
        }

        await using var restarted = Start();
        var (known, generation, bundle, _) = await restarted.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None);
        Assert.True(known);
        Assert.Equal((2, digest), (generation, bundle!.Digest));
    }

    [Fact]
    public async Task LongPoll_WakesOnChangeOrDeletion_AndAnswersNotModifiedWhenTimeRunsOut()
    {
        await using var fleet = Start();
        fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;

        var timedOut = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(timedOut.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(61));
        var (known, generation, bundle, _) = await timedOut;
        Assert.Equal((true, 1L, (RenderedBundle?)null), (known, generation, bundle));

        var removed = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(removed.IsCompleted);
        Assert.True(fleet.Delete(FleetRenderer.DeviceKind, "edge-device-1"));
        Assert.False((await removed).Known);
    }

    [Fact]
    public async Task LongPoll_AtMaxHeldPolls_IsAnsweredAtOnceAsDeferred_WhileTheHeldOneWaits()
    {
        _options.MaxHeldPolls = 1;
        var metrics = new MetricsRegistry();
        await using var fleet = FleetService.Start(_data.Path, _options, metrics, _time, NullLogger.Instance);
        fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;

        var held = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(held.IsCompleted);
        Assert.False(fleet.PollsByInterval("edge-device-1"));

        var over = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.True(over.IsCompleted);
        Assert.Equal((true, 1L, (RenderedBundle?)null, true), await over);
        Assert.True(fleet.PollsByInterval("edge-device-1"));
        Assert.Contains("flotel_fleet_longpolls_waiting 1\n", metrics.ToText(), StringComparison.Ordinal);
        Assert.Contains("flotel_fleet_longpolls_deferred_total 1\n", metrics.ToText(), StringComparison.Ordinal);
        Assert.False(held.IsCompleted);
    }

    [Fact]
    public async Task LongPoll_SlotFreedByAnAnsweredPoll_IsHeldAgain()
    {
        _options.MaxHeldPolls = 1;
        await using var fleet = Start();
        fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;
        var first = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.True((await fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None)).Deferred);

        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.False((await first).Deferred);
        var second = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(second.IsCompleted);
        Assert.False(fleet.PollsByInterval("edge-device-1"));
    }

    [Fact]
    public async Task LongPoll_MaxHeldPollsZero_DefersEveryWait_ButAChangeArrivesOnTheNextPoll()
    {
        _options.MaxHeldPolls = 0;
        await using var fleet = Start();
        var blog = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"));
        fleet.Apply(blog);
        var digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.FromSeconds(60), CancellationToken.None)).Bundle!.Digest;
        var deferred = await fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal((true, (RenderedBundle?)null, true), (deferred.Known, deferred.Bundle, deferred.Deferred));

        fleet.Apply([.. blog.Select(o => o.Key == "configmap/logstash-syslog"
            ? o with { Yaml = o.Yaml.Replace("Protocol: tcp", "Protocol: udp", StringComparison.Ordinal) }
            : o)]);
        var next = await fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal((2L, false), (next.Generation, next.Deferred));
        Assert.NotEqual(digest, next.Bundle!.Digest);
        Assert.InRange(fleet.PollRetryAfter(), 27, 33);
    }

    [Fact]
    public async Task ReleaseWaiters_AnswersHeldPollsAtOnce()
    {
        await using var fleet = Start();
        fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var digest = (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;
        var held = fleet.GetBundleAsync("edge-device-1", digest, TimeSpan.FromSeconds(300), CancellationToken.None);
        Assert.False(held.IsCompleted);
        fleet.ReleaseWaiters();
        Assert.Null((await held).Bundle);
    }

    [Fact]
    public async Task Admit_RevokedRefused_ExpiredOnlyForRenewalWithinGrace()
    {
        await using var fleet = Start();
        fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var (token, _) = fleet.CreateToken("edge-device-1", TimeSpan.FromHours(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var (pem, refusal) = fleet.Enroll(token, csr);
        Assert.Null(refusal);
        using var certificate = X509Certificate2.CreateFromPem(pem);

        var identity = fleet.Authority.Verify(certificate, _time.GetUtcNow(), out _)!;
        Assert.Null(fleet.Admit(identity, renewing: false));
        var expired = identity with { Expired = true };
        _time.Advance(TimeSpan.FromDays(35)); // 5 days after expiry, within the 10-day grace
        Assert.Equal("certificate expired", fleet.Admit(expired, renewing: false));
        Assert.Null(fleet.Admit(expired, renewing: true));
        Assert.Contains("BEGIN CERTIFICATE", fleet.Renew(expired, csr), StringComparison.Ordinal);
        _time.Advance(TimeSpan.FromDays(6));
        Assert.Equal("certificate expired", fleet.Admit(expired, renewing: true));

        fleet.Delete(FleetRenderer.DeviceKind, "edge-device-1");
        Assert.Equal("certificate revoked", fleet.Admit(identity, renewing: true));
    }

    [Fact]
    public async Task Status_FromTwoInstancesWithinTheOfflineWindow_FlagsDuplicateIdentity_AndIsPersisted()
    {
        await using (var fleet = Start())
        {
            fleet.Apply(FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
            fleet.ReportStatus("edge-device-1", "a", new JsonObject { ["generation"] = 1, ["applyStatus"] = "applied", ["agentVersion"] = "1" });
            Assert.False((bool)fleet.DescribeDevices()[0]!["duplicateIdentity"]!);
            _time.Advance(TimeSpan.FromSeconds(30));
            fleet.ReportStatus("edge-device-1", "b", new JsonObject { ["generation"] = 1, ["applyStatus"] = "applied" });
            var device = fleet.DescribeDevices()[0]!;
            Assert.True((bool)device["duplicateIdentity"]!);
            Assert.Equal("applied", (string)device["status"]!);

            _time.Advance(TimeSpan.FromSeconds(181));
            Assert.Equal("offline", (string)fleet.DescribeDevices()[0]!["status"]!);
            Assert.Throws<FleetRequestException>(() => fleet.ReportStatus("edge-device-1", "b", new JsonObject { ["applyStatus"] = "maybe" }));
        }

        await using var restarted = Start();
        var persisted = restarted.DescribeDevices()[0]!;
        Assert.Equal("2026-12-06T12:00:30Z", (string)persisted["lastSeen"]!);
        Assert.Equal(1, (long)persisted["appliedGeneration"]!);
    }

    private FleetService Start() => FleetService.Start(_data.Path, _options, new MetricsRegistry(), _time, NullLogger.Instance);

    private static async Task<long> GenerationAsync(FleetService fleet) =>
        (await fleet.GetBundleAsync("edge-device-1", null, TimeSpan.Zero, CancellationToken.None)).Generation;
}
