using Flotel.Wire.Syslog;

namespace Flotel.Wire.Tests.Syslog;

public sealed class LogstashIndexPatternTests
{
    [Theory]
    [InlineData("logstash-%{+YYYY.MM.dd}", "2022-05-13T01:30:00Z", "logstash-2022.05.13")]
    [InlineData("logstash-%{+yyyy.MM.dd}", "2022-05-13T01:30:00Z", "logstash-2022.05.13")]
    [InlineData("logs-%{+YYYY}-%{+MM}/%{+dd}-%{+HH}h", "2022-05-13T01:30:00Z", "logs-2022-05/13-01h")]
    [InlineData("x-%{+yy.M.d}", "2022-05-03T00:00:00Z", "x-22.5.3")]
    [InlineData("w-%{+xxxx.ww}", "2021-01-01T00:00:00Z", "w-2020.53")]
    [InlineData("y-%{+YYYY.ww}", "2021-01-01T00:00:00Z", "y-2021.53")]
    [InlineData("m-%{+MMM-MMMM-EEE}", "2022-05-13T00:00:00Z", "m-May-May-Fri")]
    [InlineData("t-%{+HH:mm:ss.SSS}", "2022-05-13T01:02:03.456Z", "t-01:02:03.456")]
    [InlineData("q-%{+'week'ww}", "2022-05-13T00:00:00Z", "q-week19")]
    [InlineData("static-index", "2022-05-13T00:00:00Z", "static-index")]
    public void Render_Pattern_GivesJodaFormattedUtcName(string pattern, string timestamp, string expected)
    {
        var compiled = LogstashIndexPattern.Parse(pattern);
        DateTime utc = DateTime.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);

        Assert.Equal(expected, compiled.Render(utc));
    }

    [Fact]
    public void Render_SameDayTwice_ReturnsCachedNameAndChangesAtMidnight()
    {
        var compiled = LogstashIndexPattern.Parse(LogstashIndexPattern.Default);
        var t = new DateTime(2022, 5, 12, 23, 59, 59, DateTimeKind.Utc);

        string first = compiled.Render(t);
        string second = compiled.Render(t.AddSeconds(-3600));
        string next = compiled.Render(t.AddSeconds(1));

        Assert.Same(first, second);
        Assert.Equal("logstash-2022.05.12", first);
        Assert.Equal("logstash-2022.05.13", next);
    }

    [Theory]
    [InlineData("logstash-%{[type]}-%{+YYYY}")]
    [InlineData("logstash-%{+YYYY")]
    [InlineData("logstash-%{+qqq}")]
    [InlineData("")]
    public void Parse_UnsupportedPattern_ThrowsFormatException(string pattern)
    {
        Assert.Throws<FormatException>(() => LogstashIndexPattern.Parse(pattern));
    }
}
