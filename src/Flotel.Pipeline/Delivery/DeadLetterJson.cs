using System.Globalization;
using System.Text.Json;
using Flotel.Model.Metrics;

namespace Flotel.Pipeline.Delivery;

/// <summary>The dead-letter form of metric items, shared by every metric output (docs/operations.md, "Dead letters").</summary>
public static class DeadLetterJson
{
    /// <summary>
    /// <c>{"labels":{"__name__":"up",…},"samples":[[1652397545275,1],…]}</c>. JSON has no NaN/±Inf: they are written
    /// as strings the way Prometheus's API spells them (<c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>), a stale marker as
    /// <c>StaleNaN</c>.
    /// </summary>
    public static void WriteSeries(Utf8JsonWriter json, TimeSeries series)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(series);
        json.WriteStartObject();
        json.WriteStartObject("labels"u8);
        foreach (var label in series.Labels.AsSpan())
        {
            json.WriteString(label.Name, label.Value);
        }

        json.WriteEndObject();
        json.WriteStartArray("samples"u8);
        foreach (var sample in series.Samples)
        {
            json.WriteStartArray();
            json.WriteNumberValue(sample.TimestampMs);
            WriteValue(json, sample);
            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>A sample value: a number, or one of the strings above.</summary>
    public static void WriteValue(Utf8JsonWriter json, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (double.IsFinite(sample.Value))
        {
            json.WriteNumberValue(sample.Value);
        }
        else
        {
            json.WriteStringValue(sample.IsStaleMarker ? "StaleNaN" : double.IsNaN(sample.Value) ? "NaN" : sample.Value > 0 ? "+Inf" : "-Inf");
        }
    }
}
