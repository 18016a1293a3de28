using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// The npm package of EsClients/ (the official Elasticsearch and OpenSearch clients for Node.js, pinned in its
/// package-lock.json) installed with <c>npm ci</c> into a temp directory, and its scripts run there with node. Both are
/// needed (Debian packages nodejs, npm; test.sh installs them); without them a test fails saying so.
/// </summary>
internal sealed class EsClientsPackage : IDisposable
{
    private static readonly string[] Files = ["package.json", "package-lock.json", "clients.mjs", "paging.mjs"];

    private EsClientsPackage(string directory) => WorkDirectory = directory;

    /// <summary>Where the package is installed.</summary>
    public string WorkDirectory { get; }

    /// <summary>Copies the package and installs exactly the lock file's versions (offline from the npm cache when it has them).</summary>
    public static async Task<EsClientsPackage> InstallAsync()
    {
        var package = new EsClientsPackage(PeerProcess.CreateTempDirectory("es-clients"));
        try
        {
            foreach (string file in Files)
            {
                File.Copy(Path.Combine(SourceFolder(), file), Path.Combine(package.WorkDirectory, file));
            }

            _ = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], package.WorkDirectory, TimeSpan.FromMinutes(5));
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
        string output = await RunAsync("node", [script, .. arguments], WorkDirectory, TimeSpan.FromMinutes(2));
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
    }

    public void Dispose() => GatewayTestKit.DeleteDirectory(WorkDirectory);

    private static async Task<string> RunAsync(string program, string[] arguments, string directory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
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
            Assert.Fail($"'{program}' could not be started ({e.Message}): the client tests need Node.js and npm (Debian packages nodejs, npm; test.sh installs them).");
            throw;
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
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

    private static string SourceFolder([CallerFilePath] string path = "") => Path.Combine(Path.GetDirectoryName(path)!, "EsClients");
}
