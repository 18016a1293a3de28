namespace Flotel.Model.Manifests;

/// <summary>What one device will do, resolved from its manifests the way Flotta's operator assembles the device configuration.</summary>
public sealed record DevicePlan
{
    /// <summary>The EdgeDevice name: syslog HOSTNAME and the <c>edgedeviceid</c> label.</summary>
    public required string DeviceName { get; init; }

    public required string Namespace { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Valid log targets, ordered by name.</summary>
    public IReadOnlyList<LogTargetPlan> LogTargets { get; init; } = [];

    /// <summary>Selected, valid workloads, ordered by name.</summary>
    public IReadOnlyList<WorkloadPlan> Workloads { get; init; } = [];

    /// <summary>Workloads in the manifests that this device does not run (for summaries), ordered by name.</summary>
    public IReadOnlyList<string> NotSelectedWorkloads { get; init; } = [];

    public MetricsReceiverPlan MetricsReceiver { get; init; } = new();

    public SystemMetricsPlan SystemMetrics { get; init; } = new();

    public RetentionPlan Retention { get; init; } = new();
}
