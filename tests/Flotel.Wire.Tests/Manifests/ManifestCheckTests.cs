using Flotel.Wire.Manifests;

namespace Flotel.Wire.Tests.Manifests;

public sealed class ManifestCheckTests
{
    [Fact]
    public void Run_BlogExample_NoErrors()
    {
        var result = ManifestCheck.Run(ManifestTestKit.BlogDirectory(), deviceName: "edge-device-1");

        Assert.False(result.HasErrors);
        Assert.Equal("edge-device-1", result.Result.Plan!.DeviceName);
    }

    [Fact]
    public void Run_BlogWithBufferSizeInMb_ErrorLineNamesFileLineAndField()
    {
        using var temp = new TempDirectory("flotel-check-");
        var dir = temp.Path;
        foreach (var file in Directory.GetFiles(ManifestTestKit.BlogDirectory(), "*.yaml"))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        var device = Path.Combine(dir, "device.yaml");
        var text = File.ReadAllText(device).Replace("bufferSize: 10\n", "bufferSize: 10mb\n", StringComparison.Ordinal);
        File.WriteAllText(device, text);

        var result = ManifestCheck.Run(dir);

        Assert.True(result.HasErrors);
        var expected = $"{dir.Replace('\\', '/')}/device.yaml:{ManifestTestKit.LineOf(text, "bufferSize: 10mb")}: spec.logCollection.logstash-syslog.bufferSize: expected an integer, got \"10mb\"";
        Assert.Contains(expected, result.Lines);
    }

    [Fact]
    public void Run_MissingDirectory_Throws()
    {
        Assert.Throws<DirectoryNotFoundException>(() => ManifestCheck.Run(Path.Combine(Path.GetTempPath(), "flotel-missing-" + Guid.NewGuid().ToString("N"))));
    }
}
