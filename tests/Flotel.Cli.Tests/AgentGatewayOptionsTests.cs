namespace Flotel.Cli.Tests;

/// <summary><c>flotel agent --gateway URL [--token TOKEN]</c>: usage errors exit 2, enrolment problems exit 1 (docs/fleet.md §4).</summary>
public sealed class AgentGatewayOptionsTests
{
    private static readonly string Token = "flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw." + new string('a', 64);

    [Theory]
    [InlineData("exactly one of --manifests DIR or --gateway URL", "--manifests", "/tmp", "--gateway", "https://127.0.0.1:9443")]
    [InlineData("is not an https URL", "--gateway", "http://127.0.0.1:9443")]
    [InlineData("is not an https URL", "--gateway", "https://127.0.0.1:9443/fleet?x=1")]
    [InlineData("is not an https URL", "--gateway", "not a url")]
    [InlineData("--token: a token has the form", "--gateway", "https://127.0.0.1:9443", "--token", "flotel1.abc")]
    [InlineData("--token is used only with --gateway", "--manifests", "/tmp", "--token", "x")]
    [InlineData("--device is not used with --gateway", "--gateway", "https://127.0.0.1:9443", "--device", "dev1")]
    public void Agent_BadGatewayOptions_AreUsageErrors(string expected, params string[] args)
    {
        var (code, _, error) = CliRunner.Run(["agent", .. args]);

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_GatewayWithoutTokenOrEnrolment_SaysATokenIsNeeded()
    {
        using var data = new TempDirectory();
        var (code, _, error) = CliRunner.Run("agent", "--gateway", "https://127.0.0.1:9443", "--data", data.Path);

        Assert.Equal(2, code);
        Assert.Contains("needs --token TOKEN", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_GatewayUnreachableAtEnrolment_ExitsOneNamingIt()
    {
        using var data = new TempDirectory();
        var port = Loopback.FreePort();
        var (code, _, error) = CliRunner.Run("agent", "--gateway", $"https://127.0.0.1:{port}", "--token", Token, "--data", data.Path);

        Assert.Equal(1, code);
        Assert.Contains($"cannot get the fleet CA from https://127.0.0.1:{port}/", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data.Path, "fleet", "device.key")));
    }
}
