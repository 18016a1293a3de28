using System.Text;
using Flotel.Gateway.Outputs.Timestream;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Tests.Outputs.Timestream;

public sealed class WriteRecordsEncoderTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1652397600000);

    private static TimestreamOptions Options(Action<TimestreamOptions>? configure = null)
    {
        var options = new TimestreamOptions { Name = "ts", Region = "eu-central-1", Database = "flotta", Table = "metrics" };
        configure?.Invoke(options);
        return options;
    }

    private static TimeSeries Record(double value, long time = 1652397545275, params string[] labels) =>
        new(LabelSet.Of(labels.Length == 0 ? ["__name__", "node_disk_io_now", "instance", "localhost:9100", "edgedeviceid", "dev1"] : labels), [new Sample(time, value)]);

    [Fact]
    public void Encode_OneRecord_MatchesTheReferenceExampleByteForByte()
    {
        // The example of docs/reference/timestream-and-remote-write.md §2.4 (dimensions in label-name order).
        var body = new WriteRecordsEncoder(Options()).Encode([Record(0)]);
        Assert.Equal(
            """{"DatabaseName":"flotta","TableName":"metrics","Records":[{"Dimensions":[{"Name":"edgedeviceid","Value":"dev1"},{"Name":"instance","Value":"localhost:9100"}],"MeasureName":"node_disk_io_now","MeasureValue":"0","MeasureValueType":"DOUBLE","Time":"1652397545275","TimeUnit":"MILLISECONDS"}]}""",
            Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void Encode_CommonDimensions_SentOnceAndLeftOutOfRecords()
    {
        var options = Options(o => o.CommonDimensions = new Dictionary<string, string> { ["region"] = "eu", ["edgedeviceid"] = "fleet" });
        var body = new WriteRecordsEncoder(options).Encode([Record(1.5), Record(2, 1652397546275)]);
        Assert.Equal(
            """{"DatabaseName":"flotta","TableName":"metrics","CommonAttributes":{"Dimensions":[{"Name":"edgedeviceid","Value":"fleet"},{"Name":"region","Value":"eu"}]},"Records":[""" +
            """{"Dimensions":[{"Name":"instance","Value":"localhost:9100"}],"MeasureName":"node_disk_io_now","MeasureValue":"1.5","MeasureValueType":"DOUBLE","Time":"1652397545275","TimeUnit":"MILLISECONDS"},""" +
            """{"Dimensions":[{"Name":"instance","Value":"localhost:9100"}],"MeasureName":"node_disk_io_now","MeasureValue":"2","MeasureValueType":"DOUBLE","Time":"1652397546275","TimeUnit":"MILLISECONDS"}]}""",
            Encoding.UTF8.GetString(body));
    }

    [Theory]
    [InlineData(12345, "12345")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5e-7, "-2.5E-07")]
    [InlineData(1e21, "1E+21")]
    [InlineData(123456789012345680, "1.2345678901234568E+17")]
    public void Encode_Values_ShortestRoundTripInvariantText(double value, string expected)
    {
        var body = Encoding.UTF8.GetString(new WriteRecordsEncoder(Options()).Encode([Record(value)]));
        Assert.Contains($"\"MeasureValue\":\"{expected}\"", body, StringComparison.Ordinal);
        Assert.Equal(value, double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Encode_UnicodeAndQuotes_EscapedAsJsonOnly()
    {
        var body = Encoding.UTF8.GetString(new WriteRecordsEncoder(Options()).Encode([Record(1, 1, "__name__", "m", "path", "/ä \"q\" <b>")]));
        Assert.Contains("""{"Name":"path","Value":"/ä \"q\" <b>"}""", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_EmptyLabelValue_IsNotADimension()
    {
        var body = Encoding.UTF8.GetString(new WriteRecordsEncoder(Options()).Encode([Record(1, 1, "__name__", "m", "a", "", "b", "x")]));
        Assert.Contains("""{"Dimensions":[{"Name":"b","Value":"x"}]""", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_MoreThan100Records_Throws()
    {
        var encoder = new WriteRecordsEncoder(Options());
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode([.. Enumerable.Repeat(Record(1), 101)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode([]));
    }

    [Fact]
    public void Check_ValidRecord_Passes() =>
        Assert.Null(new WriteRecordsEncoder(Options()).Check(Record(1), Now));

    [Theory]
    [InlineData("stale", "stale_marker", FailureAction.Drop)]
    [InlineData("nan", "non_finite", FailureAction.Drop)]
    [InlineData("inf", "non_finite", FailureAction.Drop)]
    [InlineData("-inf", "non_finite", FailureAction.Drop)]
    [InlineData("no-name", "no_measure_name", FailureAction.DeadLetter)]
    [InlineData("only-name", "no_dimension", FailureAction.DeadLetter)]
    [InlineData("only-empty-labels", "no_dimension", FailureAction.DeadLetter)]
    [InlineData("name-257", "name_too_long", FailureAction.DeadLetter)]
    [InlineData("dimension-61", "name_too_long", FailureAction.DeadLetter)]
    [InlineData("dimension-time", "reserved_name", FailureAction.DeadLetter)]
    [InlineData("dimension-ts_", "reserved_name", FailureAction.DeadLetter)]
    [InlineData("measure-measure_value", "reserved_name", FailureAction.DeadLetter)]
    [InlineData("129-dimensions", "too_many_dimensions", FailureAction.DeadLetter)]
    [InlineData("2049-bytes", "record_too_large", FailureAction.DeadLetter)]
    [InlineData("older-than-6h", "too_old", FailureAction.DeadLetter)]
    [InlineData("16-min-ahead", "too_new", FailureAction.DeadLetter)]
    public void Check_RecordTimestreamRejects_SettledWithReason(string kind, string code, FailureAction action)
    {
        var now = Now.ToUnixTimeMilliseconds();
        TimeSeries record = kind switch
        {
            "stale" => Record(Sample.StaleMarker, now),
            "nan" => Record(double.NaN, now),
            "inf" => Record(double.PositiveInfinity, now),
            "-inf" => Record(double.NegativeInfinity, now),
            "no-name" => Record(1, now, "job", "x"),
            "only-name" => Record(1, now, "__name__", "m"),
            "only-empty-labels" => Record(1, now, "__name__", "m", "job", ""),
            "name-257" => Record(1, now, "__name__", new string('m', 257), "job", "x"),
            "dimension-61" => Record(1, now, "__name__", "m", new string('d', 61), "x"),
            "dimension-time" => Record(1, now, "__name__", "m", "time", "x"),
            "dimension-ts_" => Record(1, now, "__name__", "m", "ts_x", "x"),
            "measure-measure_value" => Record(1, now, "__name__", "measure_value", "job", "x"),
            "129-dimensions" => Record(1, now, ["__name__", "m", .. Enumerable.Range(0, 129).SelectMany(i => new[] { "d" + i, "v" })]),
            "2049-bytes" => Record(1, now, "__name__", "m", "job", new string('v', 2049 - 16 - 1 - 3)),
            "older-than-6h" => Record(1, now - (6 * 3_600_000L) - 1),
            "16-min-ahead" => Record(1, now + (16 * 60_000L)),
            _ => throw new ArgumentException(kind),
        };

        var failure = new WriteRecordsEncoder(Options()).Check(record, Now);
        Assert.NotNull(failure);
        Assert.Equal(code, failure.Value.Code);
        Assert.Equal(action, failure.Value.Action);
        Assert.Same(record, failure.Value.Item);
        Assert.False(string.IsNullOrWhiteSpace(failure.Value.Reason));
    }

    [Fact]
    public void Check_LimitsExactlyMet_Pass()
    {
        var now = Now.ToUnixTimeMilliseconds();
        var encoder = new WriteRecordsEncoder(Options());
        Assert.Null(encoder.Check(Record(1, now, "__name__", new string('m', 256), "job", "x"), Now));
        Assert.Null(encoder.Check(Record(1, now, "__name__", "m", new string('d', 60), "x"), Now));
        Assert.Null(encoder.Check(Record(1, now, ["__name__", "m", .. Enumerable.Range(0, 128).SelectMany(i => new[] { "d" + i, "v" })]), Now));
        Assert.Null(encoder.Check(Record(1, now, "__name__", "m", "job", new string('v', 2048 - 16 - 1 - 3)), Now));
        Assert.Null(encoder.Check(Record(1, now - (6 * 3_600_000L)), Now));
        Assert.Null(encoder.Check(Record(1, now + (15 * 60_000L)), Now));
    }

    [Fact]
    public void Check_MagneticStoreWrites_AcceptsOldRecordsButNotFutureOnes()
    {
        var encoder = new WriteRecordsEncoder(Options(o => o.MagneticStoreWrites = true));
        Assert.Null(encoder.Check(Record(1, Now.ToUnixTimeMilliseconds() - (30 * 86_400_000L)), Now));
        Assert.Equal("too_new", encoder.Check(Record(1, Now.ToUnixTimeMilliseconds() + (16 * 60_000L)), Now)!.Value.Code);
    }

    [Fact]
    public void Check_LongerRetention_MovesTheWindow()
    {
        var encoder = new WriteRecordsEncoder(Options(o => o.MemoryStoreRetentionHours = 24));
        Assert.Null(encoder.Check(Record(1, Now.ToUnixTimeMilliseconds() - (23 * 3_600_000L)), Now));
        Assert.Equal("too_old", encoder.Check(Record(1, Now.ToUnixTimeMilliseconds() - (25 * 3_600_000L)), Now)!.Value.Code);
    }
}
