using CsCheck;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;
using G = Flotel.Wire.Tests.RemoteWrite.Generated;

namespace Flotel.Wire.Tests.RemoteWrite;

/// <summary>Generators of random WriteRequests and converters to the Google.Protobuf generated classes.</summary>
internal static class RemoteWriteTestData
{
    private const string NameStart = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    private const string NameRest = NameStart + "0123456789";

    /// <summary>Label values: ASCII, 2- and 3-byte UTF-8 characters, escapes-worthy characters, and a surrogate pair.</summary>
    private static readonly Gen<string> Value = Gen.Select(
        Gen.Char["abcXYZ019 _-.:/\"\\\n\té€日"].Array[1, 12],
        Gen.Int[0, 4],
        (chars, emoji) => new string(chars) + (emoji == 0 ? "😀" : string.Empty));

    private static readonly Gen<string> LabelName = Gen.Select(
        Gen.Char[NameStart], Gen.Char[NameRest].Array[0, 10], (c, rest) => c + new string(rest));

    private static readonly Gen<string> MetricName = Gen.Select(
        Gen.Char[NameStart + ":"], Gen.Char[NameRest + ":"].Array[0, 20], (c, rest) => c + new string(rest));

    private static readonly Gen<double> SampleValue = Gen.OneOf<double>(
        Gen.Double, Gen.Double.Special, Gen.Const(0d), Gen.Const(-0d), Gen.Const(Sample.StaleMarker), Gen.Double[-1e6, 1e6]);

    private static readonly Gen<long> Timestamp = Gen.OneOf<long>(Gen.Long, Gen.Long[1_600_000_000_000, 1_900_000_000_000], Gen.Const(0L), Gen.Long[-5, 5]);

    private static readonly Gen<Sample> SampleGen = Gen.Select(Timestamp, SampleValue, (t, v) => new Sample(t, v));

    public static readonly Gen<TimeSeries> Series = Gen.Select(
        MetricName,
        Gen.Select(LabelName, Value).Array[0, 6],
        SampleGen.Array[0, 5],
        (name, pairs, samples) =>
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal) { [Label.MetricNameLabel] = name };
            foreach (var (n, v) in pairs)
            {
                labels.TryAdd(n, v);
            }

            return new TimeSeries(new LabelSet(labels.Select(kv => new Label(kv.Key, kv.Value))), samples);
        });

    public static readonly Gen<MetricMetadata> Metadata = Gen.Select(
        Gen.Int[0, 7], Gen.OneOf(Gen.Const(string.Empty), MetricName), Gen.OneOf(Gen.Const(string.Empty), Value), Gen.OneOf(Gen.Const(string.Empty), Value),
        (t, f, h, u) => new MetricMetadata((MetricMetadataType)t, f, h, u));

    public static readonly Gen<WriteRequest> Request = Gen.Select(
        Series.Array[0, 12], Metadata.Array[0, 3], (s, m) => new WriteRequest(s, m));

    /// <summary>The same request as generated classes, labels in the given (model, i.e. sorted) order.</summary>
    public static G.WriteRequest ToGenerated(WriteRequest request)
    {
        var g = new G.WriteRequest();
        foreach (var series in request.Series)
        {
            var ts = new G.TimeSeries();
            foreach (var label in series.Labels)
            {
                ts.Labels.Add(new G.Label { Name = label.Name, Value = label.Value });
            }

            foreach (var sample in series.Samples)
            {
                ts.Samples.Add(new G.Sample { Timestamp = sample.TimestampMs, Value = sample.Value });
            }

            g.Timeseries.Add(ts);
        }

        foreach (var m in request.Metadata)
        {
            g.Metadata.Add(new G.MetricMetadata { Type = (G.MetricMetadata.Types.MetricType)(int)m.Type, MetricFamilyName = m.MetricFamilyName, Help = m.Help, Unit = m.Unit });
        }

        return g;
    }

    /// <summary>Asserts two requests carry the same series (labels, samples bit for bit) and metadata.</summary>
    public static void AssertSame(WriteRequest expected, WriteRequest actual)
    {
        Assert.Equal(expected.Series.Count, actual.Series.Count);
        for (var i = 0; i < expected.Series.Count; i++)
        {
            Assert.Equal(expected.Series[i].Labels, actual.Series[i].Labels);
            Assert.Equal(expected.Series[i].Samples.Count, actual.Series[i].Samples.Count);
            for (var j = 0; j < expected.Series[i].Samples.Count; j++)
            {
                var e = expected.Series[i].Samples[j];
                var a = actual.Series[i].Samples[j];
                Assert.Equal(e.TimestampMs, a.TimestampMs);
                Assert.Equal(BitConverter.DoubleToInt64Bits(e.Value), BitConverter.DoubleToInt64Bits(a.Value));
            }
        }

        Assert.Equal(expected.Metadata, actual.Metadata);
    }

    /// <summary>The model request a 1.0 receiver should read from a generated message (-0.0 is not on the wire: proto3 omits it).</summary>
    public static WriteRequest FromGenerated(G.WriteRequest g) => new(
        g.Timeseries.Select(ts => new TimeSeries(
            new LabelSet(ts.Labels.Where(l => l.Value.Length > 0).Select(l => new Label(l.Name, l.Value))),
            ts.Samples.Select(s => new Sample(s.Timestamp, s.Value == 0d ? 0d : s.Value)).ToArray())).ToArray(),
        g.Metadata.Select(m => new MetricMetadata((MetricMetadataType)(int)m.Type, m.MetricFamilyName, m.Help, m.Unit)).ToArray());

    /// <summary>A node_exporter-like request: <paramref name="series"/> series of <paramref name="samplesPerSeries"/> samples.</summary>
    public static WriteRequest NodeExporterLike(int series, int samplesPerSeries, long startMs)
    {
        var list = new TimeSeries[series];
        for (var i = 0; i < series; i++)
        {
            var samples = new Sample[samplesPerSeries];
            for (var j = 0; j < samplesPerSeries; j++)
            {
                samples[j] = new Sample(startMs + (j * 5000L), (i * 1.5) + j);
            }

            list[i] = new TimeSeries(
                LabelSet.Of(
                    "__name__", "node_cpu_seconds_total_" + (i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "cpu", (i % 4).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "edgedeviceid", "device-0001",
                    "instance", "localhost:9100",
                    "job", "node",
                    "metric-source".Replace('-', '_'), "system",
                    "mode", "idle" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                samples);
        }

        return new WriteRequest(list);
    }
}
