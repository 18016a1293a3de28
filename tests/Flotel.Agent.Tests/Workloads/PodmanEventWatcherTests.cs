using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Flotel.Agent.Workloads;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Workloads;

/// <summary>
/// The container event follower against lines podman 4.3.1 printed on its libpod event stream
/// (<c>GET /v4.0.0/libpod/events?stream=true&amp;filters={"type":["container"]}</c> while <c>podman run</c> ran and
/// removed a container); the real podman restarting a killed workload is in the integration tests.
/// </summary>
public sealed class PodmanEventWatcherTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new("flotel-events-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("create", false)]
    [InlineData("init", false)]
    [InlineData("start", true)]
    [InlineData("attach", false)]
    [InlineData("died", true)]
    [InlineData("cleanup", true)]
    [InlineData("remove", true)]
    [InlineData("exec_died", false)]
    [InlineData("health_status", false)]
    public void IsRelevant_Podman43ContainerEvent_OnlyWhatChangesWhatRuns(string action, bool relevant) =>
        Assert.Equal(relevant, PodmanEventWatcher.IsRelevant(Encoding.UTF8.GetBytes(Podman43Event(action))));

    [Theory]
    [InlineData("not json")]
    [InlineData("[\"died\"]")]
    [InlineData("{\"status\":")]
    public void IsRelevant_NotAJsonObject_Throws(string line) =>
        Assert.ThrowsAny<JsonException>(() => PodmanEventWatcher.IsRelevant(Encoding.UTF8.GetBytes(line)));

    [Fact]
    public void IsRelevant_NestedDeeperThanTheLimit_ThrowsInsteadOfRecursing()
    {
        var deep = "{\"Actor\":" + new string('[', 100) + new string(']', 100) + ",\"status\":\"died\"}";
        Assert.ThrowsAny<JsonException>(() => PodmanEventWatcher.IsRelevant(Encoding.UTF8.GetBytes(deep)));
    }

    [Fact]
    public async Task Follow_EventStream_RelevantEventsCallBackMalformedCountedAndAnEndedStreamReopened()
    {
        var socket = _dir.Combine("podman.sock");
        var requests = new List<string>();
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socket));
        listener.Listen(4);
        var serving = Task.Run(async () =>
        {
            // First connection: a died event split across two chunks, an attach, a line that is not JSON, then the end.
            using (var first = await listener.AcceptAsync())
            {
                requests.Add(await ReadHeadAsync(first));
                var died = Podman43Event("died") + "\n";
                await SendAsync(first, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                await SendAsync(first, Chunk(died[..40]) + Chunk(died[40..] + Podman43Event("attach") + "\n"));
                await SendAsync(first, Chunk("garbage\n") + "0\r\n\r\n");
            }

            // Second connection (opened again after ReopenDelay): stays open until the watcher stops.
            var second = await listener.AcceptAsync();
            requests.Add(await ReadHeadAsync(second));
            await SendAsync(second, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            return second;
        });

        int calls = 0;
        var metrics = new MetricsRegistry();
        await using var watcher = new PodmanEventWatcher(socket, () => Interlocked.Increment(ref calls), metrics, NullLogger.Instance);
        watcher.Start();
        using var second = await serving.WaitAsync(Limit);
        await WaitUntilAsync(() => watcher.Connected && Volatile.Read(ref calls) >= 4);

        // Opened (1), died (2), ended (3), opened again (4): each asks the owner for a pass.
        Assert.Equal(4, Volatile.Read(ref calls));
        Assert.Equal(1, metrics.Sum("flotel_agent_podman_events_total", ("kind", "relevant")));
        Assert.Equal(1, metrics.Sum("flotel_agent_podman_events_total", ("kind", "malformed")));
        Assert.All(requests, r => Assert.StartsWith("GET " + PodmanEventWatcher.PathAndQuery + " HTTP/1.1", r, StringComparison.Ordinal));
        Assert.Contains("flotel_agent_podman_events_connected 1", metrics.ToText(), StringComparison.Ordinal);

        await watcher.StopAsync();
        Assert.False(watcher.Connected);
    }

    [Fact]
    public async Task Follow_NoPodmanSocket_NotConnectedAndStopsAtOnce()
    {
        int calls = 0;
        var socket = _dir.Combine("none.sock");
        await using var watcher = new PodmanEventWatcher(socket, () => Interlocked.Increment(ref calls), new MetricsRegistry(), NullLogger.Instance);
        watcher.Start();
        await Task.Delay(50);
        Assert.False(watcher.Connected);
        await watcher.StopAsync().WaitAsync(Limit);
        Assert.Equal(0, Volatile.Read(ref calls));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", true)]
    public async Task Run_StreamCannotOpen_WarnsOnlyWhenPodmanAnswered(string? answer, bool warns)
    {
        // null: the socket accepts and closes at once, as a podman that is not running behind its socket; the runner
        // reports that. An error answer is podman refusing the stream: the watcher's own warning.
        var socket = _dir.Combine("podman.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socket));
        listener.Listen(4);
        var logger = new ListLogger();
        await using var watcher = new PodmanEventWatcher(socket, () => { }, new MetricsRegistry(), logger);
        watcher.Start();

        // The second connection is the watcher trying again: the first failure was handled (and logged or not) before it.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            using var client = await listener.AcceptAsync().WaitAsync(Limit);
            await ReadHeadAsync(client);
            if (answer is not null)
            {
                await SendAsync(client, answer);
            }
        }

        await watcher.StopAsync().WaitAsync(Limit);
        Assert.Equal(warns ? 1 : 0, logger.Lines.Count(l => l.Level == LogLevel.Warning));
    }

    /// <summary>One line as podman 4.3.1 printed it for <paramref name="action"/> (the id and times of a real run).</summary>
    private static string Podman43Event(string action) =>
        "{\"status\":\"" + action + "\",\"id\":\"2296330f646286e5cc95f6586b5faa73eaefad05c2268937b81eb4b248b78e95\","
        + "\"from\":\"localhost/busybox:local\",\"Type\":\"container\",\"Action\":\"" + action + "\",\"Actor\":{\"ID\":"
        + "\"2296330f646286e5cc95f6586b5faa73eaefad05c2268937b81eb4b248b78e95\",\"Attributes\":{\"containerExitCode\":\"0\","
        + "\"image\":\"localhost/busybox:local\",\"name\":\"a6ev\",\"podId\":\"\"}},\"scope\":\"local\",\"time\":1796624063,"
        + "\"timeNano\":1796624063859059644}";

    private static string Chunk(string data) => $"{Encoding.UTF8.GetByteCount(data):x}\r\n{data}\r\n";

    private static async Task SendAsync(Socket client, string text) => await client.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None);

    private static async Task<string> ReadHeadAsync(Socket client)
    {
        var head = new StringBuilder();
        var buffer = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await client.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return head.ToString();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
