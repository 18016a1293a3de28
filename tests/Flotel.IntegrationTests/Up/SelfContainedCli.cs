using Flotel.IntegrationTests.Deploy;

namespace Flotel.IntegrationTests.Up;

/// <summary>
/// The full CLI for linux-x64 as a release ships it (release.sh's publish: self-contained, single file, with the
/// SQLite library beside it), published once per test run into <c>cli-linux-x64/</c> next to the test assembly
/// (incremental in obj/Release/net10.0/linux-x64 of src/Flotel.Cli). With <c>FLOTEL_RELEASE_DIST</c> set to a
/// release's dist/ folder, its <c>flotel-VERSION-linux-x64.tar.gz</c> is unpacked and used instead.
/// </summary>
internal static class SelfContainedCli
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _directory;

    /// <summary>The folder holding <c>flotel</c> and the files it needs beside it.</summary>
    public static async Task<string> DirectoryAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _directory ??= Environment.GetEnvironmentVariable("FLOTEL_RELEASE_DIST") is { Length: > 0 } dist
                ? await UnpackAsync(dist)
                : await PublishAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "cli-linux-x64");
        var project = Path.Combine(TestPaths.RepoRoot(), "src", "Flotel.Cli", "Flotel.Cli.csproj");
        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(
            "dotnet",
            ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishSingleFile=true", "-o", output, "--nologo", "-v", "q"],
            TimeSpan.FromMinutes(20));
        Assert.True(exit == 0, $"dotnet publish of the self-contained linux-x64 CLI failed ({exit}):\n{stdout}\n{stderr}");
        Assert.True(File.Exists(Path.Combine(output, "flotel")), "no flotel binary in " + output);
        return output;
    }

    private static async Task<string> UnpackAsync(string dist)
    {
        var tarball = Assert.Single(
            Directory.GetFiles(dist, "flotel-*-linux-x64.tar.gz"),
            f => !Path.GetFileName(f).StartsWith("flotel-agent-", StringComparison.Ordinal));
        var target = PeerProcess.CreateTempDirectory("release-cli");
        var (exit, stdout, stderr) =
            await Arm64DeviceBuild.RunProcessAsync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"tar -xzf {tarball} failed ({exit}):\n{stdout}\n{stderr}");
        Assert.True(File.Exists(Path.Combine(target, "flotel")), "no flotel binary in " + tarball);
        return target;
    }
}
