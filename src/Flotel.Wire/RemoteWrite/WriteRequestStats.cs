namespace Flotel.Wire.RemoteWrite;

/// <summary>What a streaming decode saw: counts for metrics and for the 2xx reply's bookkeeping.</summary>
/// <param name="Series">Series visited.</param>
/// <param name="Samples">Float samples visited.</param>
/// <param name="Metadata">Metadata entries visited.</param>
/// <param name="ExemplarsSkipped">Exemplars skipped (not supported, counted).</param>
/// <param name="HistogramsSkipped">Native histograms skipped (not supported, counted).</param>
public readonly record struct WriteRequestStats(int Series, int Samples, int Metadata, int ExemplarsSkipped, int HistogramsSkipped);
