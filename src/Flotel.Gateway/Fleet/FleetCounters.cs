using System.Collections.Concurrent;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The fleet's counters (docs/operations.md): enrolments and bundle requests by result, data that arrived with a device
/// certificate, and what revocation refused or closed (docs/fleet.md §6).
/// </summary>
internal sealed class FleetCounters
{
    private readonly MetricsRegistry _metrics;
    private readonly ConcurrentDictionary<string, Counter> _enrolments = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _bundles = new(StringComparer.Ordinal);

    public FleetCounters(MetricsRegistry metrics)
    {
        _metrics = metrics;
        foreach (var result in new[] { "accepted", "unknown_token", "expired_token", "used_token", "bad_csr" })
        {
            _ = Enrolment(result);
        }

        foreach (var result in new[] { "changed", "not_modified", "unknown_device" })
        {
            _ = Bundle(result);
        }

        IdentifiedLogs = Identified("logs");
        IdentifiedSamples = Identified("samples");
        RevokedFleetRequests = Revoked("fleet_request");
        RevokedSyslogHandshakes = Revoked("syslog_tls_handshake");
        DeferredPolls = metrics.Counter("flotel_fleet_longpolls_deferred_total",
            "Bundle long polls answered at once with Retry-After because fleet.maxHeldPolls were held (docs/fleet.md §5).");
        RevokedClosed = metrics.Counter("flotel_fleet_revoked_connections_closed_total",
            "Open syslog TLS connections closed because their device certificate was revoked.");
    }

    /// <summary><c>flotel_fleet_identity_overwrites_total{kind="logs"}</c>: log lines.</summary>
    public Counter IdentifiedLogs { get; }

    /// <summary><c>flotel_fleet_identity_overwrites_total{kind="samples"}</c>: samples.</summary>
    public Counter IdentifiedSamples { get; }

    /// <summary><c>flotel_fleet_revoked_refusals_total{where="fleet_request"}</c>.</summary>
    public Counter RevokedFleetRequests { get; }

    /// <summary><c>flotel_fleet_revoked_refusals_total{where="syslog_tls_handshake"}</c>.</summary>
    public Counter RevokedSyslogHandshakes { get; }

    /// <summary><c>flotel_fleet_longpolls_deferred_total</c>.</summary>
    public Counter DeferredPolls { get; }

    /// <summary><c>flotel_fleet_revoked_connections_closed_total</c>.</summary>
    public Counter RevokedClosed { get; }

    /// <summary><c>flotel_fleet_enrolments_total{result}</c>.</summary>
    public Counter Enrolment(string result) => _enrolments.GetOrAdd(result, r =>
        _metrics.Counter("flotel_fleet_enrolments_total", "Enrolment requests by result.", ("result", r)));

    private Counter Identified(string kind) => _metrics.Counter("flotel_fleet_identity_overwrites_total",
        "Log lines and samples that arrived with a device certificate; their device fields were set from its CN.", ("kind", kind));

    private Counter Revoked(string where) => _metrics.Counter("flotel_fleet_revoked_refusals_total",
        "Fleet requests and syslog TLS handshakes refused because the device certificate is revoked.", ("where", where));

    /// <summary><c>flotel_fleet_bundle_requests_total{result}</c>.</summary>
    public Counter Bundle(string result) => _bundles.GetOrAdd(result, r =>
        _metrics.Counter("flotel_fleet_bundle_requests_total", "Bundle requests by result: changed (200), not_modified (304), unknown_device (404).", ("result", r)));
}
