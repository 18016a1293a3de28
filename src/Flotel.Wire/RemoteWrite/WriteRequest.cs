using Flotel.Model.Metrics;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// A decoded (or to-be-encoded) remote-write 1.0 <c>prometheus.WriteRequest</c>: float series and metadata.
/// Exemplars and native histograms are not modelled: the decoder skips them and counts them in
/// <see cref="ExemplarsSkipped"/> and <see cref="HistogramsSkipped"/>, so a receiver can report what it dropped.
/// </summary>
public sealed class WriteRequest
{
    /// <summary>Creates a request.</summary>
    public WriteRequest(IReadOnlyList<TimeSeries> series, IReadOnlyList<MetricMetadata>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        Series = series;
        Metadata = metadata ?? [];
    }

    /// <summary>The series (field 1).</summary>
    public IReadOnlyList<TimeSeries> Series { get; }

    /// <summary>The metadata (field 3); Prometheus sends metadata-only requests every minute.</summary>
    public IReadOnlyList<MetricMetadata> Metadata { get; }

    /// <summary>Exemplars (TimeSeries field 3) seen and not kept by the decoder.</summary>
    public int ExemplarsSkipped { get; init; }

    /// <summary>Native histograms (TimeSeries field 4) seen and not kept by the decoder.</summary>
    public int HistogramsSkipped { get; init; }

    /// <summary>Total float samples over all series.</summary>
    public int SampleCount
    {
        get
        {
            var n = 0;
            foreach (var s in Series)
            {
                n += s.Samples.Count;
            }

            return n;
        }
    }
}
