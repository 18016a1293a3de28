using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Flotel.IntegrationTests.Agent;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// The release artifacts of one architecture as deploy/packaging/package.sh (run by release.sh) makes them, from the
/// linux-arm64 device build published by the tests: the .deb read with dpkg-deb and installed into a scratch root with
/// dpkg (then upgraded, running the old package's postrm: data and edited configuration survive), the .rpm read with rpm and installed into a scratch
/// root with rpm (then upgraded), the tarballs' contents and SHA256SUMS.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class ReleasePackageTests
{
    private const string Version = "0.0.0-dev";      // the version the test build reports (Directory.Build.props)
    private const string PackageVersion = "0.0.0~dev"; // pre-release suffix as the package formats sort it
    private const string Upgrade = "0.0.1";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _dist;
    private static string? _upgradeDist;

    [Fact]
    public async Task Deb_InfoAndContents_DescribeTheAgentPackage()
    {
        var deb = Path.Combine(await DistAsync(), $"flotel-agent_{PackageVersion}_arm64.deb");

        var info = await RunAsync("dpkg-deb", "--info", deb);
        Assert.Contains("Package: flotel-agent", info, StringComparison.Ordinal);
        Assert.Contains($"Version: {PackageVersion}", info, StringComparison.Ordinal);
        Assert.Contains("Architecture: arm64", info, StringComparison.Ordinal);
        foreach (var script in new[] { "postinst", "prerm", "postrm", "conffiles" })
        {
            Assert.Contains(" " + script, info, StringComparison.Ordinal);
        }

        var contents = await RunAsync("dpkg-deb", "--contents", deb);
        Assert.Contains("-rwxr-xr-x root/root", Line(contents, "./usr/bin/flotel"), StringComparison.Ordinal);
        Assert.Contains("-rw------- root/root", Line(contents, "./etc/flotel/agent.env"), StringComparison.Ordinal); // may hold a token
        foreach (var path in new[] { "./usr/lib/systemd/system/flotel-agent.service", "./usr/lib/systemd/system/podman.socket.d/flotel.conf", "./etc/flotel/agent.env", "./etc/flotel/manifests/", "./var/lib/flotel/", "./usr/share/doc/flotel-agent/examples/blog/device.yaml" })
        {
            Line(contents, path);
        }

        Assert.Equal("/etc/flotel/agent.env", (await ControlFileAsync(deb, "conffiles")).Trim());
    }

    [Fact]
    public async Task Deb_MaintainerScripts_CreateTheUserOwnDataAndPurgeOnlyOnPurge()
    {
        var deb = Path.Combine(await DistAsync(), $"flotel-agent_{PackageVersion}_arm64.deb");
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
        {
            var text = await ControlFileAsync(deb, script);
            Assert.StartsWith("#!/bin/sh", text, StringComparison.Ordinal);
            var dir = PeerProcess.CreateTempDirectory("deb-script");
            await File.WriteAllTextAsync(Path.Combine(dir, script), text);
            await RunAsync("sh", "-n", Path.Combine(dir, script)); // parses
            MetricsTestKit.DeleteDirectory(dir);
        }

        var postinst = await ControlFileAsync(deb, "postinst");
        Assert.Contains("adduser --system --group --home /var/lib/flotel", postinst, StringComparison.Ordinal);
        Assert.Contains("chown flotel:flotel /var/lib/flotel", postinst, StringComparison.Ordinal);
        var postrm = await ControlFileAsync(deb, "postrm");
        var purge = postrm.IndexOf("\"$1\" = purge", StringComparison.Ordinal);
        var rm = postrm.IndexOf("rm -rf /var/lib/flotel", StringComparison.Ordinal);
        Assert.True(purge >= 0 && rm > purge && postrm.IndexOf("fi", purge, StringComparison.Ordinal) > rm, "postrm deletes the data outside the purge branch:\n" + postrm);
    }

    [Fact]
    public async Task Deb_InstalledIntoAScratchRoot_RunsAndAnUpgradeKeepsDataAndEditedConfig()
    {
        var dist = await DistAsync();
        var root = PeerProcess.CreateTempDirectory("deb-root");
        try
        {
            foreach (var dir in new[] { "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers" })
            {
                Directory.CreateDirectory(Path.Combine(root, dir));
            }

            await File.WriteAllTextAsync(Path.Combine(root, "var/lib/dpkg/status"), "");
            // dpkg runs the maintainer scripts chrooted into the root (the upgrade runs the old postrm): a static
            // busybox is their /bin/sh. Unpacked, not configured: postinst would add a user to the root's passwd.
            Directory.CreateDirectory(Path.Combine(root, "bin"));
            File.Copy("/bin/busybox", Path.Combine(root, "bin/sh"));
            await DpkgUnpackAsync(root, Path.Combine(dist, $"flotel-agent_{PackageVersion}_arm64.deb"));
            Assert.Contains("Version: " + PackageVersion, await RunAsync("dpkg", "--root=" + root, "-s", "flotel-agent"), StringComparison.Ordinal);

            var installed = Path.Combine(root, "usr/bin/flotel");
            var (exit, version, stderr) = await Arm64DeviceBuild.RunAsync(installed, "--version");
            Assert.True(exit == 0, "the packaged flotel --version failed: " + stderr);
            Assert.StartsWith(Version + "+", version.Trim(), StringComparison.Ordinal);

            var data = Path.Combine(root, "var/lib/flotel/metrics-wal");
            await File.WriteAllTextAsync(data, "kept");
            var config = Path.Combine(root, "etc/flotel/agent.env");
            await File.AppendAllTextAsync(config, "FLOTEL_NODE_EXPORTER=http://127.0.0.1:9101/metrics\n");

            await DpkgUnpackAsync(root, Path.Combine(await UpgradeDistAsync(), $"flotel-agent_{Upgrade}_arm64.deb"));
            Assert.Contains("Version: " + Upgrade, await RunAsync("dpkg", "--root=" + root, "-s", "flotel-agent"), StringComparison.Ordinal);
            Assert.Equal("kept", await File.ReadAllTextAsync(data));
            Assert.EndsWith("FLOTEL_NODE_EXPORTER=http://127.0.0.1:9101/metrics\n", await File.ReadAllTextAsync(config), StringComparison.Ordinal);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(root);
        }
    }

    [Fact]
    public async Task Rpm_QueryAndScratchRootUpgrade_KeepDataAndEditedConfig()
    {
        var rpm = Path.Combine(await DistAsync(), $"flotel-agent-{PackageVersion}-1.aarch64.rpm");

        var info = await RunAsync("rpm", "-qip", rpm);
        Assert.Matches(@"Name\s*:\s*flotel-agent", info);
        Assert.Matches($@"Version\s*:\s*{PackageVersion}\n", info);
        Assert.Matches(@"Architecture\s*:\s*aarch64", info);

        var files = (await RunAsync("rpm", "-qlp", rpm)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in new[] { "/usr/bin/flotel", "/usr/lib/systemd/system/flotel-agent.service", "/etc/flotel/agent.env", "/etc/flotel/manifests", "/var/lib/flotel" })
        {
            Assert.Contains(path, files);
        }

        Assert.Equal("/etc/flotel/agent.env", (await RunAsync("rpm", "-qpc", rpm)).Trim());
        var flags = await RunAsync("rpm", "-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILEUSERNAME} %{FILEMODES:perms} %{FILENAMES}\n]", rpm);
        Assert.Contains("cn root -rw------- /etc/flotel/agent.env", flags, StringComparison.Ordinal); // %config(noreplace), may hold a token
        Assert.Contains(" flotel drwxr-x--- /var/lib/flotel", flags, StringComparison.Ordinal);
        Assert.Contains("useradd --system", await RunAsync("rpm", "-qp", "--scripts", rpm), StringComparison.Ordinal);

        var root = PeerProcess.CreateTempDirectory("rpm-root");
        try
        {
            await RunAsync("rpm", "--root", root, "--initdb");
            await RunAsync("rpm", "--root", root, "-i", "--nodeps", "--noscripts", "--ignorearch", rpm);
            var data = Path.Combine(root, "var/lib/flotel/metrics-wal");
            await File.WriteAllTextAsync(data, "kept");
            var config = Path.Combine(root, "etc/flotel/agent.env");
            await File.AppendAllTextAsync(config, "FLOTEL_NODE_EXPORTER=http://127.0.0.1:9101/metrics\n");

            await RunAsync("rpm", "--root", root, "-U", "--nodeps", "--noscripts", "--ignorearch", Path.Combine(await UpgradeDistAsync(), $"flotel-agent-{Upgrade}-1.aarch64.rpm"));
            Assert.Equal($"flotel-agent-{Upgrade}-1.aarch64", (await RunAsync("rpm", "--root", root, "-q", "flotel-agent")).Trim());
            Assert.Equal("kept", await File.ReadAllTextAsync(data));
            Assert.EndsWith("FLOTEL_NODE_EXPORTER=http://127.0.0.1:9101/metrics\n", await File.ReadAllTextAsync(config), StringComparison.Ordinal);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(root);
        }
    }

    [Fact]
    public async Task Packages_RequireTheCLibraryTheBinaryLinksAndOnlyRecommendPodmanAndNodeExporter()
    {
        var dist = await DistAsync();
        // The newest GLIBC_x.y symbol version the packaged binary needs (readelf reads any architecture's ELF).
        var symbols = await RunAsync("readelf", "--version-info", "--wide", await Arm64DeviceBuild.BinaryAsync());
        var glibc = System.Text.RegularExpressions.Regex.Matches(symbols, @"Name: GLIBC_([0-9.]+)")
            .Select(m => System.Version.Parse(m.Groups[1].Value)).Max();
        Assert.NotNull(glibc);

        var deb = Path.Combine(dist, $"flotel-agent_{PackageVersion}_arm64.deb");
        Assert.Equal($"adduser, libc6 (>= {glibc})", (await RunAsync("dpkg-deb", "-f", deb, "Depends")).Trim());
        Assert.Equal("podman, catatonit, prometheus-node-exporter", (await RunAsync("dpkg-deb", "-f", deb, "Recommends")).Trim());

        var rpm = Path.Combine(dist, $"flotel-agent-{PackageVersion}-1.aarch64.rpm");
        var requires = (await RunAsync("rpm", "-qpR", rpm)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains($"glibc >= {glibc}", requires);
        Assert.Contains("shadow-utils", requires);
        Assert.DoesNotContain(requires, r => r.Contains("podman", StringComparison.Ordinal) || r.Contains("exporter", StringComparison.Ordinal));
        var recommends = (await RunAsync("rpm", "-qp", "--recommends", rpm))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["catatonit", "golang-github-prometheus-node-exporter", "podman"], recommends.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deb_SystemdUnitsAsPackaged_PassSystemdAnalyzeVerify()
    {
        var deb = Path.Combine(await DistAsync(), $"flotel-agent_{PackageVersion}_arm64.deb");
        var root = PeerProcess.CreateTempDirectory("unit-root");
        try
        {
            // The package's files, plus what a system has and verify resolves inside --root: the targets the units
            // name (After=, WantedBy=), /bin/kill (ExecReload=) and podman's own socket and service, which the
            // package's podman.socket.d/flotel.conf extends. No systemd needs to run (none runs here).
            await RunAsync("dpkg-deb", "-x", deb, root);
            var units = Path.Combine(root, "usr/lib/systemd/system");
            foreach (var target in Directory.GetFiles("/usr/lib/systemd/system", "*.target"))
            {
                File.Copy(target, Path.Combine(units, Path.GetFileName(target)), overwrite: false);
            }

            foreach (var path in new[] { "/bin/kill", "/usr/lib/systemd/system/podman.socket", "/usr/lib/systemd/system/podman.service", "/usr/bin/podman" })
            {
                Assert.True(File.Exists(path), path + " is missing (Debian packages procps, podman; test.sh installs them)");
                Directory.CreateDirectory(Path.GetDirectoryName(root + path)!);
                File.Copy(path, root + path);
            }

            var analyze = File.Exists("/usr/bin/systemd-analyze") ? "/usr/bin/systemd-analyze" : "/bin/systemd-analyze";
            Assert.True(File.Exists(analyze), "systemd-analyze is needed to check the units (Debian package systemd)");
            string[] verify = ["verify", "--root=" + root, "/usr/lib/systemd/system/flotel-agent.service", "/usr/lib/systemd/system/podman.socket"];
            var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(analyze, verify, TimeSpan.FromMinutes(2));
            Assert.True(exit == 0 && (stdout + stderr).Trim().Length == 0, $"systemd-analyze verify ({exit}):\n{stdout}{stderr}");

            // The same check reports a broken drop-in: it reads the package's podman.socket.d/ and does not pass everything.
            await File.AppendAllTextAsync(Path.Combine(units, "podman.socket.d/flotel.conf"), "SocketMode=rw\n");
            (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(
                analyze, ["verify", "--root=" + root, "/usr/lib/systemd/system/podman.socket"], TimeSpan.FromMinutes(2));
            Assert.Contains("flotel.conf", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(root);
        }
    }

    [Fact]
    public async Task Tarballs_HoldTheBuildsAndSha256SumsMatchEveryArtifact()
    {
        var dist = await DistAsync();
        var binary = await Arm64DeviceBuild.BinaryAsync();

        var agent = ReadTarGz(Path.Combine(dist, $"flotel-agent-{Version}-linux-arm64.tar.gz"));
        var prefix = $"flotel-agent-{Version}-linux-arm64/";
        Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(binary)), SHA256.HashData(agent[prefix + "flotel"]));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot(), "deploy/systemd/flotel-agent.service")), System.Text.Encoding.UTF8.GetString(agent[prefix + "flotel-agent.service"]));
        Assert.Contains(prefix + "examples/blog/device.yaml", agent.Keys);

        var cli = ReadTarGz(Path.Combine(dist, $"flotel-{Version}-linux-arm64.tar.gz"));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "flotel.dll")), cli[$"flotel-{Version}-linux-arm64/flotel.dll"]);

        var sums = (await File.ReadAllLinesAsync(Path.Combine(dist, "SHA256SUMS")))
            .Select(line => line.Split("  ", 2))
            .ToDictionary(parts => parts[1], parts => parts[0]);
        var artifacts = Directory.GetFiles(dist).Select(Path.GetFileName).Where(name => name != "SHA256SUMS").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(4, artifacts.Length);
        Assert.Equal(artifacts, sums.Keys.Order(StringComparer.Ordinal).ToArray());
        foreach (var name in artifacts)
        {
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(dist, name!)))), sums[name!]);
        }
    }

    [Fact]
    public async Task PackageScript_BadArguments_FailWithAClearMessage()
    {
        var script = Path.Combine(TestPaths.RepoRoot(), "deploy/packaging/package.sh");
        var binary = await Arm64DeviceBuild.BinaryAsync();
        var output = PeerProcess.CreateTempDirectory("package-bad");
        try
        {
            var (exit, _, stderr) = await Arm64DeviceBuild.RunProcessAsync(script, ["1.0", "arm64", binary, output, output], TimeSpan.FromMinutes(1));
            Assert.Equal(1, exit);
            Assert.Contains("version '1.0' is not MAJOR.MINOR.PATCH", stderr, StringComparison.Ordinal);
            (exit, _, stderr) = await Arm64DeviceBuild.RunProcessAsync(script, ["1.0.0", "riscv64", binary, output, output], TimeSpan.FromMinutes(1));
            Assert.Equal(1, exit);
            Assert.Contains("architecture 'riscv64' is not x64 or arm64", stderr, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(output));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(output);
        }
    }

    private static async Task<string> DistAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _dist ??= await PackageAsync(Version, "dist");
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> UpgradeDistAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _upgradeDist ??= await PackageAsync(Upgrade, "dist-upgrade");
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>package.sh VERSION arm64 with the tests' arm64 device build and a CLI directory holding this build's flotel.dll.</summary>
    private static async Task<string> PackageAsync(string version, string name)
    {
        var binary = await Arm64DeviceBuild.BinaryAsync();
        var work = Path.Combine(AppContext.BaseDirectory, "release-package-test");
        var dist = Path.Combine(work, name);
        var cli = Path.Combine(work, "cli");
        MetricsTestKit.DeleteDirectory(dist);
        Directory.CreateDirectory(cli);
        foreach (var file in new[] { "flotel.dll", "flotel.runtimeconfig.json", "flotel.deps.json" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, file), Path.Combine(cli, file), overwrite: true);
        }

        var script = Path.Combine(TestPaths.RepoRoot(), "deploy/packaging/package.sh");
        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(script, [version, "arm64", binary, cli, dist], TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, $"package.sh failed ({exit}):\n{stdout}\n{stderr}");
        Assert.Contains("package.sh: SHA256SUMS", stdout, StringComparison.Ordinal);
        return dist;
    }

    private static async Task DpkgUnpackAsync(string root, string deb) =>
        await RunAsync("dpkg", "--root=" + root, "--force-architecture", "--force-depends", "--force-confold", "--force-confdef", "--unpack", deb);

    private static async Task<string> ControlFileAsync(string deb, string name)
    {
        var dir = PeerProcess.CreateTempDirectory("deb-control");
        try
        {
            await RunAsync("dpkg-deb", "--control", deb, dir);
            return await File.ReadAllTextAsync(Path.Combine(dir, name));
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(dir);
        }
    }

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var (exit, stdout, stderr) = await Arm64DeviceBuild.RunProcessAsync(program, args, TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"{program} {string.Join(' ', args)} exited {exit}:\n{stdout}\n{stderr}");
        return stdout;
    }

    private static string Line(string listing, string path) =>
        listing.Split('\n').SingleOrDefault(line => line.EndsWith(" " + path, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"{path} is not in the package:\n{listing}");

    private static Dictionary<string, byte[]> ReadTarGz(string path)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is { } data)
            {
                using var copy = new MemoryStream();
                data.CopyTo(copy);
                entries[entry.Name] = copy.ToArray();
            }
        }

        return entries;
    }
}
