using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Flotel.Model.Metrics;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Hand-written decoder for the uncompressed protobuf of a remote-write 1.0 <c>prometheus.WriteRequest</c>
/// (prompb remote.proto/types.proto):
/// <code>
/// WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
/// TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
///                repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
/// Label        { string name = 1; string value = 2; }
/// Sample       { double value = 1; int64 timestamp = 2; }
/// </code>
/// Decisions (tested against Google.Protobuf generated code in Flotel.Wire.Tests):
/// <list type="bullet">
/// <item>Unknown fields, and known fields with an unexpected wire type, are skipped (as Google.Protobuf does);
/// group wire types are rejected.</item>
/// <item>Exemplars and native histograms are skipped and counted (<see cref="WriteRequestStats"/>).</item>
/// <item>Labels may arrive in any order; they are sorted by name (byte order). A repeated name is rejected
/// (spec: "MUST NOT contain repeated label names"), then labels with an empty value are dropped: in
/// Prometheus an empty value is the same as the label being absent.</item>
/// <item>Every series needs a non-empty, valid <c>__name__</c> (Flotel's deterministic choice for the
/// compliance suite's "without name label" case: 400).</item>
/// <item>Label values must be valid UTF-8 (protobuf <c>string</c>).</item>
/// </list>
/// A series' fields may come in any order, so each series is scanned twice: once to collect and validate
/// labels, once to hand samples to the visitor. Nothing is allocated per series or per sample.
/// The per-series methods are compiled fully optimized at once (<see cref="MethodImplOptions.AggressiveOptimization"/>):
/// under tiered compilation a freshly started gateway otherwise validated its first seconds of bodies with tier-0 and
/// instrumented code, which cost as much CPU as the rest of the request (perf, bench/peers/remote-write.sh).
/// </summary>
public static class WriteRequestDecoder
{
    /// <summary>Decodes <paramref name="protobuf"/> into <paramref name="visitor"/>.</summary>
    /// <exception cref="RemoteWriteException">The bytes are not an acceptable WriteRequest.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static WriteRequestStats Decode<TVisitor>(ReadOnlySpan<byte> protobuf, TVisitor visitor, RemoteWriteLimits? limits = null)
        where TVisitor : IWriteRequestVisitor
    {
        ArgumentNullException.ThrowIfNull(visitor);
        limits ??= RemoteWriteLimits.Default;
        var scratch = ArrayPool<LabelRef>.Shared.Rent(limits.MaxLabelsPerSeries);
        try
        {
            var state = default(DecodeState);
            var pos = 0;
            while (pos < protobuf.Length)
            {
                var field = ProtoWire.ReadTag(protobuf, ref pos, out var wireType);
                if (field == 1 && wireType == ProtoWire.WireLengthDelimited)
                {
                    ProtoWire.ReadLengthDelimited(protobuf, ref pos, out var start);
                    DecodeSeries(protobuf, start, pos, visitor, limits, scratch, ref state);
                }
                else if (field == 3 && wireType == ProtoWire.WireLengthDelimited)
                {
                    var metadata = ProtoWire.ReadLengthDelimited(protobuf, ref pos, out _);
                    DecodeMetadata(metadata, visitor);
                    state.Metadata++;
                }
                else
                {
                    ProtoWire.SkipField(protobuf, ref pos, wireType);
                }
            }

            return new WriteRequestStats(state.Series, state.Samples, state.Metadata, state.Exemplars, state.Histograms);
        }
        finally
        {
            ArrayPool<LabelRef>.Shared.Return(scratch);
        }
    }

    /// <summary>Decodes <paramref name="protobuf"/> into model objects (allocates; for tests, tools and the agent's WAL replay).</summary>
    /// <exception cref="RemoteWriteException">The bytes are not an acceptable WriteRequest.</exception>
    public static WriteRequest Decode(ReadOnlySpan<byte> protobuf, RemoteWriteLimits? limits = null)
    {
        var builder = new ModelBuilder();
        var stats = Decode(protobuf, builder, limits);
        return new WriteRequest(builder.Series, builder.MetadataEntries)
        {
            ExemplarsSkipped = stats.ExemplarsSkipped,
            HistogramsSkipped = stats.HistogramsSkipped,
        };
    }

    private struct DecodeState
    {
        public int Series;
        public int Samples;
        public int Metadata;
        public int Exemplars;
        public int Histograms;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeSeries<TVisitor>(ReadOnlySpan<byte> buffer, int start, int end, TVisitor visitor, RemoteWriteLimits limits, LabelRef[] scratch, ref DecodeState state)
        where TVisitor : IWriteRequestVisitor
    {
        // Offsets stay relative to the whole request buffer so SeriesLabels can slice it directly.
        var series = buffer[..end];
        var labelCount = 0;
        var pos = start;
        while (pos < end)
        {
            var field = ProtoWire.ReadTag(series, ref pos, out var wireType);
            if (wireType != ProtoWire.WireLengthDelimited)
            {
                ProtoWire.SkipField(series, ref pos, wireType);
                continue;
            }

            ProtoWire.ReadLengthDelimited(series, ref pos, out var fieldStart);
            switch (field)
            {
                case 1:
                    if (labelCount == limits.MaxLabelsPerSeries)
                    {
                        throw new RemoteWriteException(RemoteWriteRejectReason.TooManyLabels, "series has more than " + limits.MaxLabelsPerSeries.ToString(CultureInfo.InvariantCulture) + " labels");
                    }

                    scratch[labelCount++] = DecodeLabel(series[..pos], fieldStart, limits);
                    break;
                case 3:
                    state.Exemplars++;
                    break;
                case 4:
                    state.Histograms++;
                    break;
                default:
                    break;
            }
        }

        var labels = scratch.AsSpan(0, labelCount);
        var metricNameIndex = ValidateAndSort(buffer, ref labels);
        visitor.BeginSeries(new SeriesLabels(buffer, labels, metricNameIndex));

        pos = start;
        while (pos < end)
        {
            var field = ProtoWire.ReadTag(series, ref pos, out var wireType);
            if (field == 2 && wireType == ProtoWire.WireLengthDelimited)
            {
                var sample = ProtoWire.ReadLengthDelimited(series, ref pos, out _);
                DecodeSample(sample, visitor);
                state.Samples++;
            }
            else
            {
                ProtoWire.SkipField(series, ref pos, wireType);
            }
        }

        visitor.EndSeries();
        state.Series++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static LabelRef DecodeLabel(ReadOnlySpan<byte> buffer, int start, RemoteWriteLimits limits)
    {
        int nameStart = start, nameLength = 0, valueStart = start, valueLength = 0;
        var pos = start;
        while (pos < buffer.Length)
        {
            var field = ProtoWire.ReadTag(buffer, ref pos, out var wireType);
            if (wireType == ProtoWire.WireLengthDelimited && field is 1 or 2)
            {
                var bytes = ProtoWire.ReadLengthDelimited(buffer, ref pos, out var s);
                if (field == 1)
                {
                    nameStart = s;
                    nameLength = bytes.Length;
                }
                else
                {
                    valueStart = s;
                    valueLength = bytes.Length;
                }
            }
            else
            {
                ProtoWire.SkipField(buffer, ref pos, wireType);
            }
        }

        if (nameLength > limits.MaxLabelNameBytes)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.LabelTooLong, "label name longer than " + limits.MaxLabelNameBytes.ToString(CultureInfo.InvariantCulture) + " bytes");
        }

        if (valueLength > limits.MaxLabelValueBytes)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.LabelTooLong, "label " + LabelRules.Quote(buffer.Slice(nameStart, nameLength)) + " value longer than " + limits.MaxLabelValueBytes.ToString(CultureInfo.InvariantCulture) + " bytes");
        }

        return new LabelRef(nameStart, nameLength, valueStart, valueLength);
    }

    /// <summary>Sorts by name, rejects bad or repeated names, drops empty values; returns the index of __name__.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ValidateAndSort(ReadOnlySpan<byte> buffer, ref Span<LabelRef> labels)
    {
        // Insertion sort: senders almost always send sorted labels (the spec says MUST), making this O(n).
        for (var i = 1; i < labels.Length; i++)
        {
            var current = labels[i];
            var currentName = buffer.Slice(current.NameStart, current.NameLength);
            var j = i - 1;
            while (j >= 0 && buffer.Slice(labels[j].NameStart, labels[j].NameLength).SequenceCompareTo(currentName) > 0)
            {
                labels[j + 1] = labels[j];
                j--;
            }

            labels[j + 1] = current;
        }

        var kept = 0;
        var metricNameIndex = -1;
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            var name = buffer.Slice(label.NameStart, label.NameLength);
            if (!LabelRules.IsAcceptedLabelName(name))
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.InvalidLabelName, "invalid label name " + LabelRules.Quote(name));
            }

            if (i > 0 && name.SequenceEqual(buffer.Slice(labels[i - 1].NameStart, labels[i - 1].NameLength)))
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.DuplicateLabelName, "duplicate label name " + LabelRules.Quote(name));
            }

            var value = buffer.Slice(label.ValueStart, label.ValueLength);
            if (value.IsEmpty)
            {
                continue; // Empty value == absent label (Prometheus data model).
            }

            if (!Utf8.IsValid(value))
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.InvalidLabelValue, "label " + LabelRules.Quote(name) + " value is not valid UTF-8");
            }

            if (name.SequenceEqual(LabelRules.MetricNameLabel))
            {
                if (!LabelRules.IsValidMetricName(value))
                {
                    throw new RemoteWriteException(RemoteWriteRejectReason.InvalidMetricName, "invalid metric name " + LabelRules.Quote(value));
                }

                metricNameIndex = kept;
            }

            labels[kept++] = label;
        }

        if (metricNameIndex < 0)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.MissingMetricName, "series without __name__ label");
        }

        labels = labels[..kept];
        return metricNameIndex;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeSample<TVisitor>(ReadOnlySpan<byte> sample, TVisitor visitor)
        where TVisitor : IWriteRequestVisitor
    {
        // Fast path: exactly what Prometheus and Google.Protobuf write for a sample with both fields set.
        if (sample.Length >= 11 && sample[0] == 0x09 && sample[9] == 0x10)
        {
            var p = 10;
            var ts = ProtoWire.ReadVarint(sample, ref p);
            if (p == sample.Length)
            {
                visitor.Sample((long)ts, BitConverter.UInt64BitsToDouble(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(sample[1..])));
                return;
            }
        }

        ulong valueBits = 0;
        long timestamp = 0;
        var pos = 0;
        while (pos < sample.Length)
        {
            var field = ProtoWire.ReadTag(sample, ref pos, out var wireType);
            if (field == 1 && wireType == ProtoWire.WireFixed64)
            {
                valueBits = ProtoWire.ReadFixed64(sample, ref pos);
            }
            else if (field == 2 && wireType == ProtoWire.WireVarint)
            {
                timestamp = (long)ProtoWire.ReadVarint(sample, ref pos);
            }
            else
            {
                ProtoWire.SkipField(sample, ref pos, wireType);
            }
        }

        visitor.Sample(timestamp, BitConverter.UInt64BitsToDouble(valueBits));
    }

    private static void DecodeMetadata<TVisitor>(ReadOnlySpan<byte> metadata, TVisitor visitor)
        where TVisitor : IWriteRequestVisitor
    {
        var type = 0;
        ReadOnlySpan<byte> family = default, help = default, unit = default;
        var pos = 0;
        while (pos < metadata.Length)
        {
            var field = ProtoWire.ReadTag(metadata, ref pos, out var wireType);
            if (field == 1 && wireType == ProtoWire.WireVarint)
            {
                // Enums are int32 on the wire; negative values arrive sign-extended to 64 bits.
                type = (int)ProtoWire.ReadVarint(metadata, ref pos);
            }
            else if (wireType == ProtoWire.WireLengthDelimited && field is 2 or 4 or 5)
            {
                var bytes = ProtoWire.ReadLengthDelimited(metadata, ref pos, out _);
                if (field == 2)
                {
                    family = bytes;
                }
                else if (field == 4)
                {
                    help = bytes;
                }
                else
                {
                    unit = bytes;
                }
            }
            else
            {
                ProtoWire.SkipField(metadata, ref pos, wireType);
            }
        }

        visitor.Metadata((MetricMetadataType)type, family, help, unit);
    }

    /// <summary>Builds model objects for <see cref="Decode(ReadOnlySpan{byte}, RemoteWriteLimits?)"/>.</summary>
    private sealed class ModelBuilder : IWriteRequestVisitor
    {
        private LabelSet _labels = LabelSet.Empty;
        private List<Sample> _samples = [];

        public List<TimeSeries> Series { get; } = [];

        public List<MetricMetadata> MetadataEntries { get; } = [];

        public void BeginSeries(SeriesLabels labels)
        {
            _labels = labels.ToLabelSet();
            _samples = [];
        }

        public void Sample(long timestampMs, double value) => _samples.Add(new Sample(timestampMs, value));

        public void EndSeries() => Series.Add(new TimeSeries(_labels, _samples));

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit) =>
            MetadataEntries.Add(new MetricMetadata(type, Encoding.UTF8.GetString(metricFamilyName), Encoding.UTF8.GetString(help), Encoding.UTF8.GetString(unit)));
    }
}
