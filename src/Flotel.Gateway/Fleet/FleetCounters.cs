using System.Collections.Concurrent;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Fleet;

/// <summary>The fleet's counters (docs/operations.md): enrolments and bundle requests by result.</summary>
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
    }

    /// <summary><c>flotel_fleet_enrolments_total{result}</c>.</summary>
    public Counter Enrolment(string result) => _enrolments.GetOrAdd(result, r =>
        _metrics.Counter("flotel_fleet_enrolments_total", "Enrolment requests by result.", ("result", r)));

    /// <summary><c>flotel_fleet_bundle_requests_total{result}</c>.</summary>
    public Counter Bundle(string result) => _bundles.GetOrAdd(result, r =>
        _metrics.Counter("flotel_fleet_bundle_requests_total", "Bundle requests by result: changed (200), not_modified (304), unknown_device (404).", ("result", r)));
}
