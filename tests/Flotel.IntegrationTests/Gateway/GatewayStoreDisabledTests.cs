using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// <c>store.enabled: false</c>: the gateway only queues (a forwarding-only gateway; the "→ durable queue" rows of
/// bench/peers). Lines are acknowledged into the queue and stay there; nothing is parsed into the embedded store.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayStoreDisabledTests
{
    [Fact]
    public async Task SyslogTcp_WithTheStoreDisabled_LinesAreQueuedAndNotStored()
    {
        await using var gateway = await InProcessGateway.StartAsync(o => o.StoreEnabled = false);
        const int Lines = 200;
        var text = new StringBuilder();
        for (var i = 0; i < Lines; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"<13>May 12 20:22:01 host app[1]: queued only {i}\n");
        }

        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
        }

        string metrics = string.Empty;
        var queued = await Eventually.PollAsync(async () =>
        {
            metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            return GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_frames_total{transport=\"tcp\"}") >= Lines;
        }, TimeSpan.FromSeconds(20));
        Assert.True(queued, "the lines were not queued:\n" + metrics);
        Assert.Equal(Lines, GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_frames_total{transport=\"tcp\"}"));
        Assert.True(GatewayTestKit.ExpositionValue(metrics, "flotel_queue_appended_records") >= 1, metrics);

        // No store output: no store counters, nothing searchable, and the queue keeps what it holds (no reader is past it).
        Assert.Null(GatewayTestKit.ExpositionValue(metrics, "flotel_store_log_events_total"));
        Assert.Equal(0, await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match_all\":{}}}"));
        Assert.True(GatewayTestKit.ExpositionValue(metrics, "flotel_queue_bytes") > Lines * 40, metrics);
        Assert.Equal("ok\n", await gateway.Http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
    }
}
