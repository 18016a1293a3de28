using System.Formats.Tar;

namespace Flotel.Cli.Up;

/// <summary>
/// What <c>flotel up</c> needs from podman (architecture §7's recipe): a private <c>containers.conf</c> (runtime runc,
/// no default ulimits — crun fails on these machines), the local image <c>localhost/busybox:local</c> built from the
/// host's static busybox when it is missing (no registry is reachable), and the libpod API service on a socket in the
/// data directory. Stopped by PID; the workloads' pods are removed on the way out so nothing is left running.
/// </summary>
internal sealed class PodmanService : IAsyncDisposable
{
    /// <summary>The image the blog's workload runs here (examples/blog/random-workload.yaml).</summary>
    public const string LocalImage = "localhost/busybox:local";

    private static readonly string[] Applets = ["sh", "echo", "sleep", "date", "cat", "seq", "printf", "true", "env", "ls"];
    private readonly string _podman;
    private readonly Dictionary<string, string> _environment;
    private readonly ChildProcess _service;

    private PodmanService(string podman, Dictionary<string, string> environment, ChildProcess service, string socket, string note)
    {
        _podman = podman;
        _environment = environment;
        _service = service;
        Socket = socket;
        Note = note;
    }

    /// <summary>The libpod API socket the agent uses.</summary>
    public string Socket { get; }

    /// <summary>What was prepared, for the user (e.g. "built localhost/busybox:local from /bin/busybox").</summary>
    public string Note { get; }

    /// <summary>How to get podman where it is missing.</summary>
    public const string InstallHint = "apt-get install podman runc catatonit busybox-static";

    /// <summary>Prepares and starts the service; throws <see cref="InvalidOperationException"/> with the reason when it cannot.</summary>
    public static async Task<PodmanService> StartAsync(string podman, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var conf = Path.Combine(directory, "containers.conf");
        await File.WriteAllTextAsync(conf, "[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n", cancellationToken).ConfigureAwait(false);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["CONTAINERS_CONF"] = conf };

        var note = $"image {LocalImage} present";
        var (exists, _) = await ChildProcess.RunAsync(podman, ["image", "exists", LocalImage], environment, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (exists != 0)
        {
            note = await BuildImageAsync(podman, directory, environment, cancellationToken).ConfigureAwait(false);
        }

        var socket = Path.Combine(directory, "podman.sock");
        File.Delete(socket);
        var service = ChildProcess.Start(podman, ["system", "service", "--time=0", "unix://" + socket], environment);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(socket))
        {
            if (!service.IsRunning || DateTime.UtcNow > deadline)
            {
                var tail = service.Tail;
                await service.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"podman system service did not start: {tail}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return new PodmanService(podman, environment, service, socket, note);
    }

    /// <summary>Removes the pods of <paramref name="podNames"/> (the workloads), then stops the service.</summary>
    public async Task StopAsync(IEnumerable<string> podNames)
    {
        foreach (var pod in podNames)
        {
            await ChildProcess.RunAsync(_podman, ["pod", "rm", "--force", "--time", "0", "--ignore", pod], _environment, TimeSpan.FromSeconds(60), CancellationToken.None).ConfigureAwait(false);
        }

        await _service.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _service.DisposeAsync().ConfigureAwait(false);

    private static async Task<string> BuildImageAsync(string podman, string directory, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var busybox = ExecutableLookup.Find("busybox")
            ?? throw new InvalidOperationException($"the image {LocalImage} is missing and no busybox was found to build it ({InstallHint})");
        if (ElfBinary.IsDynamicallyLinked(busybox))
        {
            throw new InvalidOperationException($"the image {LocalImage} is missing and {busybox} is dynamically linked, so it cannot run in an image without libc ({InstallHint})");
        }

        var rootfs = Path.Combine(directory, "rootfs");
        if (Directory.Exists(rootfs))
        {
            Directory.Delete(rootfs, recursive: true);
        }

        var bin = Directory.CreateDirectory(Path.Combine(rootfs, "bin")).FullName;
        File.Copy(busybox, Path.Combine(bin, "busybox"));
        foreach (var applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        var tar = Path.Combine(directory, "rootfs.tar");
        File.Delete(tar);
        await TarFile.CreateFromDirectoryAsync(rootfs, tar, includeBaseDirectory: false, cancellationToken).ConfigureAwait(false);
        var (code, output) = await ChildProcess.RunAsync(podman, ["import", "--change", "ENV PATH=/bin", tar, LocalImage], environment, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"podman import of {busybox} failed: {output}");
        }

        // A bare import has no PATH, so `sh` would not be found: the --change above sets it.
        return $"built {LocalImage} from {busybox} (no registry is reachable)";
    }
}
