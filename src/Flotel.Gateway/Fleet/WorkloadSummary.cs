namespace Flotel.Gateway.Fleet;

/// <summary>An EdgeWorkload, the devices that select it, and its errors on those devices.</summary>
public sealed record WorkloadSummary(string Name, IReadOnlyList<string> Devices, IReadOnlyList<string> Errors);
