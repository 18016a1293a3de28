using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Tests.Outputs.InfluxDb;

public sealed class InfluxDbOutputTests
{
    private static readonly LabelSet Temp = LabelSet.Of("__name__", "temp", "device", "dev1");

    private static InfluxDbOptions Options(Uri url, Action<InfluxDbOptions> configure)
    {
        var options = new InfluxDbOptions { Name = "influx" };
        options.Http.Url = url;
        options.Http.MinBackoff = TimeSpan.FromMilliseconds(10);
        options.Http.MaxBackoff = TimeSpan.FromMilliseconds(50);
        configure(options);
        return options;
    }

    [Fact]
    public async Task Output_V2_WritesWithTokenOrgBucketAndMsPrecisionAndSkipsNonFiniteAndStaleSamples()
    {
        await using var fixture = new HttpOutputFixture();
        await using var peer = await FakeHttpPeer.StartAsync();
        await fixture.AppendRemoteWriteAsync(new WriteRequest(
        [
            new TimeSeries(Temp, [new(1, 20.5), new(2, double.NaN), new(3, double.PositiveInfinity), new(4, Sample.StaleMarker), new(5, 21)]),
        ]));
        var options = Options(new Uri(peer.BaseAddress, "influx/"), o =>
        {
            o.Org = "flotta org";
            o.Bucket = "metrics";
            o.Token = new SecretValue("tok");
            o.MaxPoints = 1;
        });

        await using (var output = new InfluxDbOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 points sent");
            Assert.Equal((2L, 1L, 0L), (output.Decoder.NonFinite, output.Decoder.StaleMarkers, output.Decoder.NoMetricName));
        }

        var requests = peer.Requests.ToArray();
        Assert.Equal(["temp,device=dev1 value=20.5 1\n", "temp,device=dev1 value=21 5\n"], requests.Select(r => r.Text));
        Assert.All(requests, r =>
        {
            Assert.Equal("/influx/api/v2/write", r.Path);
            Assert.Equal("?org=flotta%20org&bucket=metrics&precision=ms", r.Query);
            Assert.Equal("Token tok", r.Header("Authorization"));
            Assert.Equal("text/plain; charset=utf-8", r.Header("Content-Type"));
        });
        var text = fixture.Metrics.ToText();
        Assert.Contains("flotel_output_items_total{output=\"influx\",result=\"skipped\",reason=\"non_finite\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("flotel_output_items_total{output=\"influx\",result=\"skipped\",reason=\"stale_marker\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_V1_WritesToDbWithBasicAuthAndDeadLettersA400()
    {
        await using var fixture = new HttpOutputFixture();
        await using var peer = await FakeHttpPeer.StartAsync();
        peer.Respond = async (request, response) =>
        {
            var bad = request.Text.Contains(" 2\n", StringComparison.Ordinal);
            response.StatusCode = bad ? 400 : 204;
            await response.WriteAsync(bad ? """{"error":"partial write: field type conflict: input field \"value\" on measurement \"temp\" is type float, already exists as type integer dropped=1"}""" : string.Empty);
        };
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Temp, [new(1, 1)])]));
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Temp, [new(2, 2)])]));
        var options = Options(peer.BaseAddress, o =>
        {
            o.Database = "flotta";
            o.RetentionPolicy = "autogen";
            o.Http.Auth = new AuthOptions { Username = "u", Password = new SecretValue("p") };
            o.MaxPoints = 1;
            o.Gzip = true;
        });

        await using (var output = new InfluxDbOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 1 && output.Delivery.DeadLettered == 1, "1 sent, 1 dead-lettered");
        }

        var first = peer.Requests.First();
        Assert.Equal(("/write", "?db=flotta&rp=autogen&precision=ms", "gzip"), (first.Path, first.Query, first.Header("Content-Encoding")));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("u:p")), first.Header("Authorization"));
        Assert.Contains("field type conflict", fixture.DeadLetterText("influx"), StringComparison.Ordinal);
        Assert.Contains("\"item\":{\"labels\":{\"__name__\":\"temp\",\"device\":\"dev1\"},\"timestamp\":2,\"value\":2}", fixture.DeadLetterText("influx"), StringComparison.Ordinal);
    }
}
