namespace Flotel.Gateway.Fleet;

/// <summary>What <see cref="FleetRenderer.Render"/> produced: a bundle per device name, and every workload's summary.</summary>
public sealed record FleetRendering(IReadOnlyDictionary<string, RenderedBundle> Devices, IReadOnlyList<WorkloadSummary> Workloads);
