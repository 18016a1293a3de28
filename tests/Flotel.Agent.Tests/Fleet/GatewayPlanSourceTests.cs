using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Flotel.Agent.Fleet;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>
/// The bundle pull, last good bundle, offline start, status and backoff (docs/fleet.md §5) against a gateway fake
/// speaking the fleet wire format over plain HTTP on loopback.
/// </summary>
public sealed class GatewayPlanSourceTests : IDisposable
{
    private const string Device = "edge-device-1";
    private readonly TempDirectory _temp = new();
    private readonly FleetTestCa _ca = new();
    private readonly FleetFiles _files;
    private readonly DeviceIdentity _identity;

    public GatewayPlanSourceTests()
    {
        _files = new FleetFiles(_temp.Path);
        _identity = _ca.Enrol(_files, Device, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
    }

    public void Dispose()
    {
        _identity.Dispose();
        _ca.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task InitialPlanAsync_LastGoodBundleStored_RunsItWhileTheGatewayIsDown()
    {
        var yaml = FleetTestCa.Bundle(Device, "v7");
        LastGoodBundle.Save(_files, new BundleState(7, LastGoodBundle.Digest(yaml)), yaml);
        var down = new Uri($"http://127.0.0.1:{Loopback.FreePort()}");
        await using var source = Source(down);

        var plan = await source.InitialPlanAsync(CancellationToken.None);

        Assert.Equal(Device, plan.DeviceName);
        Assert.Equal("v7", plan.Labels["version"]);
        Assert.Equal(7, source.Running!.Generation);
    }

    [Fact]
    public async Task Start_OfflineStartThenTheGatewayAnswers_ReportsTheStoredGenerationWithoutRefetchingIt()
    {
        var yaml = FleetTestCa.Bundle(Device, "v7");
        LastGoodBundle.Save(_files, new BundleState(7, LastGoodBundle.Digest(yaml)), yaml);
        var fake = new FakeGateway();
        fake.Bundle = (7, yaml);
        using var gateway = fake.Start();
        await using var source = Source(new Uri(gateway.BaseUrl));

        await source.InitialPlanAsync(CancellationToken.None);
        source.Start(new RecordingTarget());

        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.Generation == 7 && s.ApplyStatus == "applied"), "a status report of generation 7");
        await Eventually.TrueAsync(() => fake.IfNoneMatch.Count >= 2, "two polls");
        Assert.Equal(0, fake.BundleAnswers(7));
    }

    [Fact]
    public async Task InitialPlanAsync_StoredPairDoesNotMatch_WaitsForTheGatewayInstead()
    {
        var yaml = FleetTestCa.Bundle(Device, "v7");
        LastGoodBundle.Save(_files, new BundleState(7, LastGoodBundle.Digest(yaml)), yaml);
        File.WriteAllText(_files.Bundle, FleetTestCa.Bundle(Device, "edited"));
        var fresh = FleetTestCa.Bundle(Device, "v8");
        using var gateway = new LocalHttpServer((request, _, response) => request.Url!.AbsolutePath == "/fleet/v1/bundle"
            ? FleetTestCa.Bytes(response, 200, FleetTestCa.BundleBody(8, fresh))
            : FleetTestCa.Json(response, 200, new { }));
        await using var source = Source(new Uri(gateway.BaseUrl));

        var plan = await source.InitialPlanAsync(CancellationToken.None);

        Assert.Equal("v8", plan.Labels["version"]);
    }

    [Fact]
    public async Task Start_FirstBundleThenAChange_EachAppliedStoredAsLastGoodAndReported()
    {
        var fake = new FakeGateway();
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        await using var source = Source(new Uri(gateway.BaseUrl));
        var target = new RecordingTarget();

        var plan = await source.InitialPlanAsync(CancellationToken.None);
        source.Start(target);

        Assert.Equal("one", plan.Labels["version"]);
        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.Generation == 1 && s.ApplyStatus == "applied"), "a status report of generation 1");
        Assert.Equal(1, StoredGeneration());

        fake.Bundle = (2, FleetTestCa.Bundle(Device, "two"));
        await Eventually.TrueAsync(() => StoredGeneration() == 2, "generation 2 stored as the last good bundle");
        Assert.Equal("two", Assert.Single(target.Applied).Labels["version"]);
        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.Generation == 2 && s.ApplyStatus == "applied"), "a status report of generation 2");
        var report = fake.Statuses.Last();
        Assert.Equal(LastGoodBundle.Digest(FleetTestCa.Bundle(Device, "two")), report.Digest);
        Assert.False(string.IsNullOrEmpty(report.AgentVersion));
        Assert.All(fake.StatusInstances, id => Assert.Equal(_files.InstanceId(), id));
        Assert.Contains($"\"{LastGoodBundle.Digest(FleetTestCa.Bundle(Device, "two"))}\"", fake.IfNoneMatch);
    }

    [Fact]
    public async Task Start_BundleThatDoesNotResolve_ReportedFailedAndTheLastGoodKept()
    {
        var fake = new FakeGateway();
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        await using var source = Source(new Uri(gateway.BaseUrl));
        var target = new RecordingTarget();
        await source.InitialPlanAsync(CancellationToken.None);
        source.Start(target);
        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.Generation == 1), "a status report of generation 1");

        var broken = FleetTestCa.BrokenBundle(Device);
        fake.Bundle = (2, broken);

        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.ApplyStatus == "failed"), "a failed status report");
        var report = fake.Statuses.First(s => s.ApplyStatus == "failed");
        Assert.Equal(1, report.Generation);
        Assert.Contains(report.ApplyErrors, e => e.Contains("missing-cm", StringComparison.Ordinal));
        Assert.Empty(target.Applied);
        Assert.Single(target.Refused);
        Assert.Equal(1, StoredGeneration());
        Assert.Equal(FleetTestCa.Bundle(Device, "one"), File.ReadAllText(_files.Bundle));

        // The failed bundle is not fetched again: the next polls name its digest.
        await Eventually.TrueAsync(() => fake.IfNoneMatch.Contains($"\"{LastGoodBundle.Digest(broken)}\""), "a poll naming the failed digest");
        Assert.Equal(1, fake.BundleAnswers(2));
    }

    [Fact]
    public async Task Start_ComponentFailsToApply_ReportedFailedAndNotStored()
    {
        var fake = new FakeGateway();
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        await using var source = Source(new Uri(gateway.BaseUrl));
        var target = new RecordingTarget { Errors = ["metrics: disk full"] };
        await source.InitialPlanAsync(CancellationToken.None);
        source.Start(target);

        fake.Bundle = (2, FleetTestCa.Bundle(Device, "two"));

        await Eventually.TrueAsync(() => fake.Statuses.Any(s => s.ApplyStatus == "failed"), "a failed status report");
        Assert.Equal(["metrics: disk full"], fake.Statuses.First(s => s.ApplyStatus == "failed").ApplyErrors);
        Assert.Equal(1, StoredGeneration());
    }

    [Fact]
    public async Task InitialPlanAsync_GatewayAnswers503_RetriesWithDoublingJitteredWaitsAndLogsOnce()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new FakeGateway { Unavailable = true };
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        var logs = new ListLogger();
        var options = new FleetSourceOptions { Random = new Random(42), PollWait = TimeSpan.Zero };
        await using var source = new GatewayPlanSource(new Uri(gateway.BaseUrl), _identity, _files, options, null, time, logs);
        var expected = new RetryBackoff(options.RetryInitial, options.RetryMax, new Random(42));

        var first = source.InitialPlanAsync(CancellationToken.None);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await Eventually.TrueAsync(() => source.LastRetry?.Attempt == attempt, $"the wait after bundle request {attempt + 1}");
            var wait = expected.Next(attempt);
            Assert.InRange(wait, TimeSpan.FromSeconds(Math.Pow(2, attempt) / 2), TimeSpan.FromSeconds(Math.Pow(2, attempt)));
            Assert.Equal(wait, source.LastRetry!.Value.Wait);
            Assert.Equal(attempt + 1, fake.BundleRequests);
            if (attempt == 4)
            {
                fake.Unavailable = false;
            }

            time.Advance(wait);
        }

        var plan = await first.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(Device, plan.DeviceName);
        Assert.Single(logs.Lines, l => l.Contains("cannot be used", StringComparison.Ordinal));
        Assert.Single(logs.Lines, l => l.Contains("Connected to the fleet gateway", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_NotModifiedWithRetryAfter_WaitsThatLongJittered_ThenTheNextPollGetsTheChange()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new FakeGateway { RetryAfterOnNotModified = "30" };
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        var options = new FleetSourceOptions { Random = new Random(7), PollWait = TimeSpan.FromSeconds(60) };
        await using var source = new GatewayPlanSource(new Uri(gateway.BaseUrl), _identity, _files, options, null, time, NullLogger.Instance);
        await source.InitialPlanAsync(CancellationToken.None);
        source.Start(new RecordingTarget());

        await Eventually.TrueAsync(() => source.LastPollHint is not null, "the wait the gateway asked for");
        var expected = TimeSpan.FromSeconds(30) * (1 + (new Random(7).NextDouble() * 0.1));
        Assert.Equal(expected, source.LastPollHint);
        Assert.Equal(2, fake.BundleRequests);

        fake.Bundle = (2, FleetTestCa.Bundle(Device, "two"));
        time.Advance(expected);
        await Eventually.TrueAsync(() => StoredGeneration() == 2, "generation 2 applied on the poll after the wait");
    }

    [Fact]
    public async Task Start_NotModifiedWithoutRetryAfter_PollsAgainAtOnceAsBefore()
    {
        var fake = new FakeGateway();
        fake.Bundle = (1, FleetTestCa.Bundle(Device, "one"));
        using var gateway = fake.Start();
        await using var source = Source(new Uri(gateway.BaseUrl));
        await source.InitialPlanAsync(CancellationToken.None);
        source.Start(new RecordingTarget());

        await Eventually.TrueAsync(() => fake.BundleRequests >= 4, "three polls after the first bundle");
        Assert.Null(source.LastPollHint);
    }

    [Fact]
    public async Task RetryBackoff_AsTheSourceUsesIt_CapsAtSixtySeconds()
    {
        var backoff = new RetryBackoff(new FleetSourceOptions().RetryInitial, new FleetSourceOptions().RetryMax, new Random(1));
        for (var attempt = 6; attempt < 40; attempt++)
        {
            Assert.InRange(backoff.Next(attempt), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
        }

        await Task.CompletedTask;
    }

    private GatewayPlanSource Source(Uri gateway) =>
        new(gateway, _identity, _files, new FleetSourceOptions { PollWait = TimeSpan.Zero, RetryInitial = TimeSpan.FromMilliseconds(50), RetryMax = TimeSpan.FromMilliseconds(200) }, null, TimeProvider.System, NullLogger.Instance);

    private long StoredGeneration() =>
        LastGoodBundle.Load(_files, out _) is { } stored ? stored.State.Generation : -1;

    /// <summary>A gateway fake: answers the bundle route from <see cref="Bundle"/> (304 when the digest matches), records status reports.</summary>
    private sealed class FakeGateway
    {
        private readonly ConcurrentDictionary<long, int> _answers = new();
        private int _bundleRequests;

        public volatile bool Unavailable;

        /// <summary>The <c>Retry-After</c> of a 304, answered at once (a gateway over <c>fleet.maxHeldPolls</c>); null = held, no header.</summary>
        public volatile string? RetryAfterOnNotModified;

        public (long Generation, string Yaml) Bundle { get; set; }

        public ConcurrentQueue<StatusReport> Statuses { get; } = new();

        public ConcurrentQueue<string> StatusInstances { get; } = new();

        public ConcurrentQueue<string> IfNoneMatch { get; } = new();

        public int BundleRequests => Volatile.Read(ref _bundleRequests);

        public int BundleAnswers(long generation) => _answers.GetValueOrDefault(generation);

        public LocalHttpServer Start() => new(HandleAsync);

        private async Task HandleAsync(HttpListenerRequest request, byte[] body, HttpListenerResponse response)
        {
            if (request.Url!.AbsolutePath == "/fleet/v1/status")
            {
                StatusInstances.Enqueue(request.Headers["X-Flotel-Instance"] ?? string.Empty);
                Statuses.Enqueue(JsonSerializer.Deserialize<StatusReport>(body, FleetJsonForTests.Options)!);
                response.StatusCode = 204;
                return;
            }

            Interlocked.Increment(ref _bundleRequests);
            if (Unavailable)
            {
                response.AddHeader("Retry-After", "0");
                await FleetTestCa.Json(response, 503, new { error = "the fleet store is busy" });
                return;
            }

            var (generation, yaml) = Bundle;
            var digest = LastGoodBundle.Digest(yaml);
            var match = request.Headers["If-None-Match"];
            IfNoneMatch.Enqueue(match ?? string.Empty);
            if (match == "\"" + digest + "\"")
            {
                if (RetryAfterOnNotModified is { } retryAfter)
                {
                    response.AddHeader("Retry-After", retryAfter);
                    response.StatusCode = 304;
                    return;
                }

                // The long poll: hold a moment, then nothing changed.
                await Task.Delay(50);
                response.StatusCode = 304;
                return;
            }

            _answers.AddOrUpdate(generation, 1, (_, n) => n + 1);
            response.AddHeader("ETag", "\"" + digest + "\"");
            await FleetTestCa.Bytes(response, 200, FleetTestCa.BundleBody(generation, yaml));
        }
    }

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}

internal static class FleetJsonForTests
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
