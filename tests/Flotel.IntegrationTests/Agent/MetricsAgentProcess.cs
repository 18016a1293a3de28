using System.Diagnostics;
using System.Text;
using Flotel.IntegrationTests.Gateway;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// <c>dotnet flotel.dll agent</c> as a real process: ready when it printed its <c>agent device=…</c> line; stopped by
/// its PID with SIGTERM (clean) or SIGKILL (crash). Keeps what it logged.
/// </summary>
internal sealed class MetricsAgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MetricsAgentProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="executable">A published <c>flotel</c> binary (e.g. the device build); null = <c>dotnet flotel.dll</c>.</param>
    /// <param name="podmanSocket">The podman API socket (--podman-socket); null = the agent's default.</param>
    /// <param name="emulator">Runs <paramref name="executable"/> under this command and its arguments (e.g. <c>qemu-aarch64-static -L SYSROOT</c>); null = directly.</param>
    public static async Task<MetricsAgentProcess> StartAsync(string manifests, string data, Uri nodeExporter, string? executable = null, string? podmanSocket = null, IReadOnlyList<string>? emulator = null)
    {
        var info = new ProcessStartInfo(emulator?[0] ?? executable ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = data,
        };
        string[] arguments = ["agent", "--manifests", manifests, "--data", data, "--node-exporter", nodeExporter.ToString(), .. podmanSocket is null ? Array.Empty<string>() : ["--podman-socket", podmanSocket]];
        string[] command = (executable, emulator) switch
        {
            (null, _) => [GatewayProcess.FlotelDll, .. arguments],
            (_, null) => arguments,
            _ => [.. emulator.Skip(1), executable, .. arguments],
        };
        foreach (var arg in command)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info };
        var agent = new MetricsAgentProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            agent.Append(e.Data);
            if (e.Data?.StartsWith("agent device=", StringComparison.Ordinal) == true)
            {
                agent._ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var first = await Task.WhenAny(agent._ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != agent._ready.Task)
        {
            var output = agent.Output;
            agent.Dispose();
            throw new InvalidOperationException("flotel agent did not start:\n" + output);
        }

        return agent;
    }

    /// <summary>Sends <paramref name="signal"/> to this PID only and waits for the exit.</summary>
    public async Task SignalAndWaitAsync(int signal, TimeSpan timeout)
    {
        Assert.Equal(0, NativeMethods.Kill(_process.Id, signal));
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, _output.Length - (64 * 1024));
            }
        }
    }
}
