namespace Flotel.Store.Fleet;

/// <summary>
/// A device's persisted state: its rendered bundle (generation, digest, YAML), when it was last heard from, its latest
/// status report (JSON as the device sent it) and the agent instance id that sent it.
/// </summary>
public sealed record FleetDeviceRecord(
    string Name, long Generation, string Digest, string Bundle, DateTimeOffset? LastSeen, string? StatusJson, string? InstanceId);
