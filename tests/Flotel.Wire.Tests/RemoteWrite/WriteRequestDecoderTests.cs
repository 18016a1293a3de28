using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using Google.Protobuf;
using G = Flotel.Wire.Tests.RemoteWrite.Generated;

namespace Flotel.Wire.Tests.RemoteWrite;

public sealed class WriteRequestDecoderTests
{
    private static byte[] Request(params (string Name, string Value)[] labels)
    {
        var ts = new G.TimeSeries { Samples = { new G.Sample { Timestamp = 1, Value = 2 } } };
        foreach (var (name, value) in labels)
        {
            ts.Labels.Add(new G.Label { Name = name, Value = value });
        }

        return new G.WriteRequest { Timeseries = { ts } }.ToByteArray();
    }

    private static RemoteWriteException Rejects(byte[] protobuf, RemoteWriteLimits? limits = null) =>
        Assert.Throws<RemoteWriteException>(() => WriteRequestDecoder.Decode(protobuf, limits));

    [Fact]
    public void Decode_EmptyBody_ReturnsEmptyRequest()
    {
        var decoded = WriteRequestDecoder.Decode([]);
        Assert.Empty(decoded.Series);
        Assert.Empty(decoded.Metadata);
    }

    [Fact]
    public void Decode_LabelWithEmptyValue_TreatsItAsAbsent()
    {
        var decoded = WriteRequestDecoder.Decode(Request(("__name__", "up"), ("job", string.Empty), ("zone", "a")));
        Assert.Equal(LabelSet.Of("__name__", "up", "zone", "a"), decoded.Series[0].Labels);
    }

    [Fact]
    public void Decode_UnsortedLabels_AreAcceptedAndSortedByByteOrder()
    {
        var decoded = WriteRequestDecoder.Decode(Request(("zone", "a"), ("Zeta", "b"), ("__name__", "up"), ("_a", "c")));
        Assert.Equal(["Zeta", "__name__", "_a", "zone"], decoded.Series[0].Labels.Select(l => l.Name));
    }

    [Fact]
    public void Decode_MissingMetricName_IsRejected()
    {
        var ex = Rejects(Request(("job", "node")));
        Assert.Equal(RemoteWriteRejectReason.MissingMetricName, ex.Reason);
        Assert.Equal(400, ex.HttpStatusCode);
    }

    [Fact]
    public void Decode_EmptyMetricName_IsRejectedAsMissing()
    {
        Assert.Equal(RemoteWriteRejectReason.MissingMetricName, Rejects(Request(("__name__", string.Empty), ("job", "x"))).Reason);
    }

    [Theory]
    [InlineData("1up")]
    [InlineData("up-time")]
    [InlineData("up time")]
    [InlineData("up.time")]
    [InlineData("é")]
    public void Decode_InvalidMetricName_IsRejected(string name)
    {
        var ex = Rejects(Request(("__name__", name)));
        Assert.Equal(RemoteWriteRejectReason.InvalidMetricName, ex.Reason);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("node:cpu:rate5m")]
    [InlineData(":x")]
    [InlineData("_")]
    public void Decode_MetricNameWithColons_IsAccepted(string name)
    {
        Assert.Equal(name, WriteRequestDecoder.Decode(Request(("__name__", name))).Series[0].Labels.MetricName);
    }

    [Theory]
    [InlineData("metric-source")]
    [InlineData("1abc")]
    [InlineData("a:b")]
    [InlineData("a.b")]
    [InlineData("ünïcode")]
    public void Decode_LabelNameOutsideThe10Regex_IsAcceptedLikePrometheus2AndRemoteWrite20(string name)
    {
        Assert.Contains(WriteRequestDecoder.Decode(Request(("__name__", "up"), (name, "v"))).Series[0].Labels, l => l.Name == name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\nb")]
    [InlineData("a\u007fb")]
    public void Decode_InvalidLabelName_IsRejected(string name)
    {
        Assert.Equal(RemoteWriteRejectReason.InvalidLabelName, Rejects(Request(("__name__", "up"), (name, "v"))).Reason);
    }

    [Fact]
    public void Decode_DuplicateLabelName_IsRejected()
    {
        Assert.Equal(RemoteWriteRejectReason.DuplicateLabelName, Rejects(Request(("__name__", "up"), ("job", "a"), ("job", "b"))).Reason);
    }

    [Fact]
    public void Decode_DuplicateLabelNameWithOneEmptyValue_IsStillRejected()
    {
        Assert.Equal(RemoteWriteRejectReason.DuplicateLabelName, Rejects(Request(("__name__", "up"), ("job", string.Empty), ("job", "b"))).Reason);
    }

    [Fact]
    public void Decode_InvalidUtf8Value_IsRejected()
    {
        var label = new G.Label { Name = "job", Value = "x" }.ToByteArray();
        label[^1] = 0xFF; // value "x" → 0xFF
        var ts = new G.TimeSeries { Labels = { new G.Label { Name = "__name__", Value = "up" } } }.ToByteArray()
            .Concat(new byte[] { 0x0A, (byte)label.Length }).Concat(label).ToArray();
        var request = new byte[] { 0x0A, (byte)ts.Length }.Concat(ts).ToArray();
        Assert.Equal(RemoteWriteRejectReason.InvalidLabelValue, Rejects(request).Reason);
    }

    [Fact]
    public void Decode_MoreLabelsThanLimit_IsRejected()
    {
        var limits = new RemoteWriteLimits { MaxLabelsPerSeries = 3 };
        Assert.Single(WriteRequestDecoder.Decode(Request(("__name__", "up"), ("a", "1"), ("b", "2")), limits).Series);
        Assert.Equal(RemoteWriteRejectReason.TooManyLabels, Rejects(Request(("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "3")), limits).Reason);
    }

    [Fact]
    public void Decode_LabelLongerThanLimit_IsRejected()
    {
        var limits = new RemoteWriteLimits { MaxLabelValueBytes = 4, MaxLabelNameBytes = 8 };
        Assert.Single(WriteRequestDecoder.Decode(Request(("__name__", "up"), ("abcdefgh", "1234")), limits).Series);
        Assert.Equal(RemoteWriteRejectReason.LabelTooLong, Rejects(Request(("__name__", "up"), ("a", "12345")), limits).Reason);
        Assert.Equal(RemoteWriteRejectReason.LabelTooLong, Rejects(Request(("__name__", "up"), ("abcdefghi", "1")), limits).Reason);
    }

    [Theory]
    [InlineData("0A", "truncated")]                       // series tag without length
    [InlineData("0A05", "truncated")]                     // length beyond end
    [InlineData("0AFFFFFFFFFFFFFFFFFF01", "truncated")]   // 2^64-1 length prefix
    [InlineData("0AFFFFFFFFFFFFFFFFFFFF01", "varint")]    // 11-byte varint
    [InlineData("00", "field number")]                    // field 0
    [InlineData("0B", "wire type")]                       // group start
    [InlineData("0F", "wire type")]                       // wire type 7
    [InlineData("0D0000", "truncated")]                   // fixed32 cut short
    public void Decode_MalformedProtobuf_IsRejectedAsInvalidProtobuf(string hex, string messagePart)
    {
        var ex = Rejects(Convert.FromHexString(hex));
        Assert.Equal(RemoteWriteRejectReason.InvalidProtobuf, ex.Reason);
        Assert.Contains(messagePart, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_KnownFieldWithWrongWireType_IsSkippedLikeGoogleProtobuf()
    {
        // Field 1 as a varint at the top level: Google.Protobuf keeps it as an unknown field.
        var bytes = new byte[] { 0x08, 0x96, 0x01 }.Concat(Request(("__name__", "up"))).ToArray();
        Assert.Single(G.WriteRequest.Parser.ParseFrom(bytes).Timeseries);
        Assert.Single(WriteRequestDecoder.Decode(bytes).Series);
    }

    [Fact]
    public void Decode_StreamingVisitor_AllocatesNothingPerSeries()
    {
        var protobuf = WriteRequestEncoder.Encode(RemoteWriteTestData.NodeExporterLike(543, 2, 1_700_000_000_000));
        var visitor = new CountingVisitor();
        WriteRequestDecoder.Decode(protobuf, visitor); // warm-up: JIT, pool
        visitor.Samples = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var stats = WriteRequestDecoder.Decode(protobuf, visitor);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(543, stats.Series);
        Assert.Equal(1086, stats.Samples);
        Assert.Equal(1086, visitor.Samples);
        Assert.True(allocated < 1024, "allocated " + allocated + " bytes");
    }

    private sealed class CountingVisitor : IWriteRequestVisitor
    {
        public int Samples;

        public void BeginSeries(SeriesLabels labels) => Assert.True(labels.MetricName.Length > 0);

        public void Sample(long timestampMs, double value) => Samples++;

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }
}
