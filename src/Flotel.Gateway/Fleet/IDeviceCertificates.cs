using System.Security.Cryptography.X509Certificates;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// What an ingest listener outside the fleet listener (syslog over TLS) asks of the fleet about a client certificate
/// (docs/fleet.md §6): whose it is, whether it is still good, and when a device's certificates are revoked.
/// </summary>
public interface IDeviceCertificates
{
    /// <summary>Raised after a device's certificates were revoked (its EdgeDevice deleted), with the device name.</summary>
    event Action<string>? DeviceRevoked;

    /// <summary>
    /// The device <paramref name="certificate"/> names when it is a current device certificate of the fleet CA. Null
    /// with <paramref name="refusal"/> null when it is not a device certificate of this fleet (the listener's own
    /// rules decide); null with a refusal when it is one but revoked or expired. Counts as contact (last seen).
    /// </summary>
    DeviceIdentity? CheckClientCertificate(X509Certificate2 certificate, out string? refusal);

    /// <summary>True once the certificate of <paramref name="identity"/> is revoked.</summary>
    bool IsRevoked(DeviceIdentity identity);

    /// <summary>Counts data that arrived with a device certificate: <c>flotel_fleet_identity_overwrites_total{kind}</c>.</summary>
    void CountIdentified(IdentifiedKind kind, long count);

    /// <summary>Counts open connections closed because their device's certificate was revoked.</summary>
    void CountRevokedClosed(long count);
}

/// <summary>The <c>kind</c> label of <c>flotel_fleet_identity_overwrites_total</c>.</summary>
public enum IdentifiedKind
{
    /// <summary>Log lines (syslog frames).</summary>
    Logs,

    /// <summary>Samples (remote write).</summary>
    Samples,
}
