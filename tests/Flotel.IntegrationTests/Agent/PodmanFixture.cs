using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// A real podman 4 (architecture §7): a private <c>containers.conf</c> (runc, no default ulimits — crun fails on these
/// machines), the image <c>localhost/busybox:local</c> imported from a rootfs holding <c>/bin/busybox</c>, and the
/// libpod API served by <c>podman system service --time=0 unix://SOCK</c> on a temporary socket. Installs nothing
/// (test.sh installs podman, runc, catatonit, busybox-static). Disposing removes the pods the tests named, stops the
/// service by its PID and deletes the directory.
/// </summary>
public sealed class PodmanFixture : IAsyncDisposable
{
    public const string Image = "localhost/busybox:local";
    private static readonly string[] Applets = ["sh", "echo", "sleep", "date", "cat", "seq", "usleep"];
    private readonly Process _service;
    private readonly List<string> _pods = [];

    private PodmanFixture(string directory, Process service)
    {
        Directory = directory;
        _service = service;
    }

    public string Directory { get; }

    public string Socket => Path.Combine(Directory, "podman.sock");

    public string ContainersConf => Path.Combine(Directory, "containers.conf");

    /// <param name="containersSettings">More lines for the <c>[containers]</c> table of containers.conf (e.g. <c>log_size_max = 16384</c>).</param>
    public static async Task<PodmanFixture> StartAsync(string containersSettings = "")
    {
        foreach (var binary in new[] { "/usr/bin/podman", "/usr/sbin/runc", "/usr/bin/catatonit", "/bin/busybox" })
        {
            if (!File.Exists(binary))
            {
                throw new InvalidOperationException($"{binary} is missing: install the Debian packages podman runc catatonit busybox-static (test.sh does)");
            }
        }

        // The rootfs has no libc: a dynamically linked busybox (Debian's `busybox`) cannot run in it.
        if (Flotel.Cli.Up.ElfBinary.IsDynamicallyLinked("/bin/busybox"))
        {
            throw new InvalidOperationException("/bin/busybox is dynamically linked: install the Debian package busybox-static");
        }

        var dir = PeerProcess.CreateTempDirectory("podman");
        var conf = "[containers]\ndefault_ulimits = []\n" + containersSettings + "\n[engine]\nruntime = \"runc\"\n";
        await File.WriteAllTextAsync(Path.Combine(dir, "containers.conf"), conf);
        var rootfs = Path.Combine(dir, "rootfs", "bin");
        System.IO.Directory.CreateDirectory(rootfs);
        File.Copy("/bin/busybox", Path.Combine(rootfs, "busybox"));
        foreach (var applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, applet), "busybox");
        }

        await RunAsync(dir, "tar", "-C", Path.Combine(dir, "rootfs"), "-cf", Path.Combine(dir, "rootfs.tar"), ".");

        // The recipe's import plus PATH: an imported rootfs has no environment, and `sh` is found through PATH.
        await RunAsync(dir, "podman", "import", "--change", "ENV PATH=/bin", Path.Combine(dir, "rootfs.tar"), Image);
        var info = new ProcessStartInfo("podman") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("system");
        info.ArgumentList.Add("service");
        info.ArgumentList.Add("--time=0");
        info.ArgumentList.Add("unix://" + Path.Combine(dir, "podman.sock"));
        info.Environment["CONTAINERS_CONF"] = Path.Combine(dir, "containers.conf");
        var service = Process.Start(info)!;
        service.OutputDataReceived += (_, _) => { };
        service.ErrorDataReceived += (_, _) => { };
        service.BeginOutputReadLine();
        service.BeginErrorReadLine();
        var fixture = new PodmanFixture(dir, service);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException("podman system service exited with " + service.ExitCode);
            }

            if (File.Exists(fixture.Socket))
            {
                try
                {
                    using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(fixture.Socket));
                    break;
                }
                catch (SocketException)
                {
                }
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                await fixture.DisposeAsync();
                throw new TimeoutException("podman system service did not open its socket in 30 s");
            }

            await Task.Delay(100);
        }

        return fixture;
    }

    /// <summary>Remembers a pod name to remove at the end (the agent may leave it running, as it does on stop).</summary>
    public void Track(string pod) => _pods.Add(pod);

    /// <summary>Runs the podman CLI with this fixture's containers.conf; returns stdout.</summary>
    public Task<string> PodmanAsync(params string[] args) => RunAsync(Directory, "podman", args);

    public async ValueTask DisposeAsync()
    {
        foreach (var pod in _pods)
        {
            try
            {
                await PodmanAsync("pod", "rm", "-f", "--ignore", pod);
            }
            catch (InvalidOperationException)
            {
            }
        }

        try
        {
            if (!_service.HasExited)
            {
                _service.Kill(entireProcessTree: false);
                await _service.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _service.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string> RunAsync(string dir, string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["CONTAINERS_CONF"] = Path.Combine(dir, "containers.conf");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        }

        return await stdout;
    }
}
