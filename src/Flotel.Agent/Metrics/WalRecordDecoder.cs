using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;

namespace Flotel.Agent.Metrics;

/// <summary>
/// WAL records → series for the delivery driver. Each item's "bytes" is its sample count, so the driver's byte cap is
/// the receiver's <c>requestNumSamples</c>. Samples older than the retention (<c>spec.metrics.retention.maxHours</c>)
/// are not sent: they are counted in <c>flotel_agent_metrics_expired_samples_total</c> — Flotta's TSDB let
/// them age out silently (reference §4.7, "data retention removed first is lost").
/// </summary>
internal sealed class WalRecordDecoder : IRecordDecoder<TimeSeries>
{
    private readonly TimeProvider _time;
    private readonly Counter _expired;

    public WalRecordDecoder(TimeSpan maxAge, TimeProvider time, MetricsRegistry registry)
    {
        MaxAge = maxAge;
        _time = time;
        _expired = registry.Counter("flotel_agent_metrics_expired_samples_total", "Samples older than the retention (maxHours) when their turn to be sent came; not sent.");
    }

    /// <summary>Samples older than this (from now) are dropped at read time.</summary>
    public TimeSpan MaxAge { get; }

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(TimeSeries Item, int Bytes)> into)
    {
        if (!MetricsWal.TryDecode(record.Payload.Span, out var series))
        {
            return false;
        }

        var oldest = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)MaxAge.TotalMilliseconds;
        foreach (var s in series)
        {
            var kept = s;
            if (s.Samples.Count > 0 && s.Samples[0].TimestampMs < oldest)
            {
                var fresh = s.Samples.Where(x => x.TimestampMs >= oldest).ToArray();
                _expired.Add(s.Samples.Count - fresh.Length);
                if (fresh.Length == 0)
                {
                    continue;
                }

                kept = new TimeSeries(s.Labels, fresh);
            }

            into.Add((kept, kept.Samples.Count));
        }

        return true;
    }
}
