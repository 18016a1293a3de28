using System.Buffers;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Flotel.Model.Metrics;
using Flotel.Wire.Exposition;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Benchmarks;

/// <summary>
/// Remote-write decode/encode (with and without snappy) and exposition parsing. "Small" is one node_exporter
/// scrape as the Flotta blog sends it (543 series × 1 sample); "Big" is 10,000 series × 5 samples (a
/// catch-up batch). The streaming decode must allocate nothing per sample (see the Allocated column).
/// </summary>
[MemoryDiagnoser]
public class RemoteWriteBenchmarks
{
    private WriteRequest _small = null!;
    private WriteRequest _big = null!;
    private byte[] _smallProtobuf = [];
    private byte[] _bigProtobuf = [];
    private byte[] _smallSnappy = [];
    private byte[] _bigSnappy = [];
    private byte[] _encodeBuffer = [];
    private readonly ArrayBufferWriter<byte> _snappyOutput = new(1 << 20);
    private readonly CountingVisitor _visitor = new();
    private readonly ExpositionParser _parser = new();
    private readonly CountingExpositionVisitor _expositionVisitor = new();
    private byte[] _nodeExporterText = [];

    [GlobalSetup]
    public void Setup()
    {
        _small = NodeExporterLike(543, 1);
        _big = NodeExporterLike(10_000, 5);
        _smallProtobuf = WriteRequestEncoder.Encode(_small);
        _bigProtobuf = WriteRequestEncoder.Encode(_big);
        _smallSnappy = RemoteWriteCodec.Encode(_small);
        _bigSnappy = RemoteWriteCodec.Encode(_big);
        _encodeBuffer = new byte[_bigProtobuf.Length];
        _nodeExporterText = File.ReadAllBytes(FindFixture());
    }

    [Benchmark(Description = "decode 543x1 protobuf (visitor)")]
    public int DecodeSmallProtobuf() => WriteRequestDecoder.Decode(_smallProtobuf, _visitor).Samples;

    [Benchmark(Description = "decode 543x1 snappy (visitor)")]
    public int DecodeSmallSnappy() => RemoteWriteCodec.Decode(_smallSnappy, _visitor).Samples;

    [Benchmark(Description = "decode 543x1 snappy (model objects)")]
    public int DecodeSmallSnappyModel() => RemoteWriteCodec.Decode(_smallSnappy).Series.Count;

    [Benchmark(Description = "decode 10kx5 protobuf (visitor)")]
    public int DecodeBigProtobuf() => WriteRequestDecoder.Decode(_bigProtobuf, _visitor).Samples;

    [Benchmark(Description = "decode 10kx5 snappy (visitor)")]
    public int DecodeBigSnappy() => RemoteWriteCodec.Decode(_bigSnappy, _visitor).Samples;

    [Benchmark(Description = "encode 543x1 protobuf")]
    public int EncodeSmallProtobuf() => WriteRequestEncoder.Encode(_small, _encodeBuffer);

    [Benchmark(Description = "encode 543x1 snappy")]
    public int EncodeSmallSnappy()
    {
        _snappyOutput.ResetWrittenCount();
        return RemoteWriteCodec.Encode(_small, _snappyOutput);
    }

    [Benchmark(Description = "encode 10kx5 protobuf")]
    public int EncodeBigProtobuf() => WriteRequestEncoder.Encode(_big, _encodeBuffer);

    [Benchmark(Description = "encode 10kx5 snappy")]
    public int EncodeBigSnappy()
    {
        _snappyOutput.ResetWrittenCount();
        return RemoteWriteCodec.Encode(_big, _snappyOutput);
    }

    [Benchmark(Description = "parse node_exporter 1.5 exposition (visitor)")]
    public int ParseNodeExporter() => _parser.Parse(_nodeExporterText, _expositionVisitor).Samples;

    private static WriteRequest NodeExporterLike(int seriesCount, int samplesPerSeries)
    {
        var start = 1_700_000_000_000L;
        var series = new TimeSeries[seriesCount];
        for (var i = 0; i < seriesCount; i++)
        {
            var samples = new Sample[samplesPerSeries];
            for (var j = 0; j < samplesPerSeries; j++)
            {
                samples[j] = new Sample(start + (j * 5_000L), (i * 1234.5) + j);
            }

            var id = i.ToString(CultureInfo.InvariantCulture);
            series[i] = new TimeSeries(
                LabelSet.Of(
                    "__name__", "node_metric_" + (i % 120).ToString(CultureInfo.InvariantCulture) + "_total",
                    "device", "dev" + (i % 8).ToString(CultureInfo.InvariantCulture),
                    "edgedeviceid", "edge-device-0001",
                    "instance", "localhost:9100",
                    "job", "node",
                    "metric_source", "system",
                    "series", id),
                samples);
        }

        return new WriteRequest(series);
    }

    /// <summary>The node_exporter capture lives with the tests; find it from wherever BenchmarkDotNet runs us.</summary>
    private static string FindFixture()
    {
        const string Relative = "tests/Flotel.Wire.Tests/Data/Exposition/node_exporter_1.5.txt";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, Relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("cannot find " + Relative + " above " + AppContext.BaseDirectory);
    }

    private sealed class CountingVisitor : IWriteRequestVisitor
    {
        public long Samples;

        public void BeginSeries(SeriesLabels labels)
        {
        }

        public void Sample(long timestampMs, double value) => Samples++;

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }

    private sealed class CountingExpositionVisitor : IExpositionVisitor
    {
        public long Samples;

        public void Sample(ReadOnlySpan<byte> metricName, ExpositionLabels labels, double value, long? timestampMs) => Samples++;

        public void Type(ReadOnlySpan<byte> metricName, ExpositionMetricType type)
        {
        }

        public void Help(ReadOnlySpan<byte> metricName, ReadOnlySpan<byte> text)
        {
        }

        public void Error(int line, ExpositionErrorReason reason)
        {
        }
    }
}
