namespace Flotel.Gateway.Configuration;

/// <summary>
/// The fleet control plane (<c>fleet:</c>, docs/fleet.md §2): the devices' HTTPS listener, the CA that signs device
/// certificates, certificate lifetimes and when a device counts as offline.
/// </summary>
public sealed class FleetOptions
{
    /// <summary>Serve the fleet listener and the admin API (<c>fleet.enabled</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>The fleet listener, <c>HOST:PORT</c> (<c>fleet.address</c>); port 0 = a free port.</summary>
    public string Address { get; set; } = "0.0.0.0:9443";

    /// <summary>Extra DNS names or IP addresses in the listener's certificate (<c>fleet.serverNames</c>); loopback, <c>localhost</c> and the host name are always in it.</summary>
    public List<string> ServerNames { get; } = [];

    /// <summary>The CA certificate PEM file (<c>fleet.ca.certificate</c>); null = the CA in <c>DATA/fleet/</c>, generated at first start.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>The CA key PEM file (<c>fleet.ca.key</c>); set together with <see cref="CaCertificateFile"/>.</summary>
    public string? CaKeyFile { get; set; }

    /// <summary>Device certificate lifetime, days (<c>fleet.certificateDays</c>); devices renew at 2/3 of it.</summary>
    public int CertificateDays { get; set; } = 30;

    /// <summary>How long after expiry a device may still renew with its old certificate, days (<c>fleet.renewGraceDays</c>).</summary>
    public int RenewGraceDays { get; set; } = 30;

    /// <summary>A device not heard from for this long is reported offline, seconds (<c>fleet.offlineAfterSeconds</c>).</summary>
    public int OfflineAfterSeconds { get; set; } = 180;
}
