namespace Flotel.Store.Fleet;

/// <summary>A device certificate the fleet CA issued: serial (lower-case hex), device, expiry, revoked or not.</summary>
public sealed record FleetCertificate(string Serial, string Device, DateTimeOffset NotAfter, bool Revoked);
