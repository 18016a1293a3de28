namespace Flotel.Cli.Tests;

public sealed class CheckCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new("flotel-check-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CheckManifests_OnTheBlogExample_PrintsThePlanAndExitsZero()
    {
        var (code, output, error) = CliRunner.Run("check", "--manifests", RepoPath("examples", "blog"));

        Assert.True(code == 0, error + output);
        Assert.Contains("device edge-device-1", output, StringComparison.Ordinal);
        Assert.Contains("logstash-syslog: tcp://127.0.0.1:5140", output, StringComparison.Ordinal);
        Assert.Contains("node_disk_io_now, node_memory_Mapped_bytes, node_network_speed_bytes", output, StringComparison.Ordinal);
        Assert.Contains("0 errors", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckManifests_WithTheBlogsMegabyteBufferSize_ExitsOneNamingFileLineAndField()
    {
        foreach (var file in Directory.GetFiles(RepoPath("examples", "blog"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_temp.Path, Path.GetFileName(file)));
        }

        var device = Path.Combine(_temp.Path, "device.yaml");
        var text = File.ReadAllText(device);
        Assert.Contains("bufferSize: 10\n", text, StringComparison.Ordinal);
        File.WriteAllText(device, text.Replace("bufferSize: 10\n", "bufferSize: 10mb\n", StringComparison.Ordinal));
        var line = Array.FindIndex(File.ReadAllLines(device), l => l.Contains("bufferSize: 10mb", StringComparison.Ordinal)) + 1;

        var (code, output, _) = CliRunner.Run("check", "--manifests", _temp.Path);

        Assert.Equal(1, code);
        Assert.Contains($"device.yaml:{line}:", output, StringComparison.Ordinal);
        Assert.Contains("bufferSize", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckManifests_WithAMissingDirectory_ExitsOne()
    {
        var missing = Path.Combine(_temp.Path, "nope");

        var (code, _, error) = CliRunner.Run("check", "--manifests", missing);

        Assert.Equal(1, code);
        Assert.Contains("nope", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckManifests_WithAnUnknownDevice_ExitsOne()
    {
        var (code, output, _) = CliRunner.Run("check", "--manifests", RepoPath("examples", "blog"), "--device", "no-such-device");

        Assert.Equal(1, code);
        Assert.Contains("no-such-device", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckConfig_OnTheExampleGatewayConfig_ExitsZero()
    {
        var (code, output, _) = CliRunner.Run("check", "--config", RepoPath("examples", "gateway", "gateway.yaml"));

        Assert.True(code == 0, output);
        Assert.Contains("0 errors", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckConfig_WithTheFleetEnabled_PrintsItsHeldPollLimit()
    {
        var file = Path.Combine(_temp.Path, "gateway.yaml");
        File.WriteAllText(file, "fleet:\n  enabled: true\n  address: 127.0.0.1:9443\n  maxHeldPolls: 1500\n  pollIntervalSeconds: 45\n");

        var (code, output, _) = CliRunner.Run("check", "--config", file);

        Assert.True(code == 0, output);
        Assert.Contains("fleet 127.0.0.1:9443: at most 1500 bundle long polls held, devices over it poll every 45 s", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckConfig_WithABadAddress_ExitsOneNamingLineAndField()
    {
        var file = Path.Combine(_temp.Path, "gateway.yaml");
        File.WriteAllText(file, "http:\n  address: 9201\n");

        var (code, output, _) = CliRunner.Run("check", "--config", file);

        Assert.Equal(1, code);
        Assert.Contains("gateway.yaml:2: http.address:", output, StringComparison.Ordinal);
    }

    internal static string RepoPath(params string[] parts) => Repository.Path(parts);
}
