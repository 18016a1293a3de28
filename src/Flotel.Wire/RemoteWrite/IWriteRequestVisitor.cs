namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Receives a WriteRequest as it is decoded, without per-sample allocation. Per series the calls are
/// <see cref="BeginSeries"/>, then <see cref="Sample"/> for each float sample in wire order, then
/// <see cref="EndSeries"/>. If decoding throws, earlier calls already happened: a visitor that must be
/// all-or-nothing (the gateway's queue) stages what it sees and commits only when decode returns.
/// </summary>
public interface IWriteRequestVisitor
{
    /// <summary>A series starts; its labels are validated, sorted and non-empty-valued.</summary>
    void BeginSeries(SeriesLabels labels);

    /// <summary>One float sample of the current series.</summary>
    void Sample(long timestampMs, double value);

    /// <summary>The current series ends.</summary>
    void EndSeries();

    /// <summary>One metadata entry (WriteRequest field 3). Strings are raw UTF-8 as sent.</summary>
    void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit);
}
