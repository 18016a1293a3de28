using System.Net.Sockets;
using System.Text;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>The HTTP listener's connection bound: one connection over it is closed before a byte is read, and counted.</summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayHttpLimitTests
{
    [Fact]
    public async Task OverMaxConnections_TheNewConnectionIsClosed_CountedInMetrics_TheOpenOnesKeepWorking()
    {
        await using var gateway = await InProcessGateway.StartAsync(o => o.HttpMaxConnections = 2);

        using var first = await ConnectAsync(gateway);
        using var second = await ConnectAsync(gateway);
        Assert.StartsWith("HTTP/1.1 200", await GetAsync(first, "/healthz"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await GetAsync(second, "/healthz"), StringComparison.Ordinal);

        using var third = await ConnectAsync(gateway);
        var refused = await GetAsync(third, "/healthz");
        Assert.True(refused.Length == 0, "the third connection was answered: " + refused);

        var metrics = await GetAsync(first, "/metrics");
        Assert.Contains("flotel_http_connections_refused_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_http_connections_open 2", metrics, StringComparison.Ordinal);

        second.Dispose();
        Assert.True(await Eventually.PollAsync(async () =>
        {
            using var next = await ConnectAsync(gateway);
            return (await GetAsync(next, "/healthz")).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20)), "no connection was accepted after one closed");
    }

    private static async Task<TcpClient> ConnectAsync(InProcessGateway gateway)
    {
        var client = new TcpClient();
        await client.ConnectAsync(gateway.Host.HttpEndPoint);
        return client;
    }

    /// <summary>One keep-alive GET; the answer's head and body as text, empty when the server closed the connection.</summary>
    private static async Task<string> GetAsync(TcpClient client, string path)
    {
        var stream = client.GetStream();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), deadline.Token);
            var answer = new StringBuilder();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var n = await stream.ReadAsync(buffer, deadline.Token);
                if (n == 0)
                {
                    return answer.ToString();
                }

                answer.Append(Encoding.UTF8.GetString(buffer, 0, n));
                var text = answer.ToString();
                var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (head >= 0 && ContentLength(text[..head]) is { } length && Encoding.UTF8.GetByteCount(text[(head + 4)..]) >= length)
                {
                    return text;
                }
            }
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static int? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
