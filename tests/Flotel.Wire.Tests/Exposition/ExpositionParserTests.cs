using System.Buffers;
using System.Text;
using Flotel.Model.Metrics;
using CsCheck;
using Flotel.Wire.Exposition;

using Flotel.Wire.Tests.TestKit;

namespace Flotel.Wire.Tests.Exposition;

public sealed class ExpositionParserTests
{
    private static byte[] NodeExporter() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "Exposition", "node_exporter_1.5.txt"));

    private static ExpositionResult Parse(string text, ExpositionFormat format = ExpositionFormat.PrometheusText) =>
        ExpositionParser.ParseAll(Encoding.UTF8.GetBytes(text), format);

    private static ExpositionSample Single(string text, ExpositionFormat format = ExpositionFormat.PrometheusText)
    {
        var result = Parse(text, format);
        Assert.Empty(result.Errors);
        return Assert.Single(result.Samples);
    }

    [Fact]
    public void ParseAll_NodeExporter15Output_HasNoErrorsAndEverySampleLine()
    {
        var bytes = NodeExporter();
        var result = ExpositionParser.ParseAll(bytes);
        Assert.Empty(result.Errors);
        var sampleLines = Encoding.UTF8.GetString(bytes).Split('\n').Count(l => l.Length > 0 && l[0] != '#');
        Assert.Equal(sampleLines, result.Samples.Count);
        Assert.True(result.Samples.Count > 400);
    }

    [Fact]
    public void ParseAll_NodeExporter15Output_HasTheBlogAllowListMetrics()
    {
        var result = ExpositionParser.ParseAll(NodeExporter());
        var names = result.Samples.Select(s => s.MetricName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("node_disk_io_now", names);
        Assert.Contains("node_memory_Mapped_bytes", names);
        Assert.Contains("node_network_speed_bytes", names);

        var mapped = result.Samples.Single(s => s.MetricName == "node_memory_Mapped_bytes");
        Assert.Equal(3.119104e+07, mapped.Value);
        Assert.Null(mapped.TimestampMs);
        var speed = result.Samples.Single(s => s.MetricName == "node_network_speed_bytes");
        Assert.Equal(LabelSet.Of("__name__", "node_network_speed_bytes", "device", "eth0"), speed.Labels);
        Assert.Equal(ExpositionMetricType.Gauge, result.Types["node_memory_Mapped_bytes"]);
        Assert.Equal(ExpositionMetricType.Summary, result.Types["go_gc_duration_seconds"]);
        Assert.Equal("Memory information field Mapped_bytes.", result.Help["node_memory_Mapped_bytes"]);
    }

    [Fact]
    public void TryParseLine_NodeExporterSplitOneBytePerSegment_GivesSameSamplesAsWholeBuffer()
    {
        var bytes = NodeExporter();
        var whole = new RecordingVisitor();
        new ExpositionParser().Parse(bytes, whole);

        var split = new RecordingVisitor();
        var parser = new ExpositionParser();
        var reader = new SequenceReader<byte>(SequenceFactory.OneBytePerSegment(bytes));
        parser.ParseFinal(ref reader, split);
        Assert.Equal(whole.Lines, split.Lines);
        Assert.Equal(0, parser.Stats.Errors);
    }

    [Fact]
    public void TryParseLine_IncompleteLine_ReturnsFalseAndConsumesNothing()
    {
        var parser = new ExpositionParser();
        var visitor = new RecordingVisitor();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>("up 1\nnode_load1 0.5"u8.ToArray()));
        Assert.True(parser.TryParseLine(ref reader, visitor));
        var consumed = reader.Consumed;
        Assert.False(parser.TryParseLine(ref reader, visitor));
        Assert.Equal(consumed, reader.Consumed);
        Assert.Equal(["up{} 1 -"], visitor.Lines);
        parser.ParseFinal(ref reader, visitor);
        Assert.Equal(["up{} 1 -", "node_load1{} 0.5 -"], visitor.Lines);
    }

    [Fact]
    public void ParseAll_LabelEscapes_AreResolved()
    {
        var sample = Single("""msg{path="C:\\dir\\",say="\"hi\"\nbye",empty=""} 1""" + "\n");
        Assert.True(sample.Labels.TryGetValue("path", out var path));
        Assert.Equal(@"C:\dir\", path);
        Assert.True(sample.Labels.TryGetValue("say", out var say));
        Assert.Equal("\"hi\"\nbye", say);
        Assert.True(sample.Labels.TryGetValue("empty", out var empty));
        Assert.Equal(string.Empty, empty);
    }

    [Theory]
    [InlineData("NaN", double.NaN)]
    [InlineData("+Inf", double.PositiveInfinity)]
    [InlineData("-Inf", double.NegativeInfinity)]
    [InlineData("Inf", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("1.5e+10", 1.5e10)]
    [InlineData("-0.000001", -0.000001)]
    [InlineData("3.119104e+07", 31191040)]
    [InlineData("42", 42)]
    [InlineData(".5", 0.5)]
    public void ParseAll_Value_IsParsedLikeGo(string token, double expected)
    {
        Assert.Equal(expected, Single("x " + token + "\n").Value);
    }

    [Fact]
    public void ParseAll_TimestampInMilliseconds_IsKept()
    {
        var sample = Single("http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n");
        Assert.Equal(1395066363000, sample.TimestampMs);
        Assert.Equal(1027, sample.Value);
    }

    [Fact]
    public void ParseAll_BlanksTabsAndCrLf_AreTolerated()
    {
        var result = Parse("  \r\n\tup { job = \"a\" , } \t 1 \t 123 \r\n# just a comment\r\n");
        Assert.Empty(result.Errors);
        var sample = Assert.Single(result.Samples);
        Assert.Equal(LabelSet.Of("__name__", "up", "job", "a"), sample.Labels);
        Assert.Equal(123, sample.TimestampMs);
    }

    [Fact]
    public void ParseAll_HistogramAndSummary_AreTheirSampleLines()
    {
        const string Text = """
            # HELP rpc_duration_seconds A summary of the RPC duration in seconds.
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{quantile="0.01"} 3102
            rpc_duration_seconds{quantile="0.99"} 76656
            rpc_duration_seconds_sum 1.7560473e+07
            rpc_duration_seconds_count 2693
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{le="0.05"} 24054
            http_request_duration_seconds_bucket{le="+Inf"} 144320
            http_request_duration_seconds_sum 53423
            http_request_duration_seconds_count 144320

            """;
        var result = Parse(Text);
        Assert.Empty(result.Errors);
        Assert.Equal(8, result.Samples.Count);
        Assert.Equal(ExpositionMetricType.Histogram, result.Types["http_request_duration_seconds"]);
        Assert.Equal(ExpositionMetricType.Summary, result.Types["rpc_duration_seconds"]);
        Assert.True(result.Samples[5].Labels.TryGetValue("le", out var le));
        Assert.Equal("+Inf", le);
        Assert.Equal("A summary of the RPC duration in seconds.", result.Help["rpc_duration_seconds"]);
    }

    [Fact]
    public void ParseAll_HelpEscapes_AreResolvedInConvenienceResult()
    {
        Assert.Equal("line1\nline2 \\n c:\\x", Parse("# HELP m line1\\nline2 \\\\n c:\\x\nm 1\n").Help["m"]);
    }

    [Fact]
    public void ParseAll_OpenMetrics_ToleratesEofCreatedUnitExemplarsAndSecondTimestamps()
    {
        const string Text = """
            # TYPE foo counter
            # UNIT foo seconds
            # HELP foo Some counter.
            foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
            foo_created{a="b"} 1520430000.123
            # TYPE ss stateset
            ss{ss="a"} 1
            # TYPE i info
            i_info{version="1"} 1
            # EOF

            """;
        var result = Parse(Text, ExpositionFormat.OpenMetrics);
        Assert.Empty(result.Errors);
        Assert.Equal(4, result.Samples.Count);
        Assert.Equal(1520879607789, result.Samples[0].TimestampMs);
        Assert.Equal(17.0, result.Samples[0].Value);
        Assert.Equal("foo_created", result.Samples[1].MetricName);
        Assert.Equal(ExpositionMetricType.StateSet, result.Types["ss"]);
        Assert.Equal(ExpositionMetricType.Info, result.Types["i"]);
    }

    [Fact]
    public void ParseAll_ContentAfterEof_IsReported()
    {
        var result = Parse("a 1\n# EOF\nb 2\n", ExpositionFormat.OpenMetrics);
        Assert.Single(result.Samples);
        Assert.Equal(new ExpositionError(3, ExpositionErrorReason.ContentAfterEof), Assert.Single(result.Errors));
    }

    [Theory]
    [InlineData("1up 1", ExpositionErrorReason.InvalidMetricName)]
    [InlineData("up-time 1", ExpositionErrorReason.InvalidMetricName)]
    [InlineData("up{1a=\"x\"} 1", ExpositionErrorReason.InvalidLabelName)]
    [InlineData("up{a:b=\"x\"} 1", ExpositionErrorReason.InvalidLabelName)]
    [InlineData("up{a=x} 1", ExpositionErrorReason.InvalidLabelName)]
    [InlineData("up{a} 1", ExpositionErrorReason.InvalidLabelName)]
    [InlineData("up{a=\"x} 1", ExpositionErrorReason.UnterminatedLabels)]
    [InlineData("up{a=\"x\" 1", ExpositionErrorReason.UnterminatedLabels)]
    [InlineData("up{a=\"x\\", ExpositionErrorReason.UnterminatedLabels)]
    [InlineData("up{a=\"x\\t\"} 1", ExpositionErrorReason.InvalidEscape)]
    [InlineData("up{a=\"x\",a=\"y\"} 1", ExpositionErrorReason.DuplicateLabelName)]
    [InlineData("up", ExpositionErrorReason.MissingValue)]
    [InlineData("up{a=\"x\"}", ExpositionErrorReason.MissingValue)]
    [InlineData("up one", ExpositionErrorReason.InvalidValue)]
    [InlineData("up 1,5", ExpositionErrorReason.InvalidValue)]
    [InlineData("up 1 12.5", ExpositionErrorReason.InvalidTimestamp)]
    [InlineData("up 1 now", ExpositionErrorReason.InvalidTimestamp)]
    [InlineData("up 1 123 extra", ExpositionErrorReason.TrailingCharacters)]
    [InlineData("# TYPE up countr", ExpositionErrorReason.UnknownType)]
    [InlineData("# TYPE up counter extra", ExpositionErrorReason.UnknownType)]
    [InlineData("# TYPE 1up counter", ExpositionErrorReason.InvalidMetadataLine)]
    [InlineData("# HELP", ExpositionErrorReason.InvalidMetadataLine)]
    public void ParseAll_MalformedLine_IsReportedWithLineNumberAndOthersKept(string bad, ExpositionErrorReason reason)
    {
        var result = Parse("good_before 1\n" + bad + "\ngood_after{x=\"y\"} 2\n");
        Assert.Equal(new ExpositionError(2, reason), Assert.Single(result.Errors));
        Assert.Equal(["good_before", "good_after"], result.Samples.Select(s => s.MetricName));
    }

    [Fact]
    public void ParseAll_InvalidUtf8InLabelValue_IsReported()
    {
        var bytes = "a 1\nb{x=\"\xFF\"} 1\n"u8.ToArray();
        bytes[9] = 0xFF;
        var result = ExpositionParser.ParseAll(bytes);
        Assert.Equal(new ExpositionError(2, ExpositionErrorReason.InvalidUtf8), Assert.Single(result.Errors));
    }

    [Fact]
    public void TryParseLine_LineOverLimit_IsReportedOnceAndDiscardedUpToNewline()
    {
        var parser = new ExpositionParser(maxLineBytes: 32);
        var visitor = new RecordingVisitor();
        var text = "a 1\n" + "long_metric_name{label=\"" + new string('v', 100) + "\"} 1\nb 2\n";
        var bytes = Encoding.UTF8.GetBytes(text);

        // Feed in chunks of 20 bytes, as a socket would; keep unconsumed bytes like a pipe does.
        var pending = new List<byte>();
        for (var offset = 0; offset < bytes.Length; offset += 20)
        {
            pending.AddRange(bytes.Skip(offset).Take(20));
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending.ToArray()));
            while (parser.TryParseLine(ref reader, visitor))
            {
            }

            pending.RemoveRange(0, (int)reader.Consumed);
            Assert.True(pending.Count <= 32 + 20, "buffered " + pending.Count);
        }

        Assert.Equal(["a{} 1 -", "b{} 2 -"], visitor.Lines);
        Assert.Equal([(2, ExpositionErrorReason.LineTooLong)], visitor.Errors);
    }

    [Fact]
    public void Parse_NodeExporterSecondTime_AllocatesNothingPerLine()
    {
        var bytes = NodeExporter();
        var parser = new ExpositionParser();
        var visitor = new CountingVisitor();
        parser.Parse(bytes, visitor); // warm-up: scratch buffers grow once
        // The fewest bytes of three runs: a one-off runtime allocation (tiering, a timer) can land in any single run,
        // an allocation per line lands in every run.
        var allocated = long.MaxValue;
        var stats = default(ExpositionStats);
        for (var run = 0; run < 3; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            stats = parser.Parse(bytes, visitor);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, stats.Errors);
        Assert.True(stats.Samples > 400);
        Assert.True(allocated < 1024, "allocated " + allocated + " bytes");
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrows()
    {
        Gen.Byte.Array[0, 400].Sample(bytes =>
        {
            var stats = new ExpositionParser(maxLineBytes: 64).Parse(bytes, new CountingVisitor());
            Assert.True(stats.Samples + stats.Errors <= stats.Lines);
        }, iter: 5000);
    }

    [Fact]
    public void Parse_RandomExpositionLikeText_NeverThrows()
    {
        Gen.Char["ab_:{}=\",\\n# \t\r\n019.+-eEINFa"].Array[0, 200].Sample(chars =>
        {
            var stats = new ExpositionParser().Parse(Encoding.UTF8.GetBytes(chars), new CountingVisitor());
            Assert.True(stats.Samples + stats.Errors <= stats.Lines);
        }, iter: 5000);
    }

    /// <summary>Renders each sample as text so two parses can be compared.</summary>
    private sealed class RecordingVisitor : IExpositionVisitor
    {
        public List<string> Lines { get; } = [];

        public List<(int, ExpositionErrorReason)> Errors { get; } = [];

        public void Sample(ReadOnlySpan<byte> metricName, ExpositionLabels labels, double value, long? timestampMs)
        {
            var sb = new StringBuilder(Encoding.UTF8.GetString(metricName)).Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                sb.Append(Encoding.UTF8.GetString(labels.GetName(i))).Append('=').Append(Encoding.UTF8.GetString(labels.GetValue(i))).Append(';');
            }

            sb.Append("} ").Append(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append(' ').Append(timestampMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-");
            Lines.Add(sb.ToString());
        }

        public void Type(ReadOnlySpan<byte> metricName, ExpositionMetricType type) => Lines.Add("TYPE " + Encoding.UTF8.GetString(metricName) + " " + type);

        public void Help(ReadOnlySpan<byte> metricName, ReadOnlySpan<byte> text) => Lines.Add("HELP " + Encoding.UTF8.GetString(metricName) + " " + Encoding.UTF8.GetString(text));

        public void Error(int line, ExpositionErrorReason reason) => Errors.Add((line, reason));
    }

    private sealed class CountingVisitor : IExpositionVisitor
    {
        public int Samples;

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
