using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Fleet;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>Staged rollout (docs/fleet.md §3.1) on <see cref="FleetService"/>: ten devices that all run one workload.</summary>
public sealed class FleetRolloutTests : IDisposable
{
    private const int Devices = 10;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private static readonly CanarySize TwentyPercent = new(20, true);

    private readonly TempDirectory _data = new("flotel-rollout-");
    private readonly FakeTimeProvider _time = new(FleetTestKit.Now);
    private readonly FleetOptions _options = new() { Enabled = true, OfflineAfterSeconds = 180 };

    public void Dispose() => _data.Dispose();

    [Theory]
    [InlineData("10%", 10, 1)]
    [InlineData("25%", 10, 3)]
    [InlineData("1%", 1000, 10)]
    [InlineData("1%", 3, 1)]
    [InlineData("100%", 7, 7)]
    [InlineData("3", 10, 3)]
    [InlineData("3", 2, 2)]
    [InlineData(" 5 ", 10, 5)]
    public void CanarySize_PercentRoundsUpCountIsCapped_AtLeastOne(string text, int affected, int canaries) =>
        Assert.Equal(canaries, CanarySize.Parse(text, out _)!.Value.Of(affected));

    [Theory]
    [InlineData("0")]
    [InlineData("0%")]
    [InlineData("101%")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("%")]
    [InlineData("ten")]
    [InlineData("")]
    [InlineData("99999999999")]
    public void CanarySize_NotAPercentageOrCount_IsRefusedWithTheReason(string text)
    {
        Assert.Null(CanarySize.Parse(text, out var error));
        Assert.Contains("must be a percentage from 1% to 100% or a device count", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CanarySize_LongText_IsEchoedCut()
    {
        Assert.Null(CanarySize.Parse(new string('9', 100_000), out var error));
        Assert.StartsWith("canary '" + new string('9', 32) + "…' must be", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ChooseCanaries_DependsOnTheNamesOnly_NotOnTheirOrder()
    {
        var names = Enumerable.Range(0, Devices).Select(i => $"dev-{i}").ToList();
        var picked = FleetRollout.ChooseCanaries(names, new CanarySize(3, false));
        Assert.Equal(3, picked.Count);
        Assert.Equal(picked, FleetRollout.ChooseCanaries(Enumerable.Reverse(names), new CanarySize(3, false)));
        Assert.Equal(picked.Take(1), FleetRollout.ChooseCanaries(names, new CanarySize(10, true)));
        Assert.Equal(names.Order(StringComparer.Ordinal), FleetRollout.ChooseCanaries(names, new CanarySize(100, true)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Canary_GetsTheChangeAndIsWoken_HeldDevicesKeepTheirBundleAndAreNotWoken()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        var before = await DigestsAsync(fleet);
        var polls = before.ToDictionary(d => d.Key, d => fleet.GetBundleAsync(d.Key, d.Value, TimeSpan.FromSeconds(60), CancellationToken.None));

        var results = fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        Assert.Equal(FleetApplyResult.Configured, results[^1]);
        var rollout = fleet.DescribeRollout();
        Assert.Equal(("progressing", "20%", 1L), ((string)rollout["state"]!, (string)rollout["canary"]!, (long)rollout["id"]!));
        var canaries = Canaries(rollout);
        var held = rollout["held"]!.AsArray().Select(h => (string)h!).ToList();
        Assert.Equal(2, canaries.Count);
        Assert.Equal(Devices - 2, held.Count);
        Assert.Equal(FleetRollout.ChooseCanaries(before.Keys, TwentyPercent).Order(StringComparer.Ordinal), canaries);
        Assert.Equal(["edgeworkload/app"], rollout["objects"]!.AsArray().Select(o => (string)o!));

        foreach (var canary in canaries)
        {
            var (_, generation, bundle, _) = await polls[canary];
            Assert.Equal(2, generation);
            Assert.Contains("busybox:v2\"", bundle!.Yaml, StringComparison.Ordinal);
        }

        foreach (var device in held)
        {
            Assert.False(polls[device].IsCompleted, device + " was woken while held");
            var (_, generation, bundle, _) = await fleet.GetBundleAsync(device, null, TimeSpan.Zero, CancellationToken.None);
            Assert.Equal((1L, before[device]), (generation, bundle!.Digest));
        }

        Assert.All(fleet.DescribeDevices(), d => Assert.Equal(canaries.Contains((string)d!["name"]!) ? 2 : 1, (long)d!["desiredGeneration"]!));
    }

    [Fact]
    public async Task EveryCanaryApplied_CompletesTheRollout_AndWakesHeldDevicesWithTheChange()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        var before = await DigestsAsync(fleet);
        fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        var canaries = Canaries(fleet.DescribeRollout());
        var held = before.Keys.Except(canaries).ToList();
        var polls = held.ToDictionary(d => d, d => fleet.GetBundleAsync(d, before[d], TimeSpan.FromSeconds(60), CancellationToken.None));

        Report(fleet, canaries[0], 2, "applied");
        Report(fleet, canaries[1], 1, "applied"); // a heartbeat of the old generation is no answer
        Assert.Equal("progressing", (string)fleet.DescribeRollout()["state"]!);
        Assert.All(polls.Values, p => Assert.False(p.IsCompleted));

        Report(fleet, canaries[1], 2, "applied");
        var rollout = fleet.DescribeRollout();
        Assert.Equal("completed", (string)rollout["state"]!);
        Assert.NotNull((string?)rollout["ended"]);
        Assert.All(rollout["canaries"]!.AsArray(), c => Assert.Equal("applied", (string)c!["result"]!));
        await AssertWokenAsync(polls.Values, 2, "busybox:v2");
    }

    [Fact]
    public async Task CanaryApplyError_HaltsTheRollout_NamingDeviceAndError_HeldStayOld_ThenTheFixSupersedesIt()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        var before = await DigestsAsync(fleet);
        fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        var canaries = Canaries(fleet.DescribeRollout());
        var held = before.Keys.Except(canaries).ToList();
        var polls = held.ToDictionary(d => d, d => fleet.GetBundleAsync(d, before[d], TimeSpan.FromSeconds(60), CancellationToken.None));

        Report(fleet, canaries[0], 2, "applied");
        Report(fleet, canaries[1], 1, "failed", "workloads: image busybox:v2 not found");
        var halted = fleet.DescribeRollout();
        Assert.Equal("halted", (string)halted["state"]!);
        Assert.Equal($"canary {canaries[1]} failed to apply generation 2: workloads: image busybox:v2 not found", (string)halted["reason"]!);
        var failed = halted["canaries"]!.AsArray().Single(c => (string)c!["name"]! == canaries[1])!;
        Assert.Equal(("failed", "workloads: image busybox:v2 not found"), ((string)failed["result"]!, (string)failed["errors"]![0]!));

        Report(fleet, canaries[0], 2, "applied"); // later reports change nothing
        Assert.Equal("halted", (string)fleet.DescribeRollout()["state"]!);
        Assert.All(polls.Values, p => Assert.False(p.IsCompleted));
        foreach (var device in held)
        {
            Assert.Equal(before[device], (await fleet.GetBundleAsync(device, null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest);
        }

        // The fix: a new rollout from where each device is; held devices were never on v2, the canaries are.
        fleet.Apply(Fleet("v3"), TwentyPercent, Timeout);
        var fix = fleet.DescribeRollout();
        Assert.Equal(("progressing", 2L), ((string)fix["state"]!, (long)fix["id"]!));
        Assert.Equal(canaries, Canaries(fix));
        Assert.Equal([3L, 3L], fix["canaries"]!.AsArray().Select(c => (long)c!["generation"]!));
        Assert.All(polls.Values, p => Assert.False(p.IsCompleted));

        Report(fleet, canaries[0], 3, "applied");
        Report(fleet, canaries[1], 3, "applied");
        Assert.Equal("completed", (string)fleet.DescribeRollout()["state"]!);
        await AssertWokenAsync(polls.Values, 2, "busybox:v3");
    }

    [Fact]
    public async Task CanaryThatWasFailingBefore_RepeatingTheSameErrors_IsNoAnswer_ANewErrorIs()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        var canary = FleetRollout.ChooseCanaries((await DigestsAsync(fleet)).Keys, TwentyPercent)[0];
        Report(fleet, canary, 1, "failed", "an older bundle failed");

        fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        Report(fleet, canary, 1, "failed", "an older bundle failed");
        Assert.Equal("progressing", (string)fleet.DescribeRollout()["state"]!);
        Report(fleet, canary, 1, "failed", "workloads: the new bundle failed");
        Assert.Equal("halted", (string)fleet.DescribeRollout()["state"]!);
    }

    [Fact]
    public async Task CanarySilentPastTheTimeout_CountsAsFailed_AndHaltsTheRollout()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        fleet.Apply(Fleet("v2"), TwentyPercent, TimeSpan.FromSeconds(120));
        var canaries = Canaries(fleet.DescribeRollout());
        Report(fleet, canaries[0], 2, "applied");

        _time.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal("progressing", (string)fleet.DescribeRollout()["state"]!);
        _time.Advance(TimeSpan.FromSeconds(1));
        var rollout = fleet.DescribeRollout();
        Assert.Equal("halted", (string)rollout["state"]!);
        Assert.Equal($"canary {canaries[1]} did not report generation 2 applied within 120 s (never seen)", (string)rollout["reason"]!);
        Assert.Equal(
            ["applied", "failed"],
            rollout["canaries"]!.AsArray().OrderBy(c => (string)c!["name"]! == canaries[0] ? 0 : 1).Select(c => (string)c!["result"]!));

        Report(fleet, canaries[1], 2, "applied"); // too late: halted stays halted
        Assert.Equal("halted", (string)fleet.DescribeRollout()["state"]!);
    }

    [Fact]
    public async Task Promote_SendsTheChangeToHeldDevicesNow_OnlyWhileARolloutIsActive()
    {
        await using var fleet = Start();
        Assert.Null(fleet.PromoteRollout());
        Assert.Equal("none", (string)fleet.DescribeRollout()["state"]!);
        fleet.Apply(Fleet("v1"));
        var before = await DigestsAsync(fleet);
        fleet.Apply(Fleet("v2"), new CanarySize(1, false), Timeout);
        var held = before.Keys.Except(Canaries(fleet.DescribeRollout())).First();
        var poll = fleet.GetBundleAsync(held, before[held], TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal("promoted", (string)fleet.PromoteRollout()!["state"]!);
        Assert.Equal(2, (await poll).Generation);
        Assert.Null(fleet.PromoteRollout());
        Assert.Null(fleet.AbortRollout());
    }

    [Fact]
    public async Task Abort_PutsBackThePreviousObjects_CanariesGetTheOldPlanAgain_HeldAreNotWoken()
    {
        await using var fleet = Start();
        var v1 = Fleet("v1");
        fleet.Apply(v1);
        var before = await DigestsAsync(fleet);
        var extra = FleetTestKit.ObjectsOfText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new-one}\ndata: {a: b}\n", "extra.yaml");
        fleet.Apply([.. Fleet("v2"), .. extra], TwentyPercent, Timeout);
        var canaries = Canaries(fleet.DescribeRollout());
        var held = before.Keys.Except(canaries).ToList();
        var polls = held.ToDictionary(d => d, d => fleet.GetBundleAsync(d, before[d], TimeSpan.FromSeconds(60), CancellationToken.None));
        Report(fleet, canaries[0], 1, "failed", "workloads: image busybox:v2 not found");

        var aborted = fleet.AbortRollout()!;
        Assert.Equal("aborted", (string)aborted["state"]!);
        foreach (var canary in canaries)
        {
            var (_, generation, bundle, _) = await fleet.GetBundleAsync(canary, null, TimeSpan.Zero, CancellationToken.None);
            Assert.Equal((3L, before[canary]), (generation, bundle!.Digest));
        }

        Assert.All(polls.Values, p => Assert.False(p.IsCompleted));
        Assert.All(fleet.Apply(v1), r => Assert.Equal(FleetApplyResult.Unchanged, r));
        Assert.Equal(FleetApplyResult.Created, fleet.Apply(extra)[0]); // the ConfigMap the rollout created was deleted
    }

    [Fact]
    public async Task Abort_OfARolloutThatReplacedAHaltedOne_GoesBackToTheObjectsBeforeBoth()
    {
        await using var fleet = Start();
        var v1 = Fleet("v1");
        fleet.Apply(v1);
        var before = await DigestsAsync(fleet);
        fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        var canaries = Canaries(fleet.DescribeRollout());
        Report(fleet, canaries[0], 1, "failed", "workloads: image busybox:v2 not found");
        fleet.Apply(Fleet("v3"), TwentyPercent, Timeout);

        Assert.Equal("aborted", (string)fleet.AbortRollout()!["state"]!);
        Assert.All(fleet.Apply(v1), r => Assert.Equal(FleetApplyResult.Unchanged, r));
        foreach (var (device, digest) in before)
        {
            var (generation, now) = await GenerationAndDigestAsync(fleet, device);
            Assert.Equal((canaries.Contains(device) ? 4L : 1L, digest), (generation, now));
        }
    }

    [Fact]
    public async Task Rollout_SurvivesARestart_HeldStayHeld_AndCompletesAfterIt()
    {
        List<string> canaries;
        Dictionary<string, string> before;
        await using (var fleet = Start())
        {
            fleet.Apply(Fleet("v1"));
            before = await DigestsAsync(fleet);
            fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
            canaries = Canaries(fleet.DescribeRollout());
            Report(fleet, canaries[0], 2, "applied");
        }

        await using var restarted = Start();
        var rollout = restarted.DescribeRollout();
        Assert.Equal(("progressing", 1L), ((string)rollout["state"]!, (long)rollout["id"]!));
        Assert.Equal(
            ["applied", "pending"],
            rollout["canaries"]!.AsArray().OrderBy(c => (string)c!["name"]! == canaries[0] ? 0 : 1).Select(c => (string)c!["result"]!));
        var held = before.Keys.Except(canaries).ToList();
        foreach (var device in held)
        {
            Assert.Equal((1L, before[device]), await GenerationAndDigestAsync(restarted, device));
        }

        Report(restarted, canaries[1], 2, "applied");
        Assert.Equal("completed", (string)restarted.DescribeRollout()["state"]!);
        Assert.All(held, d => Assert.Equal(2L, GenerationAndDigestAsync(restarted, d).Result.Generation));
    }

    [Fact]
    public async Task ApplyWithCanary_WhenTheRolloutCannotBeStored_StoresNoObject_AndNoDeviceGetsTheChange_AfterARestartEither()
    {
        Dictionary<string, string> before;
        await using (var fleet = Start())
        {
            fleet.Apply(Fleet("v1"));
            before = await DigestsAsync(fleet);

            // A write failure at the rollout row (a full disk, an I/O error), injected into fleet.db by a trigger.
            var path = Path.Combine(_data.Path, "fleet", "fleet.db");
            using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
            {
                db.Open();
                using var trigger = db.CreateCommand();
                trigger.CommandText = """
                    CREATE TRIGGER fail_insert BEFORE INSERT ON rollout BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;
                    CREATE TRIGGER fail_update BEFORE UPDATE ON rollout BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;
                    """;
                trigger.ExecuteNonQuery();
            }

            Assert.Throws<SqliteException>(() => fleet.Apply(Fleet("v2"), TwentyPercent, Timeout));

            Assert.Equal("none", (string)fleet.DescribeRollout()["state"]!);
            Assert.Equal(before, await DigestsAsync(fleet));
        }

        await using var restarted = Start();
        Assert.Equal("none", (string)restarted.DescribeRollout()["state"]!);
        Assert.Equal(before, await DigestsAsync(restarted));
        Assert.All(restarted.Apply(Fleet("v1")), r => Assert.Equal(FleetApplyResult.Unchanged, r));
    }

    [Fact]
    public async Task ApplyWithoutCanary_SupersedesAnActiveRollout_AndReachesEveryDevice()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        fleet.Apply(Fleet("v2"), TwentyPercent, Timeout);
        fleet.Apply(Fleet("v3"));
        Assert.Equal("superseded", (string)fleet.DescribeRollout()["state"]!);
        foreach (var device in (await DigestsAsync(fleet)).Keys)
        {
            var bundle = await fleet.GetBundleAsync(device, null, TimeSpan.Zero, CancellationToken.None);
            Assert.Contains("busybox:v3\"", bundle.Bundle!.Yaml, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ApplyWithCanary_ThatChangesNoDevice_StartsNoRollout()
    {
        await using var fleet = Start();
        fleet.Apply(Fleet("v1"));
        var unrelated = FleetTestKit.ObjectsOfText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\ndata: {a: b}\n", "x.yaml");
        fleet.Apply(unrelated, TwentyPercent, Timeout);
        Assert.Equal("none", (string)fleet.DescribeRollout()["state"]!);
        Assert.Throws<FleetRequestException>(() => fleet.Apply(Fleet("v2"), TwentyPercent, TimeSpan.Zero));
    }

    private FleetService Start() => FleetService.Start(_data.Path, _options, new MetricsRegistry(), _time, NullLogger.Instance);

    /// <summary>Ten EdgeDevices and one workload on all of them, running <c>busybox:TAG</c>.</summary>
    private static List<FleetObject> Fleet(string tag)
    {
        var text = new StringBuilder();
        for (var i = 0; i < Devices; i++)
        {
            text.Append("apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\n")
                .Append($"metadata: {{name: dev-{i}, labels: {{app: foo}}}}\nspec: {{}}\n---\n");
        }

        text.Append("apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeWorkload\nmetadata: {name: app}\n")
            .Append("spec:\n  deviceSelector: {matchLabels: {app: foo}}\n  type: pod\n")
            .Append($"  pod: {{spec: {{containers: [{{name: c, image: \"busybox:{tag}\"}}]}}}}\n");
        return FleetTestKit.ObjectsOfText(text.ToString(), "fleet.yaml");
    }

    private static async Task<Dictionary<string, string>> DigestsAsync(FleetService fleet)
    {
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Devices; i++)
        {
            digests[$"dev-{i}"] = (await fleet.GetBundleAsync($"dev-{i}", null, TimeSpan.Zero, CancellationToken.None)).Bundle!.Digest;
        }

        return digests;
    }

    private static async Task<(long Generation, string Digest)> GenerationAndDigestAsync(FleetService fleet, string device)
    {
        var (_, generation, bundle, _) = await fleet.GetBundleAsync(device, null, TimeSpan.Zero, CancellationToken.None);
        return (generation, bundle!.Digest);
    }

    /// <summary>Every held device's long poll answered with the new bundle (the image it names) under <paramref name="generation"/>.</summary>
    private static async Task AssertWokenAsync(
        IEnumerable<Task<(bool Known, long Generation, RenderedBundle? Bundle, bool Deferred)>> polls, long generation, string image)
    {
        foreach (var poll in polls)
        {
            var (_, answered, bundle, _) = await poll;
            Assert.Equal(generation, answered);
            Assert.Contains(image + "\"", bundle!.Yaml, StringComparison.Ordinal);
        }
    }

    private static List<string> Canaries(JsonObject rollout) => [.. rollout["canaries"]!.AsArray().Select(c => (string)c!["name"]!)];

    /// <summary>A status report as the agent sends it: a failed apply carries the generation the device still runs.</summary>
    private static void Report(FleetService fleet, string device, long generation, string applyStatus, params string[] errors) =>
        fleet.ReportStatus(device, "instance-" + device, new JsonObject
        {
            ["generation"] = generation,
            ["applyStatus"] = applyStatus,
            ["applyErrors"] = new JsonArray([.. errors.Select(e => (JsonNode?)e)]),
        });
}
