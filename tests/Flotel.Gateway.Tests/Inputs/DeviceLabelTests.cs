using System.Buffers;
using Flotel.Gateway.Inputs.RemoteWrite;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Inputs;

public sealed class DeviceLabelTests
{
    [Fact]
    public void Overwrite_ReplacesTheSendersValue_AndKeepsNameOrder()
    {
        var labels = LabelSet.Of("__name__", "up", "edgedeviceid", "someone-else", "job", "node", "a", "1");

        var overwritten = DeviceLabel.Overwrite(labels, "edge-a");

        Assert.Equal(LabelSet.Of("__name__", "up", "a", "1", "edgedeviceid", "edge-a", "job", "node"), overwritten);
        Assert.Equal(["__name__", "a", "edgedeviceid", "job"], overwritten.Select(l => l.Name));
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("a")]
    public void Overwrite_AddsTheLabelWhereItSorts(string other)
    {
        var overwritten = DeviceLabel.Overwrite(LabelSet.Of("__name__", "up", other, "x"), "edge-a");

        Assert.Equal(LabelSet.Of("__name__", "up", other, "x", "edgedeviceid", "edge-a"), overwritten);
        Assert.Equal(overwritten.Select(l => l.Name).Order(StringComparer.Ordinal), overwritten.Select(l => l.Name));
    }

    [Fact]
    public void Rewrite_EverySeriesGetsTheDevice_SamplesAndMetadataKept()
    {
        var request = new WriteRequest(
            [
                new TimeSeries(LabelSet.Of("__name__", "up", "edgedeviceid", "someone-else"), [new Sample(1000, 1), new Sample(2000, 0)]),
                new TimeSeries(LabelSet.Of("__name__", "node_load1"), [new Sample(1000, 0.5)]),
            ],
            [new MetricMetadata(MetricMetadataType.Gauge, "node_load1", "load", string.Empty)]);
        var output = new ArrayBufferWriter<byte>();

        var samples = DeviceLabel.Rewrite(RemoteWriteCodec.Encode(request), "edge-a", RemoteWriteLimits.Default, output);

        Assert.Equal(3, samples);
        var decoded = RemoteWriteCodec.Decode(output.WrittenSpan);
        Assert.Equal(["edge-a", "edge-a"], decoded.Series.Select(s => s.Labels.TryGetValue("edgedeviceid", out var v) ? v : null));
        Assert.Equal([2, 1], decoded.Series.Select(s => s.Samples.Count));
        Assert.Equal("node_load1", Assert.Single(decoded.Metadata).MetricFamilyName);
    }

    [Fact]
    public void Rewrite_BodyThatTheLabelPushesOverTheLimit_Is413()
    {
        var request = new WriteRequest([new TimeSeries(LabelSet.Of("__name__", "up"), [new Sample(1000, 1)])]);
        var body = RemoteWriteCodec.Encode(request);
        var limits = new RemoteWriteLimits { MaxDecompressedBytes = RemoteWriteCodec.GetDecompressedLength(body) + 5 };

        var error = Assert.Throws<RemoteWriteException>(() => DeviceLabel.Rewrite(body, "edge-device-with-a-long-name", limits, new ArrayBufferWriter<byte>()));

        Assert.Equal(413, error.HttpStatusCode);
    }
}
