using System.Diagnostics;
using System.Globalization;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// A small tmpfs mounted on a fresh directory: a real disk that fills up (ENOSPC) without touching the machine's own
/// disks. Unmounted and removed on Dispose. Mounting needs root (the tests run as root here and in CI);
/// <see cref="RootFactAttribute"/> skips a test that needs one when the process is not privileged.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="sizeMiB"/> on <paramref name="path"/> (created), or on a new temp directory.</summary>
    public static TmpfsMount Create(int sizeMiB, string? path = null)
    {
        if (path is null)
        {
            path = PeerProcess.CreateTempDirectory("tmpfs");
        }
        else
        {
            Directory.CreateDirectory(path);
        }

        var (code, output) = Run("mount", "-t", "tmpfs", "-o", string.Create(CultureInfo.InvariantCulture, $"size={sizeMiB}m"), "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs on {path} failed ({code}): {output}");
        }

        return new TmpfsMount(path);
    }

    /// <summary>Writes <paramref name="fileName"/> until the file system refuses (ENOSPC); returns the bytes written.</summary>
    public long Fill(string fileName)
    {
        long written = 0;
        var chunk = new byte[64 * 1024];
        using var filler = new FileStream(System.IO.Path.Combine(Path, fileName), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        // Large chunks first, then single pages, so that (almost) no free page is left.
        foreach (var size in new[] { chunk.Length, 4096, 512 })
        {
            while (true)
            {
                try
                {
                    filler.Write(chunk, 0, size);
                    written += size;
                }
                catch (IOException)
                {
                    break;
                }
            }
        }

        return written;
    }

    public void Dispose()
    {
        // Lazy unmount: a file the gateway still holds open does not keep the mount (and the test's directory) alive.
        _ = Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (int Code, string Output) Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit(30_000);
        return (process.ExitCode, output);
    }
}

/// <summary>A fact that needs root (to mount a tmpfs); skipped, saying so, when the test process is not privileged.</summary>
internal sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root to mount a tmpfs (a real full disk); the test process is not privileged";
        }
    }
}
