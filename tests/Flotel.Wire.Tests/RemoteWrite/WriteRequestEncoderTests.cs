using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Tests.RemoteWrite;

public sealed class WriteRequestEncoderTests
{
    private static WriteRequest One(LabelSet labels) => new([new TimeSeries(labels, [new Sample(1, 1)])]);

    [Fact]
    public void Encode_SeriesWithoutMetricName_IsRejected()
    {
        var ex = Assert.Throws<RemoteWriteException>(() => WriteRequestEncoder.Encode(One(LabelSet.Of("job", "x"))));
        Assert.Equal(RemoteWriteRejectReason.MissingMetricName, ex.Reason);
    }

    [Fact]
    public void Encode_InvalidLabelName_IsRejected()
    {
        Assert.Equal(RemoteWriteRejectReason.InvalidLabelName, Assert.Throws<RemoteWriteException>(() => WriteRequestEncoder.Encode(One(LabelSet.Of("__name__", "up", "bad\nname", "system")))).Reason);
    }

    [Fact]
    public void Encode_FlottasMetricSourceLabel_IsEncoded()
    {
        var decoded = WriteRequestDecoder.Decode(WriteRequestEncoder.Encode(One(LabelSet.Of("__name__", "up", "metric-source", "system"))));
        Assert.Contains(decoded.Series[0].Labels, l => l.Name == "metric-source" && l.Value == "system");
    }

    [Fact]
    public void Encode_InvalidMetricName_IsRejected()
    {
        Assert.Equal(RemoteWriteRejectReason.InvalidMetricName, Assert.Throws<RemoteWriteException>(() => WriteRequestEncoder.Encode(One(LabelSet.Of("__name__", "up.time")))).Reason);
    }

    [Fact]
    public void Encode_DuplicateLabelName_IsRejected()
    {
        Assert.Equal(RemoteWriteRejectReason.DuplicateLabelName, Assert.Throws<RemoteWriteException>(() => WriteRequestEncoder.Encode(One(LabelSet.Of("__name__", "up", "a", "1", "a", "2")))).Reason);
    }

    [Fact]
    public void Encode_UnsortedModelLabels_AreWrittenSortedByName()
    {
        var bytes = WriteRequestEncoder.Encode(One(new LabelSet([new Label("zz", "1"), new Label("__name__", "up"), new Label("Ab", "2")])));
        var decoded = Generated.WriteRequest.Parser.ParseFrom(bytes);
        Assert.Equal(["Ab", "__name__", "zz"], decoded.Timeseries[0].Labels.Select(l => l.Name));
    }
}
