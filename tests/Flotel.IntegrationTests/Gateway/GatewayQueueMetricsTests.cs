using System.Globalization;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>The durable queue's gauges in <c>/metrics</c> (docs/operations.md, "Metrics to watch").</summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayQueueMetricsTests
{
    [Fact]
    public async Task Metrics_ConfiguredOutputWhosePeerIsDown_ShowsItsReaderLagEqualToEveryAppendedRecord()
    {
        // Nothing listens on the port: the output retries and acknowledges nothing, so its lag is every record.
        var output = new RemoteWriteOptions { Name = "thanos" };
        output.Http.Url = new Uri("http://127.0.0.1:" + Loopback.FreePort().ToString(CultureInfo.InvariantCulture) + "/api/v1/write");
        await using var gateway = await InProcessGateway.StartAsync(o => o.Outputs.Add(output));
        for (var i = 0; i < 3; i++)
        {
            var series = new TimeSeries(LabelSet.Of("__name__", "node_load1", "device", "dev1"), [new Sample(1_652_386_921_000 + i, i)]);
            using var request = GatewayTestKit.RemoteWrite(RemoteWriteCodec.Encode(new WriteRequest([series])));
            using var response = await gateway.Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }

        string metrics = string.Empty;
        var lagging = await Eventually.PollAsync(async () =>
        {
            metrics = await gateway.Http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            return GatewayTestKit.ExpositionValue(metrics, "flotel_queue_reader_lag{reader=\"thanos\"}") == 3
                && GatewayTestKit.ExpositionValue(metrics, "flotel_queue_reader_lag{reader=\"store-metrics\"}") == 0;
        }, TimeSpan.FromSeconds(30));

        Assert.True(lagging, "expected the output's reader to lag by the 3 appended records:\n" + metrics);
        Assert.Equal(3, GatewayTestKit.ExpositionValue(metrics, "flotel_queue_appended_records"));
    }
}
