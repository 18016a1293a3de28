namespace Flotel.Store.Fleet;

/// <summary>
/// One stored manifest document (docs/fleet.md §1): <paramref name="Kind"/> is lower-case (<c>edgedevice</c>,
/// <c>edgeworkload</c>, <c>configmap</c>, <c>secret</c>), <paramref name="Yaml"/> the document as the operator wrote it,
/// <paramref name="Source"/> where it came from (<c>FILE:LINE</c>).
/// </summary>
public sealed record FleetObject(string Kind, string Name, string Yaml, string Source, DateTimeOffset Updated)
{
    /// <summary><c>kind/name</c>, the object's id in the admin API.</summary>
    public string Key => Kind + "/" + Name;
}
