using System.Text.Json;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// One sample of one series: the remote-write output's item, so the driver's item cap is a sample cap
/// (<c>maxSamplesPerSend</c>, Prometheus's <c>max_samples_per_send</c>). Consecutive samples of the same series share
/// one <see cref="LabelSet"/> and are regrouped into one series by the encoder.
/// </summary>
/// <param name="Labels">The series' labels (sorted).</param>
/// <param name="Sample">The sample.</param>
public readonly record struct SeriesSample(LabelSet Labels, Sample Sample)
{
    /// <summary>
    /// Writes the sample as a dead-letter item: <c>{"labels":{…},"timestamp":ms,"value":v}</c>; non-finite values as
    /// strings (<c>"NaN"</c>, <c>"StaleNaN"</c>, <c>"Infinity"</c>), since JSON has no such numbers.
    /// </summary>
    public static void WriteJson(Utf8JsonWriter writer, SeriesSample item)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteStartObject("labels"u8);
        foreach (var label in item.Labels)
        {
            writer.WriteString(label.Name, label.Value);
        }

        writer.WriteEndObject();
        writer.WriteNumber("timestamp"u8, item.Sample.TimestampMs);
        writer.WritePropertyName("value"u8);
        Flotel.Pipeline.Delivery.DeadLetterJson.WriteValue(writer, item.Sample);

        writer.WriteEndObject();
    }
}
