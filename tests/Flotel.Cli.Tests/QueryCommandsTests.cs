using System.Net.Sockets;
using System.Text;
using Flotel.Cli.Commands;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Cli.Tests;

/// <summary><c>flotel logs</c> and <c>flotel metrics</c> against a real in-process gateway fed over its inputs.</summary>
public sealed class QueryCommandsTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("flotel-cli-query-");
    private GatewayHost _gateway = null!;

    private Uri Url => new("http://" + _gateway.HttpEndPoint);

    public async Task InitializeAsync() =>
        _gateway = await GatewayHost.StartAsync(
            new GatewayOptions { HttpAddress = "127.0.0.1:0", SyslogAddress = "127.0.0.1:0", DataDirectory = _data.Path, LogRetentionDays = 0, MetricRetentionDays = 0 },
            NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);

    public async Task DisposeAsync()
    {
        await _gateway.StopAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task Logs_PrintsMatchingEventsOldestFirst_AsSyslogStyleLines()
    {
        var now = DateTime.UtcNow;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(_gateway.SyslogEndPoint);
            var lines = string.Join('\n',
                $"<14>1 {now.AddSeconds(-2):yyyy-MM-ddTHH:mm:ss.fffZ} edge-device-1 random-workload 7 - - New message at: one",
                $"<11>1 {now.AddSeconds(-1):yyyy-MM-ddTHH:mm:ss.fffZ} edge-device-1 random-workload 7 - - New message at: two",
                $"<14>1 {now:yyyy-MM-ddTHH:mm:ss.fffZ} edge-device-1 other 8 - - unrelated") + "\n";
            await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(lines));
        }

        string output = string.Empty;
        for (var i = 0; i < 100 && !output.Contains("two", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            (_, output, _) = await RunLogsAsync("program:random-workload");
        }

        var (code, text, error) = await RunLogsAsync("program:random-workload");
        Assert.Equal(0, code);
        var printed = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, printed.Length);
        Assert.Contains("Informational edge-device-1 random-workload[7]: New message at: one", printed[0], StringComparison.Ordinal);
        Assert.Contains("Error         edge-device-1 random-workload[7]: New message at: two", printed[1], StringComparison.Ordinal);
        Assert.Contains("2 of 2 events", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_WithABadQuery_ExitsOneWithTheGatewaysReason()
    {
        var (code, _, error) = await RunLogsAsync("program:(unclosed");
        Assert.Equal(1, code);
        Assert.Contains("flotel logs: the gateway answered HTTP 400", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_WhenTheGatewayIsUnreachable_SaysSo()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LogsCommand.RunAsync(new Uri("http://127.0.0.1:1"), null, TimeSpan.FromMinutes(5), 10, output, error, CancellationToken.None);
        Assert.Equal(1, code);
        Assert.Contains("cannot reach the gateway at http://127.0.0.1:1", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_PrintsEachSeriesLatestValueAndRange()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var series = new TimeSeries(LabelSet.Of("__name__", "node_memory_Mapped_bytes", "edgedeviceid", "edge-device-1"),
            [new Sample(now - 120_000, 100), new Sample(now - 60_000, 300), new Sample(now - 1000, 200)]);
        using var http = new HttpClient();
        using var content = new ByteArrayContent(RemoteWriteCodec.Encode(new WriteRequest([series])));
        content.Headers.ContentType = new(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        using var write = await http.PostAsync(new Uri(Url, "/api/v1/write"), content);
        Assert.True(write.IsSuccessStatusCode);

        var text = string.Empty;
        for (var i = 0; i < 100 && !text.Contains("node_memory", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await MetricsCommand.RunAsync(Url, "node_memory_Mapped_bytes", TimeSpan.FromMinutes(10), TimeProvider.System, output, error, CancellationToken.None));
            text = output.ToString();
        }

        Assert.Contains("node_memory_Mapped_bytes{edgedeviceid=\"edge-device-1\"} 200 @", text, StringComparison.Ordinal);
        Assert.Contains("(min 100, max 300,", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WithABadExpression_ExitsOneWithTheParserMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MetricsCommand.RunAsync(Url, "sum(", TimeSpan.FromMinutes(10), TimeProvider.System, output, error, CancellationToken.None);
        Assert.Equal(1, code);
        Assert.Contains("flotel metrics: the gateway answered HTTP 400", error.ToString(), StringComparison.Ordinal);
    }

    private async Task<(int Code, string Output, string Error)> RunLogsAsync(string query)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LogsCommand.RunAsync(Url, query, TimeSpan.FromMinutes(15), 100, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
