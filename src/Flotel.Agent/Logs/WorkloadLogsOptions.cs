using Flotel.Pipeline.Delivery;

namespace Flotel.Agent.Logs;

/// <summary>Tuning of the workload and log component. Defaults suit a device; tests shorten the waits.</summary>
public sealed class WorkloadLogsOptions
{
    /// <summary>How often pods are checked (start missing, restart dead, remove unplanned) when nothing else triggers it.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait before a container's log stream is opened again after it ended (the container stopped) or failed.</summary>
    public TimeSpan LogReopenDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most lines appended to a target's buffer at once (one durable group commit, then one cursor save).</summary>
    public int MaxCaptureBatch { get; set; } = 512;

    /// <summary>Longest line kept (longer ones are cut and counted): 64 KiB, also bounded by half the target's buffer.</summary>
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>Connect timeout to a syslog target.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Write timeout of one batch to a syslog target: a stalled collector cannot block the forwarder forever.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a removed or reconfigured target may take to deliver what it holds before it is closed (the rest stays on disk).</summary>
    public TimeSpan TargetDrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Batching and retry of the forwarders (the shared driver's options). Retries wait 0.5 s doubling to 30 s, jittered.</summary>
    public DeliveryOptions Delivery { get; set; } = new() { MaxBatchItems = 500, MaxQueueRecords = 500, MaxBatchBytes = 256 * 1024 };

    /// <summary>fsync each buffer commit (false in tests on tmpfs-less machines is faster; the product keeps true).</summary>
    public bool Fsync { get; set; } = true;
}
