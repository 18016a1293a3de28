using System.Diagnostics;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// The device build cross-compiled for linux-arm64 (NativeAOT: clang with the aarch64 GNU toolchain, test.sh installs
/// them) and run under qemu-user. Published once per test run into <c>device-linux-arm64/</c> next to the test
/// assembly; the publish is incremental (obj/Release/net10.0/linux-arm64 of src/Flotel.Device), so a run after an
/// unchanged build only re-copies the binary — a first or changed build costs one NativeAOT compilation (about
/// 5 minutes on a loaded 2-core machine).
/// </summary>
internal static class Arm64DeviceBuild
{
    /// <summary>The aarch64 C library and dynamic loader (Debian's libc6-arm64-cross), qemu's -L.</summary>
    public const string Sysroot = "/usr/aarch64-linux-gnu";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _binary;

    /// <summary><c>qemu-aarch64-static -L SYSROOT</c>: the command an arm64 binary runs under here.</summary>
    public static IReadOnlyList<string> Emulator { get; } = ["qemu-aarch64-static", "-L", Sysroot];

    /// <summary>The published arm64 <c>flotel</c> binary (publishing it on first use).</summary>
    public static async Task<string> BinaryAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _binary ??= await PublishAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Runs <c>flotel ARGS</c> of the arm64 build under qemu; returns exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string binary, params string[] args) =>
        await RunProcessAsync(Emulator[0], [.. Emulator.Skip(1), binary, .. args], TimeSpan.FromMinutes(2));

    /// <summary>Runs a program to its end (killed by PID after <paramref name="timeout"/>).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunProcessAsync(string program, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? TestPaths.RepoRoot(),
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            throw new TimeoutException($"{program} {string.Join(' ', info.ArgumentList)} did not end within {timeout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task<string> PublishAsync()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "device-linux-arm64");
        var project = Path.Combine(TestPaths.RepoRoot(), "src", "Flotel.Device", "Flotel.Device.csproj");
        var (exit, stdout, stderr) = await RunProcessAsync(
            "dotnet", ["publish", project, "-c", "Release", "-r", "linux-arm64", "-o", output, "--nologo", "-v", "q"], TimeSpan.FromMinutes(20));
        Assert.True(exit == 0, $"dotnet publish of the linux-arm64 device build failed ({exit}):\n{stdout}\n{stderr}");
        var binary = Path.Combine(output, "flotel");
        Assert.True(File.Exists(binary), "no flotel binary in " + output);
        return binary;
    }
}
