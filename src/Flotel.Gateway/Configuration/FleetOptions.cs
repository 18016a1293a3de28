namespace Flotel.Gateway.Configuration;

/// <summary>
/// The fleet control plane (<c>fleet:</c>, docs/fleet.md §2): the devices' HTTPS listener, the CA that signs device
/// certificates, certificate lifetimes and when a device counts as offline. Each property is one key below
/// <c>fleet.</c> (<see cref="GatewayOptions.Fleet"/>); the rule that spans keys (<c>ca.certificate</c> with
/// <c>ca.key</c>) is checked after reading, by the loader.
/// </summary>
public sealed class FleetOptions
{
    [ConfigKey("enabled", "the fleet control plane (docs/fleet.md): the fleet listener for devices and the admin API on the HTTP listener. State in `DATA/fleet/` (`fleet.db`, and `ca.crt` + `ca.key` (mode 0600) when the CA is generated)")]
    public bool Enabled { get; set; }

    [ConfigKey("address", "the fleet listener (HTTPS, a client certificate asked for but not required by TLS; device routes check it). Port 0 picks a free port; the `listening` line gains ` fleet=HOST:PORT`. It serves only `/fleet/v1/…`; every other path answers 404 there, and the fleet routes answer 404 on the HTTP listener", Format = ConfigFormat.Address)]
    public string Address { get; set; } = "0.0.0.0:9443";

    [ConfigKey("serverNames", "extra DNS names or IP addresses in the fleet listener's certificate, issued by the fleet CA at every start; loopback addresses, `localhost` and the host name are always in it")]
    public List<string> ServerNames { get; } = [];

    /// <summary>Null = the CA in <c>DATA/fleet/</c>, generated at first start.</summary>
    [ConfigKey("ca.certificate", "PEM file of the CA that signs device certificates, with `fleet.ca.key` (both or neither); without them an ECDSA P-256 CA valid 10 years is generated at first start into `DATA/fleet/` and reused after", Format = ConfigFormat.ExistingFile, Unit = "PEM file", DefaultText = "generated")]
    public string? CaCertificateFile { get; set; }

    /// <summary>Set together with <see cref="CaCertificateFile"/>.</summary>
    [ConfigKey("ca.key", "PEM file of the CA's private key, with `fleet.ca.certificate`", Format = ConfigFormat.ExistingFile, Unit = "PEM file", DefaultText = "generated")]
    public string? CaKeyFile { get; set; }

    [ConfigKey("certificateDays", "device certificate lifetime; devices renew at 2/3 of it", Unit = "days", Min = 1, Max = 3650)]
    public int CertificateDays { get; set; } = 30;

    [ConfigKey("renewGraceDays", "how long after expiry `/fleet/v1/renew` still accepts the old certificate (logged)", Unit = "days", Min = 0, Max = 3650)]
    public int RenewGraceDays { get; set; } = 30;

    [ConfigKey("offlineAfterSeconds", "a device not heard from this long is `offline` in `flotel get devices` and not counted in `flotel_fleet_devices_online`", Unit = "seconds", Min = 10, Max = 7 * 24 * 3600)]
    public int OfflineAfterSeconds { get; set; } = 180;

    /// <summary>
    /// Each held poll keeps its device's HTTP/2 + TLS connection, ~80 KiB of gateway memory (docs/benchmarks.md, "Control
    /// plane: what a device costs"). The default holds every poll of a fleet up to <c>http.maxConnections</c>' 20,000
    /// devices: a device over the limit costs a full TLS handshake per call instead (~4 a minute, up to ~2.8 ms of gateway
    /// CPU each), which 8,000 devices over a limit of 2,000 would not fit in a 2-core gateway's CPU (docs/deploy.md,
    /// sizing). Lower it to bound the memory of a fleet larger than the gateway's memory allows, as its CPU allows.
    /// </summary>
    [ConfigKey("maxHeldPolls",
        "most bundle long polls held at once (docs/fleet.md §5); a poll over it is answered at once with `Retry-After` = " +
        "`fleet.pollIntervalSeconds` (jittered) and its connection is closed once idle, so such a device holds no connection between " +
        "polls. 0 = every device polls at the interval",
        Min = 0,
        Max = 1_000_000)]
    public int MaxHeldPolls { get; set; } = 20_000;

    [ConfigKey("pollIntervalSeconds",
        "how long a device over `fleet.maxHeldPolls` waits before it asks again (sent as `Retry-After`, ±10 % jitter): a change reaches " +
        "such a device within this",
        Unit = "seconds",
        Min = 5,
        Max = 300)]
    public int PollIntervalSeconds { get; set; } = 30;
}
