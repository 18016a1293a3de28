using System.Globalization;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// syslog-ng's loggen streams syslog over TCP into an in-process gateway at a sustained rate for a bounded time; the
/// number loggen says it sent, the gateway's input and store counters and the store's <c>_count</c> must all be the
/// same number (syslog at a sustained rate loses nothing: the counts match exactly). The rate is a target, not a
/// threshold: on a busy machine loggen sends fewer, and the counts must still agree.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class LoggenToGatewayTests(ITestOutputHelper output)
{
    /// <summary>Bounds loggen's own run (interval + connect and closing), not the gateway's speed.</summary>
    private static readonly TimeSpan LoggenTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Bounds the wait for the store to catch up with what was sent.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(180);

    [Theory]
    [InlineData("rfc3164", 1, "--rate=20000", "--interval=5")]
    [InlineData("rfc5424-octet-counted", 1, "--syslog-proto", "--rate=20000", "--interval=5")]
    [InlineData("four-connections", 4, "--active-connections=4", "--rate=5000", "--interval=5")]
    public async Task Loggen_StreamForFiveSeconds_SentEqualsReceivedEqualsStored(string name, int connections, params string[] arguments)
    {
        await using var gateway = await InProcessGateway.StartAsync();

        var sent = await LoggenProcess.RunAsync(gateway.SyslogPort, arguments, LoggenTimeout);
        Assert.True(sent > 0, $"{name}: loggen sent nothing");

        long stored = 0;
        var caughtUp = await Eventually.PollAsync(async () =>
        {
            stored = await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}");
            return stored >= sent;
        }, DrainTimeout);
        Assert.True(caughtUp, $"{name}: {stored} of {sent} messages searchable after {DrainTimeout.TotalSeconds} s");
        output.WriteLine($"{name}: loggen sent {sent} messages; all searchable");

        // Let anything in flight land, so a duplicate would show as an overshoot.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(sent, (long?)GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_frames_total{transport=\"tcp\"}"));
        Assert.Equal(connections, (long?)GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_connections_total{transport=\"tcp\"}"));
        Assert.Equal(0, GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_dropped_total{transport=\"tcp\",reason=\"oversized\"}") ?? 0);
        Assert.Equal(0, GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_dropped_total{transport=\"tcp\",reason=\"queue_full\"}") ?? 0);
        Assert.Equal(sent, (long?)GatewayTestKit.ExpositionValue(metrics, "flotel_store_log_events_total"));
        Assert.Equal(sent, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}"));

        // Idle now: the store output catches up on full-text merging (FTS5 automerge 16 during the burst).
        Assert.True(
            await Eventually.PollAsync(
                async () => GatewayTestKit.ExpositionValue(await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative)), "flotel_store_log_merge_steps_total") >= 1,
                TimeSpan.FromSeconds(30)),
            $"{name}: no idle merge step ran");

        // Every line parsed as syslog (loggen's header: <38>TIMESTAMP localhost prgNNNNN[1234]: …).
        Assert.Equal(0, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"term\":{\"tags\":\"_syslogparsefailure\"}}}"));
        Assert.Equal(sent, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"term\":{\"pid\":\"1234\"}}}"));

        if (connections == 1)
        {
            // loggen numbers its messages from 0 ("seq: 0000000000, thread: 0000, …"): the last one is there once and
            // nothing past it, so the count is these messages and not others.
            Assert.Equal(1, await CountSequenceAsync(gateway, sent - 1));
            Assert.Equal(0, await CountSequenceAsync(gateway, sent));
        }
    }

    private static Task<long> CountSequenceAsync(InProcessGateway gateway, long sequence)
    {
        var phrase = "seq: " + sequence.ToString("D10", CultureInfo.InvariantCulture);
        return GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_phrase\":{\"message\":\"" + phrase + "\"}}}");
    }
}
