using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Tests.Outputs.RemoteWrite;

public sealed class RemoteWriteOutputTests
{
    private static readonly LabelSet Cpu = LabelSet.Of("__name__", "cpu", "device", "dev1");
    private static readonly LabelSet Mem = LabelSet.Of("__name__", "mem", "device", "dev1");

    private static RemoteWriteOptions Options(Uri url, int maxSamples = 2000)
    {
        var options = new RemoteWriteOptions { Name = "rw", MaxSamplesPerSend = maxSamples };
        options.Http.Url = url;
        options.Http.MinBackoff = TimeSpan.FromMilliseconds(10);
        options.Http.MaxBackoff = TimeSpan.FromMilliseconds(50);
        return options;
    }

    private static List<(LabelSet Labels, Sample Sample)> Samples(IEnumerable<ReceivedRequest> requests) =>
        requests.SelectMany(r => RemoteWriteCodec.Decode(r.Body).Series.SelectMany(s => s.Samples.Select(p => (s.Labels, p)))).ToList();

    [Fact]
    public async Task Output_SendsSpecHeadersAuthAndCustomHeadersWithAtMostMaxSamplesPerRequest()
    {
        await using var fixture = new HttpOutputFixture();
        await using var peer = await FakeHttpPeer.StartAsync();
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(1, 1), new(2, 2), new(3, 3), new(4, 4)])]));
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Mem, [new(1, 10), new(2, 20)]), new TimeSeries(Cpu, [new(5, 5)])]));
        var options = Options(new Uri(peer.BaseAddress, "api/v1/write"), maxSamples: 3);
        options.Http.Auth = new AuthOptions { BearerToken = new SecretValue("t0ken") };
        options.Http.Headers = new Dictionary<string, string> { ["X-Scope-OrgID"] = "fleet-a" };

        await using (var output = new RemoteWriteOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 7, "7 samples sent");
        }

        var requests = peer.Requests.ToArray();
        Assert.Equal(3, requests.Length); // 7 samples, at most 3 per request
        Assert.All(requests, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("/api/v1/write", r.Path);
            Assert.Equal("snappy", r.Header("Content-Encoding"));
            Assert.Equal("application/x-protobuf", r.Header("Content-Type"));
            Assert.Equal("0.1.0", r.Header("X-Prometheus-Remote-Write-Version"));
            Assert.StartsWith("flotel-gateway/", r.Header("User-Agent"), StringComparison.Ordinal);
            Assert.Equal("Bearer t0ken", r.Header("Authorization"));
            Assert.Equal("fleet-a", r.Header("X-Scope-OrgID"));
            Assert.True(RemoteWriteCodec.Decode(r.Body).SampleCount <= 3);
        });
        Assert.Equal(
            [(Cpu, new Sample(1, 1)), (Cpu, new Sample(2, 2)), (Cpu, new Sample(3, 3)), (Cpu, new Sample(4, 4)), (Mem, new Sample(1, 10)), (Mem, new Sample(2, 20)), (Cpu, new Sample(5, 5))],
            Samples(requests));
    }

    [Fact]
    public async Task Output_ReceiverDownThen503ThenUp_RetriesTheSameSamplesUntilDelivered()
    {
        await using var fixture = new HttpOutputFixture();
        await using var peer = await FakeHttpPeer.StartAsync();
        var answers = new Queue<int>([503, 429, 204]);
        peer.Respond = (_, response) =>
        {
            response.StatusCode = answers.Count > 1 ? answers.Dequeue() : answers.Peek();
            return Task.CompletedTask;
        };
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(1, 1), new(2, 2)])]));

        await using (var output = new RemoteWriteOutput(Options(new Uri(peer.BaseAddress, "write")), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 2, "2 samples sent");
            Assert.Equal(2, output.Delivery.Retries);
        }

        Assert.Equal(3, peer.Requests.Count);
        Assert.All(peer.Requests, r => Assert.Equal(2, RemoteWriteCodec.Decode(r.Body).SampleCount));
        Assert.Equal(string.Empty, fixture.DeadLetterText("rw"));
    }

    [Fact]
    public async Task Output_Receiver400_DeadLettersTheSamplesWithItsReasonAndMovesOn()
    {
        await using var fixture = new HttpOutputFixture();
        await using var peer = await FakeHttpPeer.StartAsync();
        peer.Respond = async (request, response) =>
        {
            var first = RemoteWriteCodec.Decode(request.Body).Series[0].Samples[0];
            response.StatusCode = first.TimestampMs == 1 ? 400 : 204;
            await response.WriteAsync(first.TimestampMs == 1 ? "out of order sample" : string.Empty);
        };
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(1, 1), new(2, Sample.StaleMarker)])]));
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(3, 3)])]));

        await using (var output = new RemoteWriteOutput(Options(peer.BaseAddress, maxSamples: 2), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 1 && output.Delivery.DeadLettered == 2, "1 sent, 2 dead-lettered");
        }

        var lines = fixture.DeadLetterText("rw").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"reason\":\"HTTP 400: out of order sample\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"item\":{\"labels\":{\"__name__\":\"cpu\",\"device\":\"dev1\"},\"timestamp\":1,\"value\":1}", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"value\":\"StaleNaN\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("flotel_output_items_total{output=\"rw\",result=\"dead_lettered\",reason=\"http_400\"} 2", fixture.Metrics.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_HttpsWithCaFile_TrustsTheReceiverSignedByThatCa()
    {
        await using var fixture = new HttpOutputFixture();
        var caFile = Path.Combine(fixture.Directory, "ca.pem");
        using var certificate = TestCertificates.CreateServerCertificate(caFile);
        await using var peer = await FakeHttpPeer.StartAsync(certificate);
        Assert.Equal("https", peer.BaseAddress.Scheme);
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(1, 1)])]));
        var options = Options(peer.BaseAddress);
        options.Http.CaFile = caFile;
        options.Http.Auth = new AuthOptions { Username = "flotta", Password = new SecretValue("pa:ss") };

        await using (var output = new RemoteWriteOutput(options, fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Sent == 1, "1 sample sent over TLS");
        }

        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("flotta:pa:ss")), peer.Requests.Single().Header("Authorization"));
    }

    [Fact]
    public async Task Output_HttpsWithoutTheCa_NeverSendsAndKeepsRetrying()
    {
        await using var fixture = new HttpOutputFixture();
        using var certificate = TestCertificates.CreateServerCertificate(Path.Combine(fixture.Directory, "ca.pem"));
        await using var peer = await FakeHttpPeer.StartAsync(certificate);
        await fixture.AppendRemoteWriteAsync(new WriteRequest([new TimeSeries(Cpu, [new(1, 1)])]));

        await using (var output = new RemoteWriteOutput(Options(peer.BaseAddress), fixture.Context))
        {
            output.Start();
            await Eventually.TrueAsync(() => output.Delivery.Retries >= 2, "2 failed TLS handshakes");
            Assert.Equal(0, output.Delivery.Sent);
        }

        Assert.Empty(peer.Requests);
        Assert.Equal(string.Empty, fixture.DeadLetterText("rw"));
    }
}
