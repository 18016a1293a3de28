using System.Diagnostics;
using System.Globalization;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// Builds <c>localhost/flotel-gateway:0.0.0-test.ID</c> once for the class with deploy/container/build.sh
/// (<c>--save</c> to a temporary OCI archive) and removes the image and the archive at the end.
/// </summary>
public sealed class GatewayImageFixture : IAsyncLifetime
{
    private readonly string _directory = PeerProcess.CreateTempDirectory("image");

    public string Version { get; } = "0.0.0-test." + Guid.NewGuid().ToString("N")[..8];

    public string Name => "localhost/flotel-gateway:" + Version;

    public string Archive => Path.Combine(_directory, "flotel-gateway.oci.tar");

    public TimeSpan BuildTime { get; private set; }

    /// <summary>runc without default ulimits, as <see cref="Agent.PodmanFixture"/> (crun fails on these machines).</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(_directory, "containers.conf") };

    /// <summary>bin/CONFIGURATION/net10.0 of src/Flotel.Cli, the configuration this test assembly was built in.</summary>
    public static string CliBuildDirectory()
    {
        var testOutput = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var directory = Path.Combine(TestPaths.RepoRoot(), "src", "Flotel.Cli", "bin", testOutput.Parent!.Name, testOutput.Name);
        var dll = Path.Combine(directory, "flotel.dll");
        Assert.True(File.Exists(dll), "no build of src/Flotel.Cli at " + directory);
        var next = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "flotel.dll"));
        Assert.True(File.ReadAllBytes(dll).AsSpan().SequenceEqual(next), dll + " is not the build next to the tests (rebuild tests/Flotel.IntegrationTests)");
        return directory;
    }

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "containers.conf"), "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n");
        var script = Path.Combine(TestPaths.RepoRoot(), "deploy", "container", "build.sh");
        var clock = Stopwatch.StartNew();
        var (exit, stdout, stderr) = await RunAsync(script, [Version, CliBuildDirectory(), "--save", Archive], Environment, TimeSpan.FromMinutes(10));
        BuildTime = clock.Elapsed;
        Assert.True(exit == 0, $"build.sh failed ({exit}):\n{stdout}\n{stderr}");
    }

    public async Task DisposeAsync()
    {
        await RunAsync("podman", ["rmi", "--ignore", Name], Environment);
        GatewayTestKit.DeleteDirectory(_directory);
    }

    /// <summary>Runs podman with this fixture's containers.conf; fails the test on a non-zero exit.</summary>
    public async Task<string> PodmanAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await RunAsync("podman", args, Environment);
        Assert.True(exit == 0, $"podman {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    /// <summary>Runs a program to its end (killed by PID after the timeout, 2 minutes unless given).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TestPaths.RepoRoot(),
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"{program} {string.Join(' ', info.ArgumentList)} did not end in time"));
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
