using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// Queue records → one item per sample (<see cref="SeriesSampleDecoder"/>), without what line protocol cannot carry:
/// NaN and ±Inf (a float field must be finite), Prometheus stale markers (a NaN whose meaning is "series ended"), and
/// series without <c>__name__</c> (no measurement). Each is counted as
/// <c>flotel_output_items_total{result="skipped",reason="non_finite|stale_marker|no_metric_name"}</c>, never sent.
/// Used by the driver's single loop only (not thread-safe).
/// </summary>
public sealed class InfluxDbSampleDecoder : IRecordDecoder<SeriesSample>
{
    private readonly SeriesSampleDecoder _samples = new();
    private readonly List<(SeriesSample Item, int Bytes)> _scratch = [];
    private readonly Counter _nonFinite;
    private readonly Counter _stale;
    private readonly Counter _noName;

    public InfluxDbSampleDecoder(string output, MetricsRegistry metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _nonFinite = Skipped(metrics, output, "non_finite");
        _stale = Skipped(metrics, output, "stale_marker");
        _noName = Skipped(metrics, output, "no_metric_name");
    }

    /// <summary>Samples skipped because they were NaN or infinite.</summary>
    public long NonFinite => _nonFinite.Value;

    /// <summary>Stale markers skipped.</summary>
    public long StaleMarkers => _stale.Value;

    /// <summary>Samples of series without a metric name skipped.</summary>
    public long NoMetricName => _noName.Value;

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(SeriesSample Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        _scratch.Clear();
        var ok = _samples.TryDecode(record, _scratch);
        foreach (var (item, bytes) in _scratch)
        {
            if (item.Sample.IsStaleMarker)
            {
                _stale.Increment();
            }
            else if (!double.IsFinite(item.Sample.Value))
            {
                _nonFinite.Increment();
            }
            else if (string.IsNullOrEmpty(item.Labels.MetricName))
            {
                _noName.Increment();
            }
            else
            {
                into.Add((item, bytes + 32)); // " value=" + a double + " " + ms timestamp + "\n"
            }
        }

        _scratch.Clear();
        return ok;
    }

    private static Counter Skipped(MetricsRegistry metrics, string output, string reason) =>
        metrics.Counter("flotel_output_items_total", "Items an output settled, by result and reason.", ("output", output), ("result", "skipped"), ("reason", reason));
}
