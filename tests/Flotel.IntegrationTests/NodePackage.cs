using System.Diagnostics;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests;

/// <summary>
/// A small npm package of the suite (its package.json, package-lock.json and scripts) copied into a temp directory,
/// installed there with <c>npm ci</c> (exactly the lock file's versions, offline from the npm cache when it has them),
/// and its scripts run with node. Node.js and npm are needed (Debian packages nodejs, npm; test.sh installs them);
/// without them the test fails saying so.
/// </summary>
internal sealed class NodePackage : IDisposable
{
    private NodePackage(string directory) => WorkDirectory = directory;

    /// <summary>Where the package is installed.</summary>
    public string WorkDirectory { get; }

    /// <summary>Copies <paramref name="files"/> from <paramref name="sourceFolder"/> and installs the package.</summary>
    public static async Task<NodePackage> InstallAsync(string sourceFolder, string name, params string[] files)
    {
        var package = new NodePackage(PeerProcess.CreateTempDirectory(name));
        try
        {
            foreach (var file in files)
            {
                File.Copy(Path.Combine(sourceFolder, file), Path.Combine(package.WorkDirectory, file));
            }

            string[] install = ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];
            _ = await RunAsync("npm", install, package.WorkDirectory, TimeSpan.FromMinutes(5));
            return package;
        }
        catch
        {
            package.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>node SCRIPT ARGUMENTS…</c> in the package and returns the last line it printed (the scripts print one JSON line).</summary>
    public async Task<string> RunScriptAsync(string script, params string[] arguments)
    {
        var output = await RunAsync("node", [script, .. arguments], WorkDirectory, TimeSpan.FromMinutes(2));
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
    }

    public void Dispose() => GatewayTestKit.DeleteDirectory(WorkDirectory);

    private static async Task<string> RunAsync(string program, string[] arguments, string directory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"'{program}' could not be started ({e.Message}): this test needs Node.js and npm " +
                "(Debian packages nodejs, npm; test.sh installs them).");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"'{program} {string.Join(' ', arguments)}' did not finish within {timeout}.");
            }

            if (process.ExitCode != 0)
            {
                Assert.Fail($"'{program} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {await stderr}");
            }

            return await stdout;
        }
    }
}
