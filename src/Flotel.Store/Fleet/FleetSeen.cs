namespace Flotel.Store.Fleet;

/// <summary>A batch entry of <see cref="FleetStore.SaveSeen"/>: the latest contact and status of one device.</summary>
public sealed record FleetSeen(string Device, DateTimeOffset LastSeen, string? StatusJson, string? InstanceId);
