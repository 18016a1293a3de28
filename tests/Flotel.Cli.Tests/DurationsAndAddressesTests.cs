using Flotel.Cli.Commands;
using Flotel.Pipeline.Net;

namespace Flotel.Cli.Tests;

public sealed class DurationsAndAddressesTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 900)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    public void Durations_ParseUnits(string text, int seconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("0s")]
    [InlineData("1.5h")]
    [InlineData("99999999999999999d")]
    public void Durations_RejectNonsense(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData("127.0.0.1:5140", "127.0.0.1", 5140)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    [InlineData("[::1]:9201", "::1", 9201)]
    [InlineData("localhost:9201", "localhost", 9201)]
    public void Addresses_SplitHostAndPort(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var value));
        Assert.Equal(host, value.Host);
        Assert.Equal(port, value.Port);
    }
}
