using System.Buffers.Binary;
using System.Text;
using Flotel.Model.Metrics;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Hand-written encoder for a remote-write 1.0 <c>prometheus.WriteRequest</c> (field layout in
/// <see cref="WriteRequestDecoder"/>). The output is byte-identical to Google.Protobuf's generated code
/// (proved by property tests): fields in number order, proto3 defaults (0, 0.0, -0.0, "") omitted.
/// Labels are written in name order (the model's <see cref="LabelSet"/> is sorted; spec: "MUST have label
/// names sorted"), labels with an empty value are omitted (empty = absent), and names are validated with the
/// decoder's rules, so whatever this writes Flotel's decoder, Prometheus and VictoriaMetrics accept.
/// </summary>
public static class WriteRequestEncoder
{
    private const byte TagTimeSeries = (1 << 3) | ProtoWire.WireLengthDelimited;   // 0x0A
    private const byte TagMetadata = (3 << 3) | ProtoWire.WireLengthDelimited;     // 0x1A
    private const byte TagLabel = (1 << 3) | ProtoWire.WireLengthDelimited;        // 0x0A
    private const byte TagSample = (2 << 3) | ProtoWire.WireLengthDelimited;       // 0x12
    private const byte TagLabelName = (1 << 3) | ProtoWire.WireLengthDelimited;    // 0x0A
    private const byte TagLabelValue = (2 << 3) | ProtoWire.WireLengthDelimited;   // 0x12
    private const byte TagSampleValue = (1 << 3) | ProtoWire.WireFixed64;          // 0x09
    private const byte TagSampleTimestamp = (2 << 3) | ProtoWire.WireVarint;       // 0x10
    private const byte TagMetadataType = (1 << 3) | ProtoWire.WireVarint;          // 0x08
    private const byte TagMetadataFamily = (2 << 3) | ProtoWire.WireLengthDelimited; // 0x12
    private const byte TagMetadataHelp = (4 << 3) | ProtoWire.WireLengthDelimited; // 0x22
    private const byte TagMetadataUnit = (5 << 3) | ProtoWire.WireLengthDelimited; // 0x2A

    /// <summary>Size in bytes of the encoded request; validates labels.</summary>
    /// <exception cref="RemoteWriteException">A series has invalid labels.</exception>
    public static int GetEncodedSize(WriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long size = 0;
        // Index loops: foreach over IReadOnlyList boxes an enumerator (one allocation per call).
        for (var i = 0; i < request.Series.Count; i++)
        {
            var series = request.Series[i];
            Validate(series.Labels);
            size += FieldSize(SeriesSize(series));
        }

        for (var i = 0; i < request.Metadata.Count; i++)
        {
            size += FieldSize(MetadataSize(request.Metadata[i]));
        }

        return checked((int)size);
    }

    /// <summary>Encodes into a new array.</summary>
    /// <exception cref="RemoteWriteException">A series has invalid labels.</exception>
    public static byte[] Encode(WriteRequest request)
    {
        var bytes = new byte[GetEncodedSize(request)];
        var written = Encode(request, bytes);
        return written == bytes.Length ? bytes : throw new InvalidOperationException("encoder size mismatch");
    }

    /// <summary>Encodes into <paramref name="destination"/>, which must hold <see cref="GetEncodedSize"/> bytes; returns bytes written.</summary>
    /// <exception cref="RemoteWriteException">A series has invalid labels.</exception>
    public static int Encode(WriteRequest request, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pos = 0;
        for (var s = 0; s < request.Series.Count; s++)
        {
            var series = request.Series[s];
            Validate(series.Labels);
            destination[pos++] = TagTimeSeries;
            pos = ProtoWire.WriteVarint(destination, pos, (ulong)SeriesSize(series));
            foreach (var label in series.Labels.AsSpan())
            {
                if (label.Value.Length == 0)
                {
                    continue;
                }

                destination[pos++] = TagLabel;
                pos = ProtoWire.WriteVarint(destination, pos, (ulong)LabelSize(label));
                pos = WriteString(destination, pos, TagLabelName, label.Name);
                pos = WriteString(destination, pos, TagLabelValue, label.Value);
            }

            var samples = series.Samples;
            for (var i = 0; i < samples.Count; i++)
            {
                var sample = samples[i];
                destination[pos++] = TagSample;
                pos = ProtoWire.WriteVarint(destination, pos, (ulong)SampleSize(sample));
                if (sample.Value != 0d)
                {
                    destination[pos++] = TagSampleValue;
                    BinaryPrimitives.WriteUInt64LittleEndian(destination[pos..], BitConverter.DoubleToUInt64Bits(sample.Value));
                    pos += 8;
                }

                if (sample.TimestampMs != 0)
                {
                    destination[pos++] = TagSampleTimestamp;
                    pos = ProtoWire.WriteVarint(destination, pos, (ulong)sample.TimestampMs);
                }
            }
        }

        for (var i = 0; i < request.Metadata.Count; i++)
        {
            var m = request.Metadata[i];
            destination[pos++] = TagMetadata;
            pos = ProtoWire.WriteVarint(destination, pos, (ulong)MetadataSize(m));
            if (m.Type != 0)
            {
                destination[pos++] = TagMetadataType;
                pos = ProtoWire.WriteVarint(destination, pos, (ulong)(long)(int)m.Type);
            }

            pos = WriteString(destination, pos, TagMetadataFamily, m.MetricFamilyName);
            pos = WriteString(destination, pos, TagMetadataHelp, m.Help);
            pos = WriteString(destination, pos, TagMetadataUnit, m.Unit);
        }

        return pos;
    }

    /// <summary>The decoder's label rules, applied to model labels (sorted already).</summary>
    private static void Validate(LabelSet labels)
    {
        var hasName = false;
        var span = labels.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            var label = span[i];
            if (!LabelRules.IsAcceptedLabelName(label.Name))
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.InvalidLabelName, "invalid label name \"" + label.Name + "\"");
            }

            if (i > 0 && string.Equals(span[i - 1].Name, label.Name, StringComparison.Ordinal))
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.DuplicateLabelName, "duplicate label name \"" + label.Name + "\"");
            }

            if (label.Value.Length > 0 && string.Equals(label.Name, Label.MetricNameLabel, StringComparison.Ordinal))
            {
                if (!LabelRules.IsValidMetricName(label.Value))
                {
                    throw new RemoteWriteException(RemoteWriteRejectReason.InvalidMetricName, "invalid metric name \"" + label.Value + "\"");
                }

                hasName = true;
            }
        }

        if (!hasName)
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.MissingMetricName, "series without __name__ label");
        }
    }

    private static long FieldSize(long payload) => 1 + ProtoWire.VarintSize((ulong)payload) + payload;

    private static int StringFieldSize(string s)
    {
        if (s.Length == 0)
        {
            return 0;
        }

        var n = Encoding.UTF8.GetByteCount(s);
        return 1 + ProtoWire.VarintSize((ulong)n) + n;
    }

    private static int LabelSize(Label label) => StringFieldSize(label.Name) + StringFieldSize(label.Value);

    private static int SampleSize(Sample sample) =>
        (sample.Value != 0d ? 9 : 0) + (sample.TimestampMs != 0 ? 1 + ProtoWire.VarintSize((ulong)sample.TimestampMs) : 0);

    private static long SeriesSize(TimeSeries series)
    {
        long size = 0;
        foreach (var label in series.Labels.AsSpan())
        {
            if (label.Value.Length != 0)
            {
                size += FieldSize(LabelSize(label));
            }
        }

        var samples = series.Samples;
        for (var i = 0; i < samples.Count; i++)
        {
            size += FieldSize(SampleSize(samples[i]));
        }

        return size;
    }

    private static int MetadataSize(MetricMetadata m) =>
        (m.Type != 0 ? 1 + ProtoWire.VarintSize((ulong)(long)(int)m.Type) : 0)
        + StringFieldSize(m.MetricFamilyName) + StringFieldSize(m.Help) + StringFieldSize(m.Unit);

    private static int WriteString(Span<byte> destination, int pos, byte tag, string value)
    {
        if (value.Length == 0)
        {
            return pos;
        }

        destination[pos++] = tag;
        var n = Encoding.UTF8.GetByteCount(value);
        pos = ProtoWire.WriteVarint(destination, pos, (ulong)n);
        return pos + Encoding.UTF8.GetBytes(value, destination[pos..]);
    }
}
