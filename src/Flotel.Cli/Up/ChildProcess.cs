using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Flotel.Cli.Up;

/// <summary>
/// A helper program <c>flotel up</c> starts (node_exporter, the podman API service): output kept in a bounded tail for
/// error messages, stopped by its own PID with SIGTERM, then SIGKILL after a grace period.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 20;

    /// <summary>The most output <see cref="CaptureAsync"/> keeps: 16 Mi characters.</summary>
    public const int MaxCapturedChars = 16 << 20;
    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private ChildProcess(Process process) => _process = process;

    /// <summary>The child's PID.</summary>
    public int Pid => _process.Id;

    /// <summary>True while the child runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>The last lines the child printed (stdout and stderr).</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>Starts <paramref name="file"/> with <paramref name="arguments"/>.</summary>
    public static ChildProcess Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a short command to completion (bounded by <paramref name="timeout"/>); returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var child = Start(file, arguments, environment);
        await using var scope = child.ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await child._process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (-1, $"{file} did not finish within {timeout.TotalSeconds:F0} s\n{child.Tail}");
        }

        child._process.WaitForExit(); // flush the output events
        return (child._process.ExitCode, child.Tail);
    }

    /// <summary>
    /// Runs a short listing command to completion and returns its whole standard output, or null when it fails, outlives
    /// <paramref name="timeout"/> or prints more than <see cref="MaxCapturedChars"/> (the package database of a large
    /// system is a few hundred KiB).
    /// </summary>
    public static async Task<string?> CaptureAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var output = new StringBuilder();
        var buffer = new char[8192];
        try
        {
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer, deadline.Token).ConfigureAwait(false)) > 0)
            {
                if (output.Length + read > MaxCapturedChars)
                {
                    process.Kill();
                    return null;
                }

                output.Append(buffer, 0, read);
            }

            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill();
            return null;
        }

        return process.ExitCode == 0 ? output.ToString() : null;
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>. Idempotent.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = NativeMethods.Kill(_process.Id, NativeMethods.SigTerm);
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}

/// <summary>
/// Sends a signal with kill(2). Not with the kill(1) program: a minimal Debian (debootstrap's minbase, the debian
/// container image) has no procps, and stopping node_exporter then failed with "No such file or directory".
/// </summary>
internal static partial class NativeMethods
{
    public const int SigTerm = 15;

    /// <summary>0 when the signal was sent, else -1 (the errno is in <see cref="Marshal.GetLastPInvokeError"/>).</summary>
    public static int Kill(int pid, int signal) => kill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
