namespace Flotel.Store.Fleet;

/// <summary>
/// An enrolment token as stored (docs/fleet.md §4): the id, the SHA-256 of the secret (never the secret), the device it
/// enrols, its expiry and when it was used (null = unused).
/// </summary>
public sealed record FleetToken(string Id, byte[] SecretSha256, string Device, DateTimeOffset Expires, DateTimeOffset? UsedAt);
