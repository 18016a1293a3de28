using System.Diagnostics;
using System.Text;
using Flotel.IntegrationTests.Gateway;
using Xunit.Abstractions;

namespace Flotel.IntegrationTests.Up;

/// <summary>
/// <c>flotel up</c>'s install step on a fresh machine: the self-contained CLI copied into a fresh Debian 12 minbase
/// root (<see cref="DebianRoot"/>) and run there with chroot as root. <c>--no-install</c> names the exact apt-get
/// command and installs nothing; without it, up installs the missing packages with the root's own apt-get from
/// deb.debian.org, one progress line per step, lists them with the dependencies apt pulled in, and runs the scenario
/// with the node_exporter it installed. podman does not work in the chroot (up says so in a note and the
/// workloads do not start): this test is about the install step, the scenario itself is UpEndToEndTests'.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class UpCleanRootTests(ITestOutputHelper log)
{
    /// <summary>In install order, as <c>SystemPackages.Requirements</c> names them for apt-get.</summary>
    private static readonly string[] Packages = ["podman", "runc", "catatonit", "busybox-static", "prometheus-node-exporter", "openssl"];

    private static readonly string[] UpArguments = ["up", "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0"];

    [Fact]
    public async Task Up_InAFreshDebianRoot_NamesTheAptCommandWithNoInstall_ThenInstallsAndListsEverythingItInstalled()
    {
        var cli = await SelfContainedCli.DirectoryAsync();
        var clock = Stopwatch.StartNew();
        await using var root = await DebianRoot.CreateAsync();
        log.WriteLine($"minbase root: debootstrap {DebianRoot.BootstrapTime.TotalSeconds:F0} s (0 when cached), ready after {clock.Elapsed.TotalSeconds:F0} s");
        var opt = Path.Combine(root.Path, "opt", "flotel");
        Directory.CreateDirectory(opt);
        foreach (var file in Directory.GetFiles(cli).Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".xml", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(opt, Path.GetFileName(file)));
        }

        var before = await InstalledAsync(root);
        Assert.DoesNotContain(before, p => Packages.Contains(p));

        // --no-install: the refusal with the exact command, at once; then the gateway cannot start without OpenSSL.
        var refused = await RunUpAsync(root, ["--no-install"], TimeSpan.FromMinutes(2));
        Assert.Null(refused.Listening);
        Assert.Contains(
            "flotel up: missing podman runc catatonit busybox-static node_exporter OpenSSL; not installed (--no-install); to install: apt-get install "
                + string.Join(' ', Packages),
            refused.Output,
            StringComparison.Ordinal);
        Assert.Contains("cannot start the gateway: OpenSSL", refused.Output, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.DoesNotContain("installing", refused.Output, StringComparison.Ordinal);
        Assert.Equal(before, await InstalledAsync(root));

        // The install path: apt-get update, apt-get install, then the scenario runs and lists what was installed.
        clock.Restart();
        var installed = await RunUpAsync(root, [], TimeSpan.FromMinutes(12));
        log.WriteLine($"install run up to 'listening': {clock.Elapsed.TotalSeconds:F0} s\n{installed.Output}");
        Assert.True(installed.Listening is not null, "flotel up did not reach its listening line:\n" + installed.Output);
        var what = string.Join(' ', Packages);
        Assert.Contains($"flotel up: installing {what} (1/2: apt-get update -q)", installed.Output, StringComparison.Ordinal);
        Assert.Contains(
            $"flotel up: installing {what} (2/2: apt-get install -y -q --no-install-recommends {what})",
            installed.Output,
            StringComparison.Ordinal);

        var after = await InstalledAsync(root);
        foreach (var package in Packages)
        {
            Assert.Contains(package, after);
        }

        var dependencies = after.Except(before).Except(Packages).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("libssl3", dependencies); // what openssl stands for on Debian 12
        var list = $"installed with apt-get: {what}; with their dependencies: {string.Join(' ', dependencies)}";
        Assert.Contains("flotel up: " + list, installed.Output, StringComparison.Ordinal);
        Assert.Contains("  note:     " + list, installed.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("still missing", installed.Output, StringComparison.Ordinal);
        Assert.Contains("  note:     node_exporter: /usr/bin/prometheus-node-exporter on http://127.0.0.1:", installed.Output, StringComparison.Ordinal);
        Assert.Equal(0, installed.ExitCode);
        Assert.Contains("flotel up: stopped", installed.Output, StringComparison.Ordinal);
        Assert.Empty(root.ProcessesInside());

        // A second start finds everything: nothing to install, nothing said about it.
        var again = await RunUpAsync(root, [], TimeSpan.FromMinutes(2));
        Assert.True(again.Listening is not null, "the second flotel up did not reach its listening line:\n" + again.Output);
        Assert.DoesNotContain("installing", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("installed with", again.Output, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
    }

    /// <summary>The packages dpkg holds as installed in <paramref name="root"/>.</summary>
    private static async Task<HashSet<string>> InstalledAsync(DebianRoot root)
    {
        var listing = await root.RunAsync("dpkg-query", "-W", "-f", "${db:Status-Status} ${Package}\\n");
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("installed ", StringComparison.Ordinal))
            .Select(l => l["installed ".Length..])
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Runs <c>flotel up</c> inside the root until it prints its listening line (then stops it with SIGTERM, as a
    /// service manager does) or ends by itself; killed by PID when it outlives <paramref name="timeout"/>.
    /// </summary>
    private static async Task<(string? Listening, int ExitCode, string Output)> RunUpAsync(DebianRoot root, string[] extra, TimeSpan timeout)
    {
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = root.StartInfo("/opt/flotel/flotel", [.. UpArguments, .. extra]) };
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("listening ", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(timeout));
            string? line = null;
            if (first == listening.Task)
            {
                line = await listening.Task;
                Assert.Equal(0, NativeMethods.Kill(process.Id, 15));
            }

            using var stop = new CancellationTokenSource(first == listening.Task || process.HasExited ? TimeSpan.FromSeconds(60) : TimeSpan.Zero);
            try
            {
                await process.WaitForExitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                Assert.Fail($"flotel up did not end within {timeout} (or 60 s after SIGTERM):\n{Text(output)}");
            }

            process.WaitForExit(); // the last output events
            return (line, process.ExitCode, Text(output));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
