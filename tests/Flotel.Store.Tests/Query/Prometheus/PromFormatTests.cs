
using Flotel.Store.Query.Prometheus;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>Expected strings are what Go's strconv.FormatFloat(v, 'f', -1, 64) prints (the Prometheus API's float format).</summary>
public sealed class PromFormatTests
{
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.25, "-0.25")]
    [InlineData(1e21, "1000000000000000000000")]
    [InlineData(1.5e-7, "0.00000015")]
    [InlineData(123456789012345680.0, "123456789012345680")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(-1.2345e-10, "-0.00000000012345")]
    public void FormatFloat_Value_MatchesGoFormatFloatF(double value, string expected)
    {
        Assert.Equal(expected, PromFormat.FormatFloat(value));
    }

    [Theory]
    [InlineData(1_435_781_451_781L, "1435781451.781")]
    [InlineData(1_435_781_451_000L, "1435781451")]
    [InlineData(1_435_781_451_500L, "1435781451.500")]
    [InlineData(1_435_781_451_005L, "1435781451.005")]
    public void FormatTimestamp_Milliseconds_MatchesPrometheusMarshalTimestamp(long ms, string expected)
    {
        Assert.Equal(expected, PromFormat.FormatTimestamp(ms));
    }

    [Theory]
    [InlineData("1435781451.781", 1_435_781_451_781L)]
    [InlineData("1435781451", 1_435_781_451_000L)]
    [InlineData("2015-07-01T20:10:51.781Z", 1_435_781_451_781L)]
    [InlineData("2015-07-01T22:10:51.781+02:00", 1_435_781_451_781L)]
    public void TryParseTime_UnixSecondsOrRfc3339_Parses(string text, long expected)
    {
        Assert.True(PromFormat.TryParseTime(text, out var ms));
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("15", 15_000L)]
    [InlineData("0.5", 500L)]
    [InlineData("1m30s", 90_000L)]
    [InlineData("5m", 300_000L)]
    public void TryParseDuration_SecondsOrPromDuration_Parses(string text, long expected)
    {
        Assert.True(PromFormat.TryParseDuration(text, out var ms));
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("")]
    [InlineData("5x")]
    public void TryParseDuration_Garbage_IsRejected(string text)
    {
        Assert.False(PromFormat.TryParseDuration(text, out _));
        Assert.False(PromFormat.TryParseTime(text, out _));
    }

    [Fact]
    public void Utf8Formatters_RandomAndSpecialValues_SameTextAsTheStringForms()
    {
        var rng = new Random(5);
        var values = new List<double> { 0, -0.0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345678, double.MaxValue, double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity };
        for (var i = 0; i < 20_000; i++)
        {
            values.Add(BitConverter.Int64BitsToDouble(rng.NextInt64()));
            values.Add(Math.Round(rng.NextDouble() * Math.Pow(10, rng.Next(-5, 16)), rng.Next(0, 6)));
        }

        Span<byte> text = stackalloc byte[64];
        foreach (var v in values)
        {
            var expected = PromFormat.FormatFloat(v);
            if (PromFormat.TryFormatFloatUtf8(v, text, out var written))
            {
                Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(text[..written]));
            }
            else
            {
                // Only values whose round-trip form has an exponent (or that have no digits) take the string path.
                Assert.True(!double.IsFinite(v) || v.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Contains('E', StringComparison.Ordinal), $"{v:R} was not formatted on the fast path");
            }
        }

        foreach (var ms in new[] { 0L, 1, 999, 1000, 1001, -1, -1500, 1_764_270_000_123, long.MaxValue, long.MinValue + 1 })
        {
            Assert.Equal(PromFormat.FormatTimestamp(ms), System.Text.Encoding.ASCII.GetString(text[..PromFormat.FormatTimestampUtf8(ms, text)]));
        }
    }
}
