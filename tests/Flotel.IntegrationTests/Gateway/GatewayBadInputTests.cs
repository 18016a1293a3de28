using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// Hostile and broken input against a running gateway: the listener survives, the right status codes come back,
/// counters say what was dropped, and good input right after is still accepted.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayBadInputTests
{
    [Fact]
    public async Task SyslogTcp_RandomBytesAndOversizedLine_GoodLinesAfterAreStoredAndDropCounted()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        var random = new Random(20260512);

        // 64 KiB of random bytes (no LF-free guarantee: some become garbage frames), then the peer hangs up.
        var noise = new byte[64 * 1024];
        random.NextBytes(noise);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
            await client.GetStream().WriteAsync(noise);
        }

        // A 1 MiB line (over the 256 KiB frame limit) then a good line on the same connection.
        var oversized = new byte[(1024 * 1024) + 1];
        "<13>"u8.CopyTo(oversized);
        oversized.AsSpan(4, oversized.Length - 5).Fill((byte)'x');
        oversized[^1] = (byte)'\n';
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
            var stream = client.GetStream();
            await stream.WriteAsync(oversized);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(GoodLine("afteroversized" + run)));
        }

        // And a good line on a fresh connection after the noise.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, gateway.SyslogPort);
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(GoodLine("afternoise" + run)));
        }

        foreach (var token in new[] { "afteroversized" + run, "afternoise" + run })
        {
            long count = 0;
            var found = await Eventually.PollAsync(async () =>
            {
                count = await GatewayTestKit.CountAsync(gateway.Http, "logstash-*", "{\"query\":{\"match\":{\"message\":\"" + token + "\"}}}");
                return count >= 1;
            }, TimeSpan.FromSeconds(20));
            Assert.True(found, token + ": the good line was not stored");
            Assert.Equal(1, count);
        }

        var metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        var dropped = GatewayTestKit.ExpositionValue(metrics, "flotel_syslog_dropped_total{transport=\"tcp\",reason=\"oversized\"}");
        Assert.True(dropped >= 1, "no oversized drop counted:\n" + metrics);
        Assert.Equal("ok\n", await gateway.Http.GetStringAsync(new Uri("healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task RemoteWrite_GarbageTruncatedWrongTypeAndHugeLabelSet_RejectedThenValidAccepted()
    {
        await using var gateway = await InProcessGateway.StartAsync();
        var metric = "flotel_bad_" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var valid = RemoteWriteCodec.Encode(new WriteRequest(
            [new TimeSeries(new LabelSet([new Label("__name__", metric), new Label("job", "bad-input")]), [new Sample(now - 1000, 42.5)])]));

        var garbage = new byte[4096];
        new Random(6587).NextBytes(garbage);
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync(gateway, garbage));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync(gateway, valid[..(valid.Length / 2)]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, await PostAsync(gateway, valid, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, await PostAsync(gateway, valid));

        var labels = new List<Label> { new("__name__", metric + "_wide") };
        for (var i = 0; i < 10_000; i++)
        {
            labels.Add(new Label("l" + i.ToString("D5", CultureInfo.InvariantCulture), "v"));
        }

        var wide = RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(new LabelSet(labels), [new Sample(now - 1000, 1)])]));
        var status = await PostAsync(gateway, wide);
        Assert.True((int)status is >= 400 and < 500, "10k labels answered " + (int)status);

        // Still alive, and the valid sample is queryable.
        Assert.Equal(HttpStatusCode.NoContent, await PostAsync(gateway, valid));
        var queried = await Eventually.PollAsync(async () =>
            await GatewayTestKit.InstantQueryAsync(gateway.Http, metric) is { Count: 1 } r && (string?)r[0]!["value"]![1] == "42.5", TimeSpan.FromSeconds(20));
        Assert.True(queried, metric + " was not queryable after the rejected requests");
        Assert.Empty((await GatewayTestKit.InstantQueryAsync(gateway.Http, metric + "_wide"))!);
    }

    private static async Task<HttpStatusCode> PostAsync(InProcessGateway gateway, byte[] body, string contentType = RemoteWriteHeaders.ContentType)
    {
        using var request = GatewayTestKit.RemoteWrite(body, contentType);
        using var response = await gateway.Http.SendAsync(request);
        return response.StatusCode;
    }

    private static string GoodLine(string token) =>
        "<13>" + DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) + " edge-dev-2 badinput[9]: " + token + " is fine\n";
}
