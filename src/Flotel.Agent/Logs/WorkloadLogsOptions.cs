using Flotel.Pipeline.Delivery;

namespace Flotel.Agent.Logs;

/// <summary>Tuning of the workload and log component. Defaults suit a device; tests shorten the waits.</summary>
public sealed class WorkloadLogsOptions
{
    /// <summary>The device's fleet identity, presented on syslog TLS connections (set from <see cref="Hosting.AgentOptions.Fleet"/>).</summary>
    public Flotel.Agent.Fleet.DeviceIdentity? Fleet { get; set; }

    /// <summary>
    /// How often pods and log readers are reconciled (start missing, restart dead, remove unplanned) while container
    /// changes are not watched (<see cref="ContainerWatch"/>: podman's event stream is not open, or a workload container
    /// has no process the agent can hold). Default 5 s.
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How the agent notices a workload container that died between passes. Default
    /// <see cref="Workloads.ContainerWatch.Processes"/> (no connection to podman held; falls back to
    /// <see cref="Workloads.ContainerWatch.Events"/> where pidfds are not available).
    /// </summary>
    public Workloads.ContainerWatch ContainerWatch { get; set; } = Workloads.ContainerWatch.Processes;

    /// <summary>
    /// How often pods and log readers are reconciled while every workload container's process is watched
    /// (<see cref="Workloads.ContainerWatch.Processes"/>): a safety net only, since each pass wakes podman's service.
    /// Default 10 min; never shorter than <see cref="ReconcileInterval"/>.
    /// </summary>
    public TimeSpan ProcessesReconcileInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often pods and log readers are reconciled while podman's event stream is open
    /// (<see cref="Workloads.ContainerWatch.Events"/>): a fallback for an event that was missed (or a podman whose
    /// <c>events_logger</c> is <c>none</c>: it accepts the stream and never sends). Default 30 s; never shorter than
    /// <see cref="ReconcileInterval"/>.
    /// </summary>
    public TimeSpan EventsReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Wait before a container's log stream is opened again after it ended (the container stopped) or failed.</summary>
    public TimeSpan LogReopenDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Read the log files of <c>k8s-file</c> containers (podman's default driver) directly instead of through podman's
    /// API stream, which costs podman several times the agent's own CPU per line. Default true; false reads every
    /// container through the API.
    /// </summary>
    public bool ReadLogFiles { get; set; } = true;

    /// <summary>
    /// How often a container's log file is checked for new lines once everything in it was read; what one check reads is
    /// one batch (one durable buffer write, one cursor save, one send), so this is also the file path's linger. Default
    /// 1 s: each batch costs a fixed amount whatever its size (an fsync, a cursor write, a send and the wake-ups between
    /// them), so the check rate sets the agent's floor at low write rates — 250 ms cost 4–5 µs of agent CPU per line at
    /// 1,000 lines/s (docs/benchmarks.md). A check is one <c>pread</c> while the file grows; the <c>fstat</c> and
    /// <c>/proc</c> look-up that find a rotation or truncation run only on a check that finds nothing new.
    /// </summary>
    public TimeSpan LogFilePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most lines appended to a target's buffer at once (one durable group commit, then one cursor save).</summary>
    public int MaxCaptureBatch { get; set; } = 1024;

    /// <summary>
    /// How long a reader of podman's API log stream lets lines gather before appending them (one batch per burst instead
    /// of one per podman frame): lines are appended at most this long after they were read, or at once when a batch is
    /// full or the stream has nothing more. Default 250 ms; 0 appends whatever each read returned. Nothing is lost by
    /// waiting: until the cursor moves, the container's own log holds the lines. (A followed file batches per
    /// <see cref="LogFilePollInterval"/> instead.)
    /// </summary>
    public TimeSpan CaptureLinger { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often the capture cursors and the forwarders' buffer cursors are fsync'd at most: each is written after every
    /// batch (in place, page cache) and fsync'd when its last fsync is at least this old, and when it stops. A killed
    /// agent resumes exactly; only an OS crash or power cut can bring a cursor back by up to this interval, and the lines
    /// it covered are captured or sent again (duplicates, never a gap: a cursor is written only after its lines are
    /// durable in the buffer, or acknowledged by the collector). Default 5 s (with a batch a second, 1 s made these
    /// fsyncs two of the agent's three a second); 0 fsyncs every save.
    /// </summary>
    public TimeSpan CursorSyncInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest line kept (longer ones are cut and counted): 64 KiB, also bounded by half the target's buffer.</summary>
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>Connect timeout to a syslog target.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Write timeout of one batch to a syslog target: a stalled collector cannot block the forwarder forever.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a removed or reconfigured target may take to deliver what it holds before it is closed (the rest stays on disk).</summary>
    public TimeSpan TargetDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Batching and retry of the forwarders (the shared driver's options). Retries wait 0.5 s doubling to 30 s, jittered.</summary>
    /// <remarks>Up to 2048 lines per send, so a capture batch is mostly one write and one cursor commit; reads from the
    /// buffer stay under 64 KiB: the queue reader reads into arrays below the large-object threshold (reused from read
    /// to read), and a read larger than that takes several of them.</remarks>
    public DeliveryOptions Delivery { get; set; } = new() { MaxBatchItems = 2048, MaxQueueRecords = 2048, MaxBatchBytes = 256 * 1024, MaxReadBytes = 64 * 1024 };

    /// <summary>fsync each buffer commit (false in tests on tmpfs-less machines is faster; the product keeps true).</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>Throws when a value cannot work; messages quote the option.</summary>
    public void Validate()
    {
        if (CaptureLinger < TimeSpan.Zero || CaptureLinger > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(CaptureLinger), CaptureLinger, "`CaptureLinger` must be between 0 and 10 s.");
        }

        if (CursorSyncInterval < TimeSpan.Zero || CursorSyncInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(CursorSyncInterval), CursorSyncInterval, "`CursorSyncInterval` must be between 0 and 60 s.");
        }

        if (LogFilePollInterval < TimeSpan.FromMilliseconds(1) || LogFilePollInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(LogFilePollInterval), LogFilePollInterval, "`LogFilePollInterval` must be between 1 ms and 10 s.");
        }

        if (ReconcileInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconcileInterval), ReconcileInterval, "`ReconcileInterval` must be greater than 0.");
        }

        if (ProcessesReconcileInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(ProcessesReconcileInterval), ProcessesReconcileInterval, "`ProcessesReconcileInterval` must be greater than 0.");
        }

        if (EventsReconcileInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(EventsReconcileInterval), EventsReconcileInterval, "`EventsReconcileInterval` must be greater than 0.");
        }

        if (MaxCaptureBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCaptureBatch), MaxCaptureBatch, "`MaxCaptureBatch` must be at least 1.");
        }

        Delivery.Validate();
    }
}
