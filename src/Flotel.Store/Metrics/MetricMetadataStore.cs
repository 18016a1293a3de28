using Flotel.Wire.RemoteWrite;

namespace Flotel.Store.Metrics;

/// <summary>
/// The metric metadata (TYPE, HELP, UNIT per metric family) that remote-write senders sent in
/// <c>WriteRequest.metadata</c> (field 3), answered by the Prometheus API's <c>/api/v1/metadata</c>.
/// <para>
/// Kept in memory only, not persisted: Prometheus resends every family's metadata on its own
/// (<c>metadata_config.send_interval</c>, 1 minute by default), so after a restart the table is whole again within a
/// send interval of each sender, while samples are durable and must not wait for it. Like Prometheus's own answer
/// (the distinct metadata its targets expose), a family can have several distinct entries — two senders, or a HELP text
/// that changed — and at most <see cref="MaxEntriesPerMetric"/> are kept, the newest replacing the oldest.
/// </para>
/// Bounded (every sender can grow it): at most <see cref="MaxMetrics"/> families and <see cref="MaxTextChars"/>
/// characters of names, HELP and UNIT text in all; an entry past either bound is not kept and is counted in
/// <see cref="DroppedTotal"/>. Thread-safe.
/// </summary>
public sealed class MetricMetadataStore
{
    /// <summary>Most metric families held: a node_exporter sends about 300, a Prometheus server about 250.</summary>
    public const int MaxMetrics = 10_000;

    /// <summary>Most distinct entries kept per family (Prometheus keeps one per target; a family's entries agree in practice).</summary>
    public const int MaxEntriesPerMetric = 4;

    /// <summary>Most characters of names, HELP and UNIT text held in all (8 MiB of UTF-16; a typical family takes under 100).</summary>
    public const int MaxTextChars = 4 * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<MetricMetadataEntry>> _byMetric = new(StringComparer.Ordinal);
    private long _textChars;
    private long _droppedMetricsLimit;
    private long _droppedSizeLimit;

    /// <summary>Families held now.</summary>
    public int MetricCount
    {
        get
        {
            lock (_lock)
            {
                return _byMetric.Count;
            }
        }
    }

    /// <summary>Entries not kept because <see cref="MaxMetrics"/> families were already held.</summary>
    public long DroppedMetricsLimitTotal => Interlocked.Read(ref _droppedMetricsLimit);

    /// <summary>Entries not kept because they would have passed <see cref="MaxTextChars"/>.</summary>
    public long DroppedSizeLimitTotal => Interlocked.Read(ref _droppedSizeLimit);

    /// <summary>Entries not kept, for either reason.</summary>
    public long DroppedTotal => DroppedMetricsLimitTotal + DroppedSizeLimitTotal;

    /// <summary>
    /// Records one entry as a sender sent it. An entry equal to one held changes nothing; an empty family name is
    /// ignored (it names nothing a query could ask for).
    /// </summary>
    public void Record(MetricMetadataType type, string metricFamilyName, string help, string unit)
    {
        ArgumentNullException.ThrowIfNull(metricFamilyName);
        ArgumentNullException.ThrowIfNull(help);
        ArgumentNullException.ThrowIfNull(unit);
        if (metricFamilyName.Length == 0)
        {
            return;
        }

        var entry = new MetricMetadataEntry(TypeName(type), help, unit);
        lock (_lock)
        {
            var isNew = !_byMetric.TryGetValue(metricFamilyName, out var entries);
            if (!isNew && entries!.Contains(entry))
            {
                return;
            }

            if (isNew && _byMetric.Count >= MaxMetrics)
            {
                _droppedMetricsLimit++;
                return;
            }

            var chars = (long)help.Length + unit.Length + (isNew ? metricFamilyName.Length : 0);
            var freed = !isNew && entries!.Count >= MaxEntriesPerMetric ? entries[0].Help.Length + entries[0].Unit.Length : 0;
            if (_textChars + chars - freed > MaxTextChars)
            {
                _droppedSizeLimit++;
                return;
            }

            if (isNew)
            {
                entries = new List<MetricMetadataEntry>(1);
                _byMetric.Add(metricFamilyName, entries);
            }
            else if (entries!.Count >= MaxEntriesPerMetric)
            {
                entries.RemoveAt(0);
            }

            entries!.Add(entry);
            _textChars += chars - freed;
        }
    }

    /// <summary>
    /// The families and their entries, by family name, as Prometheus's <c>/api/v1/metadata</c> selects them: only
    /// <paramref name="metric"/> when it is not empty; at most <paramref name="limit"/> families when it is 0 or more
    /// (negative: all); at most <paramref name="limitPerMetric"/> entries per family when it is more than 0.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, MetricMetadataEntry[]>> Select(string? metric, int limit, int limitPerMetric)
    {
        var result = new List<KeyValuePair<string, MetricMetadataEntry[]>>();
        lock (_lock)
        {
            if (!string.IsNullOrEmpty(metric))
            {
                if (limit != 0 && _byMetric.TryGetValue(metric, out var one))
                {
                    result.Add(new(metric, Take(one, limitPerMetric)));
                }

                return result;
            }

            foreach (var (name, entries) in _byMetric)
            {
                result.Add(new(name, Take(entries, limitPerMetric)));
            }
        }

        // Sorted so that a limit always answers the same families (Prometheus's order is a Go map's: unspecified).
        result.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        if (limit >= 0 && result.Count > limit)
        {
            result.RemoveRange(limit, result.Count - limit);
        }

        return result;
    }

    private static MetricMetadataEntry[] Take(List<MetricMetadataEntry> entries, int limitPerMetric) =>
        limitPerMetric > 0 && entries.Count > limitPerMetric ? [.. entries.GetRange(entries.Count - limitPerMetric, limitPerMetric)] : [.. entries];

    /// <summary>
    /// The type as Prometheus's API writes it: the prompb enum name in lower case, as Prometheus's remote-write receiver
    /// turns it into a metadata type (<c>gaugehistogram</c>, <c>stateset</c>); a number no version of prompb defines is
    /// <c>unknown</c>.
    /// </summary>
    public static string TypeName(MetricMetadataType type) => type switch
    {
        MetricMetadataType.Counter => "counter",
        MetricMetadataType.Gauge => "gauge",
        MetricMetadataType.Histogram => "histogram",
        MetricMetadataType.GaugeHistogram => "gaugehistogram",
        MetricMetadataType.Summary => "summary",
        MetricMetadataType.Info => "info",
        MetricMetadataType.StateSet => "stateset",
        _ => "unknown",
    };
}
