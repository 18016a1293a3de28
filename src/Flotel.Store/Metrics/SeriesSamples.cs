using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>One selected series and its samples inside the requested time range, oldest first.</summary>
/// <param name="Labels">The series' labels.</param>
/// <param name="Samples">Samples with minT ≤ t ≤ maxT, stale markers included.</param>
public sealed record SeriesSamples(LabelSet Labels, Sample[] Samples);
