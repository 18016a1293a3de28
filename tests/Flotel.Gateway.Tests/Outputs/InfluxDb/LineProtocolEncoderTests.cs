using Flotel.Gateway.Outputs.Shared;
using System.Text;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Tests.Outputs.InfluxDb;

public sealed class LineProtocolEncoderTests
{
    [Fact]
    public void Encode_PlainSeries_IsMeasurementSortedTagsValueFieldAndMilliseconds()
    {
        var cpu = LabelSet.Of("__name__", "node_cpu_seconds_total", "mode", "idle", "cpu", "0", "device", "dev1");
        SeriesSample[] batch = [new(cpu, new Sample(1652386921000, 1234.5)), new(cpu, new Sample(1652386926000, 1))];

        var body = Encoding.UTF8.GetString(LineProtocolEncoder.Encode(batch, gzip: false));

        Assert.Equal(
            "node_cpu_seconds_total,cpu=0,device=dev1,mode=idle value=1234.5 1652386921000\n"
            + "node_cpu_seconds_total,cpu=0,device=dev1,mode=idle value=1 1652386926000\n",
            body);
    }

    [Fact]
    public void Encode_SpecialCharacters_AreEscapedPerTheLineProtocolReference()
    {
        var labels = LabelSet.Of(
            "__name__", "m,with space=eq",
            "comma", "a,b",
            "equals", "a=b",
            "space", "a b",
            "quote", "say \"hi\"",
            "newline", "line1\nline2\r",
            "backslash", "end\\",
            "empty", string.Empty);

        var line = LineProtocolEncoder.EncodeText([new SeriesSample(labels, new Sample(7, -0.25))]);

        // Measurement: comma and space escaped, '=' kept; tags: comma, '=' and space escaped; quotes kept; LF/CR as \n/\r;
        // a trailing backslash doubled so it cannot escape the next separator; the empty tag left out.
        Assert.Equal(
            "m\\,with\\ space=eq,backslash=end\\\\,comma=a\\,b,equals=a\\=b,newline=line1\\nline2\\r,quote=say\\ \"hi\",space=a\\ b value=-0.25 7\n",
            line);
    }

    [Fact]
    public void Encode_InfluxDb1_WritesBackslashesAsIsAndEscapesOnlySeparators()
    {
        // influxd 1.x reads "x\\,y" back as x\,y (it unescapes only "\,", "\ " and "\="); the 2.x form "x\\\,y" would
        // be stored as x\\,y. Checked against influxd 1.6 in the integration tests.
        var labels = LabelSet.Of(
            "__name__", "m,with space=eq\\b",
            "bs_comma", "x\\,y",
            "bs_space", "a\\ b",
            "bs_equals", "a\\=b",
            "two_bs", "a\\\\b",
            "key\\,comma", "v");

        var v1 = LineProtocolEncoder.EncodeText([new SeriesSample(labels, new Sample(7, 1))], influxDb1: true);
        var v2 = LineProtocolEncoder.EncodeText([new SeriesSample(labels, new Sample(7, 1))]);

        Assert.Equal(
            "m\\,with\\ space=eq\\b,bs_comma=x\\\\,y,bs_equals=a\\\\=b,bs_space=a\\\\ b,key\\\\,comma=v,two_bs=a\\\\b value=1 7\n",
            v1);
        Assert.Equal(
            "m\\,with\\ space=eq\\b,bs_comma=x\\\\\\,y,bs_equals=a\\\\\\=b,bs_space=a\\\\\\ b,key\\\\\\,comma=v,two_bs=a\\\\\\b value=1 7\n",
            v2);
    }

    [Theory]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(1e300, "1e+300")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(0.1, "0.1")]
    [InlineData(-3, "-3")]
    [InlineData(double.MaxValue, "1.7976931348623157e+308")]
    public void Encode_Value_IsRoundTripFloatWithLowerCaseExponent(double value, string expected)
    {
        var line = LineProtocolEncoder.EncodeText([new SeriesSample(LabelSet.Of("__name__", "m"), new Sample(1, value))]);

        Assert.Equal($"m value={expected} 1\n", line);
    }
}
