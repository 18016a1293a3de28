using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Outputs.RemoteWrite;

public sealed class RemoteWriteRequestEncoderTests
{
    private static readonly LabelSet Up = LabelSet.Of("job", "a", "__name__", "up");
    private static readonly LabelSet X = LabelSet.Of("__name__", "x");

    [Fact]
    public void Encode_ConsecutiveSamplesOfOneSeries_BecomeOneTimeSeriesWithSortedLabels()
    {
        SeriesSample[] batch = [new(Up, new Sample(1000, 1.0)), new(Up, new Sample(2000, 0.0)), new(X, new Sample(3000, 2.5))];

        var protobuf = WriteRequestEncoder.Encode(RemoteWriteRequestEncoder.ToWriteRequest(batch));

        // remote.proto / types.proto (remote-write spec 1.0): WriteRequest.timeseries=1, TimeSeries.labels=1,
        // .samples=2, Label.name=1 .value=2, Sample.value=1 (fixed64) .timestamp=2 (varint); proto3 omits zero values.
        // Series 1: labels __name__="up", job="a" (sorted), samples (1.0 @1000), (0.0 @2000); series 2: x (2.5 @3000).
        const string expected =
            "0a2d" + "0a0e" + "0a085f5f6e616d655f5f" + "12027570" + "0a08" + "0a036a6f62" + "120161"
            + "120c" + "09000000000000f03f" + "10e807" + "1203" + "10d00f"
            + "0a1d" + "0a0d" + "0a085f5f6e616d655f5f" + "120178" + "120c" + "090000000000000440" + "10b817";
        Assert.Equal(expected, Convert.ToHexStringLower(protobuf));
    }

    [Fact]
    public void Encode_Body_IsASnappyBlockThatDecodesToTheSameSamplesInOrder()
    {
        var batch = new List<SeriesSample>();
        for (var i = 0; i < 50; i++)
        {
            batch.Add(new SeriesSample(i % 10 < 5 ? Up : X, new Sample(1000 + i, i)));
        }

        var decoded = RemoteWriteCodec.Decode(RemoteWriteRequestEncoder.Encode(batch));

        var flat = decoded.Series.SelectMany(s => s.Samples.Select(p => (s.Labels, p))).ToList();
        Assert.Equal(batch.Select(b => (b.Labels, b.Sample)), flat);
        Assert.Equal(10, decoded.Series.Count); // runs of 5 samples alternate between the two series
    }

    [Fact]
    public void Encode_StaleMarker_KeepsItsExactBits()
    {
        var decoded = RemoteWriteCodec.Decode(RemoteWriteRequestEncoder.Encode([new SeriesSample(X, new Sample(5, Sample.StaleMarker))]));

        Assert.True(decoded.Series[0].Samples[0].IsStaleMarker);
    }
}
