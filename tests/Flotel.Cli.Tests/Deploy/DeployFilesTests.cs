using System.Diagnostics;

namespace Flotel.Cli.Tests.Deploy;

/// <summary>The deployment files, checked as far as this machine allows (no container engine runs here).</summary>
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
    public async Task Containerfile_IsMultiStage_NonRoot_AndRunsTheGateway()
    {
        var lines = (await File.ReadAllLinesAsync(CheckCommandTests.RepoPath("deploy", "container", "Containerfile")))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal(2, lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        var user = Assert.Single(lines, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"USER (0|root)\b", user);
        Assert.Contains(lines, l => l.Contains("\"gateway\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("EXPOSE", StringComparison.Ordinal) && l.Contains("5140/udp", StringComparison.Ordinal) && l.Contains("9201/tcp", StringComparison.Ordinal));
        // Every RUN line after the last FROM would write into the final image's root filesystem.
        var last = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines.Skip(last), l => l.StartsWith("RUN ", StringComparison.Ordinal));
    }
}
