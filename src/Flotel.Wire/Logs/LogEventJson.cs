using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Flotel.Model.Logs;

namespace Flotel.Wire.Logs;

/// <summary>
/// Writes a <see cref="LogEvent"/> as the <c>_source</c> document of architecture §5: Logstash's legacy syslog field
/// names, <c>@timestamp</c> as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>, absent fields left out (never written as null).
/// </summary>
public static class LogEventJson
{
    /// <summary>
    /// Writer options for stored and returned documents: only what JSON requires is escaped (quotes, backslash,
    /// control characters), so <c>+</c> in a timestamp or <c>&lt;</c> and non-ASCII text in a message read as sent,
    /// as Logstash and Elasticsearch write them; the default encoder would turn them into <c>\u002B</c> and the like.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="logEvent"/> as one JSON object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(Utf8JsonWriter writer, LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(logEvent);
        writer.WriteStartObject();
        Span<byte> ts = stackalloc byte[LogTimestamp.Length];
        _ = LogTimestamp.TryFormatUtf8(logEvent.Timestamp, ts, out int tsLength);
        writer.WriteString("@timestamp"u8, ts[..tsLength]);
        writer.WriteString("@version"u8, LogEvent.Version);
        writer.WriteString("message"u8, logEvent.Message);
        WriteOptional(writer, "host"u8, logEvent.Host);
        WriteOptional(writer, "logsource"u8, logEvent.LogSource);
        WriteOptional(writer, "program"u8, logEvent.Program);
        WriteOptional(writer, "pid"u8, logEvent.Pid);
        WriteOptional(writer, "msgid"u8, logEvent.MsgId);
        writer.WriteNumber("priority"u8, logEvent.Priority);
        writer.WriteNumber("facility"u8, logEvent.Facility);
        writer.WriteNumber("severity"u8, logEvent.Severity);
        WriteOptional(writer, "facility_label"u8, logEvent.FacilityLabel);
        WriteOptional(writer, "severity_label"u8, logEvent.SeverityLabel);
        WriteOptional(writer, "timestamp"u8, logEvent.TimestampText);
        if (logEvent.StructuredData is { } sd)
        {
            writer.WriteStartObject("structured_data"u8);
            foreach (KeyValuePair<string, IReadOnlyDictionary<string, string>> element in sd)
            {
                writer.WriteStartObject(element.Key);
                foreach (KeyValuePair<string, string> param in element.Value)
                {
                    writer.WriteString(param.Key, param.Value);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        WriteOptional(writer, "device_id"u8, logEvent.DeviceId);
        WriteOptional(writer, "workload"u8, logEvent.Workload);
        WriteOptional(writer, "container_id"u8, logEvent.ContainerId);
        if (logEvent.Tags is { } tags)
        {
            writer.WriteStartArray("tags"u8);
            for (int i = 0; i < tags.Count; i++)
            {
                writer.WriteStringValue(tags[i]);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>The <c>_source</c> of <paramref name="logEvent"/> as UTF-8 JSON.</summary>
    public static byte[] ToUtf8(LogEvent logEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, logEvent);
        }

        return buffer.WrittenSpan.ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteOptional(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
