using System.Diagnostics;
using System.Globalization;
using Flotel.IntegrationTests.Deploy;

namespace Flotel.IntegrationTests.Up;

/// <summary>
/// A fresh Debian 12 root for <c>flotel up</c>'s install step: <c>debootstrap --variant=minbase bookworm</c> (the
/// required-priority packages and apt, no podman, no node_exporter, no OpenSSL library) made once into
/// <c>.test-peers/debian-bookworm-minbase/</c> and copied per test, so only a clean clone's first run pays for the
/// download (about a minute here). The packages apt downloads inside a copy are kept in
/// <c>.test-peers/debian-bookworm-apt-archives/</c>, bind-mounted on the copy's <c>/var/cache/apt/archives</c>, so a
/// rerun installs without downloading again (the cache holds the few packages <c>flotel up</c> installs, about 40 MiB).
/// Needs root (debootstrap, chroot, mount): CI runs the tests as root.
/// </summary>
internal sealed class DebianRoot : IAsyncDisposable
{
    /// <summary>Where apt inside the root downloads from: the mirror debootstrap used, reachable from the test machines.</summary>
    public const string Mirror = "http://deb.debian.org/debian";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private readonly List<string> _mounts = [];

    private DebianRoot(string path) => Path = path;

    /// <summary>The copy's directory (its <c>/</c>).</summary>
    public string Path { get; }

    /// <summary>How long making the cached minbase root took in this run (zero when it was cached).</summary>
    public static TimeSpan BootstrapTime { get; private set; }

    /// <summary>A fresh copy of the cached minbase root with /proc mounted and apt's archive cache bound.</summary>
    public static async Task<DebianRoot> CreateAsync()
    {
        Assert.True(Environment.IsPrivilegedProcess, "the clean-root test of flotel up needs root (debootstrap, chroot, mount); CI runs it as root");
        var pristine = await PristineAsync();
        var root = new DebianRoot(PeerProcess.CreateTempDirectory("debian-root"));
        try
        {
            await HostAsync("cp", "-a", pristine + "/.", root.Path + "/");

            // As in any chroot build (Debian's policy-rc.d interface): a package's install script must not start its
            // daemon inside the copy, where nothing would stop it (prometheus-node-exporter's would listen on :9100).
            var policy = System.IO.Path.Combine(root.Path, "usr", "sbin", "policy-rc.d");
            await File.WriteAllTextAsync(policy, "#!/bin/sh\nexit 101\n");
            await HostAsync("chmod", "0755", policy);

            await root.MountAsync(["-t", "proc", "proc"], "proc");
            var archives = System.IO.Path.Combine(TestPaths.RepoRoot(), ".test-peers", "debian-bookworm-apt-archives");
            Directory.CreateDirectory(System.IO.Path.Combine(archives, "partial"));
            await root.MountAsync(["--bind", archives], "var/cache/apt/archives");
            return root;
        }
        catch
        {
            await root.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="program"/> inside the root to its end, with a clean environment.</summary>
    public async Task<string> RunAsync(string program, params string[] args)
    {
        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync("chroot", [Path, .. CleanEnvironment(), program, .. args], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"chroot {Path} {program} {string.Join(' ', args)} exited {exit}:\n{stdout}\n{stderr}");
        return stdout;
    }

    /// <summary>The process start of <paramref name="program"/> inside the root, in /root, with a clean environment.</summary>
    public ProcessStartInfo StartInfo(string program, params string[] args)
    {
        var info = new ProcessStartInfo("chroot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // chroot, env and sh each exec the next: the PID the test holds is flotel's own.
        string[] all = [Path, .. CleanEnvironment(), "/bin/sh", "-c", "cd /root && exec \"$0\" \"$@\"", program, .. args];
        foreach (var arg in all)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    /// <summary>The PIDs of processes whose root directory is this root (started inside it).</summary>
    public IReadOnlyList<int> ProcessesInside()
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (new FileInfo(System.IO.Path.Combine(dir, "root")).LinkTarget == Path)
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Ended meanwhile.
            }
        }

        return found;
    }

    /// <summary>Stops what still runs inside (all of it started by this test), unmounts, deletes the copy.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var pid in ProcessesInside())
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(wait.Token);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or OperationCanceledException)
            {
                // Ended meanwhile.
            }
        }

        for (var i = _mounts.Count - 1; i >= 0; i--)
        {
            var (exit, _, _) = await Arm64DeviceBuild.RunProcessAsync("umount", [_mounts[i]], TimeSpan.FromMinutes(1));
            if (exit != 0)
            {
                await Arm64DeviceBuild.RunProcessAsync("umount", ["--lazy", _mounts[i]], TimeSpan.FromMinutes(1));
            }
        }

        // Deleted only when nothing is mounted below it any more: never through a bind mount into the cache.
        var mounts = await File.ReadAllTextAsync("/proc/self/mounts");
        if (!mounts.Contains(" " + Path + "/", StringComparison.Ordinal))
        {
            await Arm64DeviceBuild.RunProcessAsync("rm", ["-rf", "--one-file-system", Path], TimeSpan.FromMinutes(2));
        }
    }

    private static string[] CleanEnvironment() =>
        ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"];

    /// <summary>The cached minbase root, made with debootstrap on first use (in a .partial directory renamed when complete).</summary>
    private static async Task<string> PristineAsync()
    {
        await Gate.WaitAsync();
        try
        {
            var peers = System.IO.Path.Combine(TestPaths.RepoRoot(), ".test-peers");
            var root = System.IO.Path.Combine(peers, "debian-bookworm-minbase");
            if (File.Exists(System.IO.Path.Combine(root, "etc", "debian_version")))
            {
                return root;
            }

            Assert.True(File.Exists("/usr/sbin/debootstrap"), "debootstrap is missing: apt-get install debootstrap (test.sh does)");
            var partial = root + ".partial";
            await UnmountUnderAsync(partial);
            await HostAsync("rm", "-rf", "--one-file-system", partial, root);
            var clock = Stopwatch.StartNew();
            var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(
                "debootstrap", ["--variant=minbase", "bookworm", partial, Mirror], TimeSpan.FromMinutes(15));
            Assert.True(exit == 0, $"debootstrap --variant=minbase bookworm failed ({exit}):\n{stdout}\n{stderr}");
            await HostAsync("rm", "-rf", System.IO.Path.Combine(partial, "var", "cache", "apt", "archives"));
            Directory.CreateDirectory(System.IO.Path.Combine(partial, "var", "cache", "apt", "archives", "partial"));
            Directory.Move(partial, root);
            BootstrapTime = clock.Elapsed;
            return root;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Unmounts what a debootstrap stopped part-way left mounted under <paramref name="directory"/> (its /proc): without
    /// it the removal of the stale directory stops at the mount and every later run fails here. Deepest first.
    /// </summary>
    private static async Task UnmountUnderAsync(string directory)
    {
        var prefix = System.IO.Path.GetFullPath(directory) + "/";
        var mounted = File.ReadAllLines("/proc/self/mounts")
            .Select(line => line.Split(' ')[1].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(point => point.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(point => point.Length)
            .ToList();
        foreach (var point in mounted)
        {
            await HostAsync("umount", "--lazy", point);
        }
    }

    private async Task MountAsync(string[] source, string target)
    {
        var full = System.IO.Path.Combine(Path, target);
        await HostAsync("mount", [.. source, full]);
        _mounts.Add(full);
    }

    private static async Task HostAsync(string program, params string[] args)
    {
        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(program, args, TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, $"{program} {string.Join(' ', args)} exited {exit}:\n{stdout}\n{stderr}");
    }
}
