using Flotel.Model.Metrics;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// One sample of one series: the remote-write output's item, so the driver's item cap is a sample cap
/// (<c>maxSamplesPerSend</c>, Prometheus's <c>max_samples_per_send</c>). Consecutive samples of the same series share
/// one <see cref="LabelSet"/> and are regrouped into one series by the encoder.
/// </summary>
/// <param name="Labels">The series' labels (sorted).</param>
/// <param name="Sample">The sample.</param>
public readonly record struct SeriesSample(LabelSet Labels, Sample Sample);
