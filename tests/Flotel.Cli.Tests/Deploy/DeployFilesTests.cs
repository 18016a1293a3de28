using System.Diagnostics;

namespace Flotel.Cli.Tests.Deploy;

/// <summary>The deployment files, read (the image is built and run by Flotel.IntegrationTests' GatewayImageTests).</summary>
public sealed class DeployFilesTests
{
    [Fact]
    public async Task SystemdUnit_PassesSystemdAnalyzeVerify()
    {
        var unit = await File.ReadAllTextAsync(CheckCommandTests.RepoPath("deploy", "systemd", "flotel-agent.service"));
        var dir = Directory.CreateTempSubdirectory("flotel-unit-");
        try
        {
            // The binary is installed on the device, not here: verify the unit against an executable that exists.
            var copy = Path.Combine(dir.FullName, "flotel-agent.service");
            await File.WriteAllTextAsync(copy, unit.Replace("/usr/local/bin/flotel", "/bin/true", StringComparison.Ordinal));
            var analyze = File.Exists("/usr/bin/systemd-analyze") ? "/usr/bin/systemd-analyze" : "/bin/systemd-analyze";
            Assert.True(File.Exists(analyze), "systemd-analyze is needed to check the unit (Debian package systemd)");
            var info = new ProcessStartInfo(analyze) { RedirectStandardError = true, RedirectStandardOutput = true };
            info.ArgumentList.Add("verify");
            info.ArgumentList.Add(copy);
            using var process = Process.Start(info)!;
            var messages = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0 && messages.Trim().Length == 0, "systemd-analyze verify: " + messages);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SystemdUnit_RunsTheContractsAgentCommand_AndReloadsWithSighup()
    {
        var unit = await File.ReadAllTextAsync(CheckCommandTests.RepoPath("deploy", "systemd", "flotel-agent.service"));
        Assert.Contains("ExecStart=/usr/local/bin/flotel agent", unit, StringComparison.Ordinal);
        Assert.Contains("--manifests /etc/flotel/manifests", unit, StringComparison.Ordinal);
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", unit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Containerfile_IsFromScratch_NonRoot_RunsNothingAtBuildTime_AndRunsTheGateway()
    {
        var lines = (await File.ReadAllLinesAsync(CheckCommandTests.RepoPath("deploy", "container", "Containerfile")))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        // No base image to pull: deploy/container/build.sh assembles the root filesystem from local files.
        Assert.Equal("FROM scratch", Assert.Single(lines, l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        var user = Assert.Single(lines, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"USER (0|root)\b", user);
        Assert.Contains("ENTRYPOINT [\"/app/flotel\"]", lines);
        Assert.Contains(lines, l => l.StartsWith("CMD ", StringComparison.Ordinal) && l.Contains("\"gateway\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("EXPOSE", StringComparison.Ordinal) && l.Contains("5140/udp", StringComparison.Ordinal) && l.Contains("9201/tcp", StringComparison.Ordinal));
        // A scratch image has no shell: a RUN step could not run, and nothing else may execute at build time.
        Assert.DoesNotContain(lines, l => l.StartsWith("RUN ", StringComparison.Ordinal));
    }
}
