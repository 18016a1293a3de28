using System.Runtime.InteropServices;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Workloads;

/// <summary>
/// Notices a workload container's end without asking podman: each running container's main process (libpod's
/// <c>Pid</c>) is held as a Linux pidfd, and one thread sleeps in <c>poll(2)</c> on all of them; a pidfd turns readable
/// when its process exits. The owner is then called back (after <see cref="SettleDelay"/>, the time podman takes to
/// record the exit), so a dead workload is started again at once while no connection to podman stays open — podman's
/// API service, socket-activated on a device, can exit while nothing changes.
/// </summary>
/// <remarks>
/// Linux 5.3 or later (<c>pidfd_open</c>); <see cref="IsSupported"/> says whether this process can use it. A process
/// that is already gone, or that this process cannot see (another PID namespace), is not watched and is counted in
/// <see cref="Unwatched"/>: the owner then polls at its short interval. Watched sets are small (a device's workload
/// containers); a set larger than <see cref="MaxProcesses"/> is cut there and the rest counted as unwatched.
/// </remarks>
public sealed partial class ContainerExitWatcher : IAsyncDisposable
{
    /// <summary>Most processes held at once.</summary>
    public const int MaxProcesses = 4096;

    /// <summary>Wait between a process's exit and the callback: podman marks the container exited (and cleans it up) after it.</summary>
    public static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(1);

    private const int SysPidfdOpen = 434; // the same number on every Linux architecture (added after the numbering was unified)
    private const short PollIn = 0x1;
    private const int EfdCloexec = 0x80000;
    private const int EfdNonblock = 0x800;

    private readonly Action _exited;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Counter _exits;
    private Dictionary<string, int> _wanted = new(StringComparer.Ordinal);
    private int _wake = -1;
    private int _unwatched;
    private int _watched;
    private bool _stopping;
    private Thread? _thread;

    /// <param name="exited">Called (on the watcher's thread, <see cref="SettleDelay"/> after an exit) when a watched process ended; must not block.</param>
    /// <param name="metrics">Where the watched-processes gauge and the exits counter are registered.</param>
    /// <param name="logger">Where a failure of the watch itself is logged.</param>
    public ContainerExitWatcher(Action exited, MetricsRegistry metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(exited);
        ArgumentNullException.ThrowIfNull(metrics);
        _exited = exited;
        _logger = logger;
        _exits = metrics.Counter("flotel_agent_container_exits_total", "Workload container processes the agent saw end (each starts a reconcile pass).");
        const string help = "Workload container processes whose end the agent notices without podman.";
        metrics.Gauge("flotel_agent_container_processes_watched", help, () => Volatile.Read(ref _watched));
    }

    /// <summary>True when this kernel lets the process hold pidfds (checked once on its own PID).</summary>
    public static bool IsSupported { get; } = Probe();

    /// <summary>Containers of the last <see cref="Watch"/> whose process could not be held (gone already, invisible, or no PID).</summary>
    public int Unwatched => Volatile.Read(ref _unwatched);

    /// <summary>Starts the watching thread.</summary>
    public void Start()
    {
        _wake = eventfd(0, EfdCloexec | EfdNonblock);
        if (_wake < 0)
        {
            throw new InvalidOperationException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "flotel container exits" };
        _thread.Start();
    }

    /// <summary>
    /// Replaces the watched set with <paramref name="processes"/> (container id → main PID; 0 or less: not running).
    /// Returns how many could not be watched.
    /// </summary>
    public int Watch(IReadOnlyDictionary<string, int> processes)
    {
        ArgumentNullException.ThrowIfNull(processes);
        lock (_gate)
        {
            _wanted = new Dictionary<string, int>(processes, StringComparer.Ordinal);
        }

        Signal();

        // The thread opens the pidfds; a process that is already gone is known at once here too.
        int unwatched = 0;
        int i = 0;
        foreach (var pid in processes.Values)
        {
            if (pid <= 0 || i++ >= MaxProcesses || !IsAlive(pid))
            {
                unwatched++;
            }
        }

        Volatile.Write(ref _unwatched, unwatched);
        return unwatched;
    }

    /// <summary>Stops the thread and closes every pidfd. Idempotent.</summary>
    public async Task StopAsync()
    {
        bool first;
        lock (_gate)
        {
            first = !_stopping;
            _stopping = true;
        }

        if (first)
        {
            Signal();
        }

        if (_thread is not null)
        {
            await _done.Task.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void Signal()
    {
        if (_wake >= 0)
        {
            Span<byte> one = stackalloc byte[8];
            one[0] = 1;
            _ = write(_wake, ref MemoryMarshal.GetReference(one), 8);
        }
    }

    private void Run()
    {
        // pid → pidfd; a container started again under a new PID is a new entry.
        var held = new Dictionary<int, int>();
        try
        {
            while (true)
            {
                Dictionary<string, int> wanted;
                lock (_gate)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    wanted = _wanted;
                }

                Sync(held, wanted);
                Volatile.Write(ref _watched, held.Count);
                if (!WaitForExit(held))
                {
                    continue;
                }

                _exits.Increment();
                lock (_gate)
                {
                    if (_stopping)
                    {
                        return;
                    }
                }

                Thread.Sleep(SettleDelay);
                lock (_gate)
                {
                    if (_stopping)
                    {
                        return;
                    }
                }

                _exited();
            }
        }
#pragma warning disable CA1031 // A thread of its own: anything escaping would end the process. Logged; the owner polls instead.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogWatchFailed(_logger, e.Message);
            Volatile.Write(ref _unwatched, int.MaxValue);
            _exited();
        }
        finally
        {
            foreach (var fd in held.Values)
            {
                _ = close(fd);
            }

            Volatile.Write(ref _watched, 0);
            if (_wake >= 0)
            {
                _ = close(_wake);
            }

            _done.TrySetResult();
        }
    }

    /// <summary>Opens a pidfd for each wanted PID not held yet and closes those no longer wanted.</summary>
    private static void Sync(Dictionary<int, int> held, Dictionary<string, int> wanted)
    {
        var pids = new HashSet<int>();
        foreach (var pid in wanted.Values)
        {
            if (pid > 0 && pids.Count < MaxProcesses)
            {
                pids.Add(pid);
            }
        }

        foreach (var (pid, fd) in held.ToList())
        {
            if (!pids.Contains(pid))
            {
                _ = close(fd);
                held.Remove(pid);
            }
        }

        foreach (var pid in pids)
        {
            if (!held.ContainsKey(pid))
            {
                int fd = (int)pidfd_open(SysPidfdOpen, pid, 0);
                if (fd >= 0)
                {
                    held[pid] = fd;
                }
            }
        }
    }

    /// <summary>
    /// Sleeps until a held process exits (true: its pidfd is closed and dropped) or the set changed or stop was asked (false).
    /// </summary>
    private unsafe bool WaitForExit(Dictionary<int, int> held)
    {
        var fds = new PollFd[held.Count + 1];
        var pids = new int[held.Count];
        fds[0] = new PollFd { Fd = _wake, Events = PollIn };
        int i = 1;
        foreach (var (pid, fd) in held)
        {
            pids[i - 1] = pid;
            fds[i++] = new PollFd { Fd = fd, Events = PollIn };
        }

        int ready;
        fixed (PollFd* p = fds)
        {
            do
            {
                ready = poll(p, (nuint)fds.Length, -1);
            }
            while (ready < 0 && Marshal.GetLastPInvokeError() == 4); // EINTR
        }

        if (ready < 0)
        {
            throw new InvalidOperationException($"poll failed (errno {Marshal.GetLastPInvokeError()})");
        }

        if ((fds[0].Revents & PollIn) != 0)
        {
            Span<byte> buffer = stackalloc byte[8];
            _ = read(_wake, ref MemoryMarshal.GetReference(buffer), 8);
        }

        bool exited = false;
        for (int k = 1; k < fds.Length; k++)
        {
            if (fds[k].Revents != 0)
            {
                _ = close(fds[k].Fd);
                held.Remove(pids[k - 1]);
                exited = true;
            }
        }

        return exited;
    }

    private static bool IsAlive(int pid)
    {
        int fd = (int)pidfd_open(SysPidfdOpen, pid, 0);
        if (fd < 0)
        {
            return false;
        }

        _ = close(fd);
        return true;
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return IsAlive(Environment.ProcessId);
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // syscall(2) is variadic; its integer arguments travel in the same registers as a fixed signature's on x86-64 and
    // on Linux arm64.
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long pidfd_open(long number, int pid, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching workload container processes failed ({Reason}); podman is polled instead")]
    private static partial void LogWatchFailed(ILogger logger, string reason);
}
