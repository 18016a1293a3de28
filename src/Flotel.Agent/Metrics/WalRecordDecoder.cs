using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;

namespace Flotel.Agent.Metrics;

/// <summary>
/// WAL records → scrapes for the delivery driver, each weighing its sample count, so the driver's byte cap is the
/// receiver's <c>requestNumSamples</c>. A record is passed on as stored unless it must change: a scrape with more
/// samples than one request may carry is split, and samples older than the retention
/// (<c>spec.metrics.retention.maxHours</c>) are not sent — they are counted in
/// <c>flotel_agent_metrics_expired_samples_total</c> (Flotta's TSDB let them age out silently, docs/reference/flotta-device-worker.md §4.7,
/// "data retention removed first is lost").
/// </summary>
internal sealed class WalRecordDecoder : IRecordDecoder<WalScrape>
{
    private readonly TimeProvider _time;
    private readonly Counter _expired;
    private readonly int _maxSamples;

    /// <param name="maxSamples">Samples one request may carry (<c>requestNumSamples</c>).</param>
    public WalRecordDecoder(TimeSpan maxAge, int maxSamples, TimeProvider time, MetricsRegistry registry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamples, 1);
        MaxAge = maxAge;
        _maxSamples = maxSamples;
        _time = time;
        _expired = registry.Counter("flotel_agent_metrics_expired_samples_total", "Samples older than the retention (maxHours) when their turn to be sent came; not sent.");
    }

    /// <summary>Samples older than this (from now) are dropped at read time.</summary>
    public TimeSpan MaxAge { get; }

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(WalScrape Item, int Bytes)> into)
    {
        if (!MetricsWal.TryRead(record.Payload, out var scrape))
        {
            return false;
        }

        if (scrape.Samples == 0)
        {
            return true;
        }

        var oldest = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)MaxAge.TotalMilliseconds;
        if (scrape.LastMs < oldest)
        {
            _expired.Add(scrape.Samples);
            return true;
        }

        if (scrape.FirstMs >= oldest && scrape.Samples <= _maxSamples)
        {
            into.Add((scrape, scrape.Samples));
            return true;
        }

        IReadOnlyList<TimeSeries> series;
        try
        {
            series = scrape.DecodeSeries();
        }
        catch (Wire.RemoteWrite.RemoteWriteException)
        {
            return false;
        }

        Split(scrape.Source, series, oldest, into);
        return true;
    }

    /// <summary>The slow path: drops expired samples and cuts the rest into scrapes of at most <see cref="_maxSamples"/> samples.</summary>
    private void Split(string source, IReadOnlyList<TimeSeries> series, long oldest, List<(WalScrape Item, int Bytes)> into)
    {
        var part = new List<TimeSeries>();
        var partSamples = 0;
        foreach (var s in series)
        {
            var fresh = s.Samples.Where(x => x.TimestampMs >= oldest).ToArray();
            _expired.Add(s.Samples.Count - fresh.Length);
            for (var at = 0; at < fresh.Length;)
            {
                var take = Math.Min(fresh.Length - at, _maxSamples - partSamples);
                part.Add(take == fresh.Length ? new TimeSeries(s.Labels, fresh) : new TimeSeries(s.Labels, fresh[at..(at + take)]));
                partSamples += take;
                at += take;
                if (partSamples == _maxSamples)
                {
                    Flush();
                }
            }
        }

        Flush();

        void Flush()
        {
            if (part.Count > 0)
            {
                into.Add((WalScrape.FromSeries(source, part), partSamples));
                part = [];
                partSamples = 0;
            }
        }
    }
}
