using System.Globalization;
using System.Text.Json;

namespace Flotel.Store.Logs;

/// <summary>The indexed columns read from a <c>_source</c> object given as JSON (bulk documents).</summary>
internal struct SourceFields
{
    public long? TimestampMs;
    public long? Severity;
    public long? Facility;
    public string? Program;
    public string? LogSource;
    public string? Host;
    public string? DeviceId;
    public string? Workload;
    public string? Message;

    /// <summary>Where <see cref="Message"/>'s string contents lie in the JSON (escapes kept, no quotes); -1 when it has none.</summary>
    public int MessageAt;

    /// <summary>The length in bytes of those contents.</summary>
    public int MessageLength;

    /// <summary>Reads the top-level fields and validates the whole document; false with a reason when it is not a JSON object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out SourceFields fields, out string? error)
    {
        fields = default;
        fields.MessageAt = -1;
        error = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "failed to parse, document is empty or not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                _ = reader.Read();
                switch (name)
                {
                    case "@timestamp":
                        fields.TimestampMs = ReadTimestamp(ref reader);
                        break;
                    case "severity":
                        fields.Severity = ReadLong(ref reader);
                        break;
                    case "facility":
                        fields.Facility = ReadLong(ref reader);
                        break;
                    case "program":
                        fields.Program = ReadString(ref reader);
                        break;
                    case "logsource":
                        fields.LogSource = ReadString(ref reader);
                        break;
                    case "host":
                        fields.Host = ReadString(ref reader);
                        break;
                    case "device_id":
                        fields.DeviceId = ReadString(ref reader);
                        break;
                    case "workload":
                        fields.Workload = ReadString(ref reader);
                        break;
                    case "message":
                        (fields.MessageAt, fields.MessageLength) = reader.TokenType == JsonTokenType.String
                            ? ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length)
                            : (-1, 0);
                        fields.Message = ReadString(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "failed to parse, trailing data after the document";
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            error = "failed to parse: " + e.Message;
            return false;
        }
        catch (InvalidOperationException e) when (e.Source?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true)
        {
            // GetString refuses escapes that are not valid UTF-16 (a lone "\ud800"): the document's fault, not a 500.
            error = "failed to parse: " + e.Message;
            return false;
        }
    }

    /// <summary>
    /// Where the contents of the message <see cref="TryRead"/> reads (the last top-level <c>message</c>, when it is a
    /// string) lie in <paramref name="json"/>; false when there is none or the JSON cannot be read.
    /// <paramref name="first"/> stops at the first top-level <c>message</c>: for documents known to hold one
    /// (<c>LogEventJson</c> writes it third), so the rest is not read.
    /// </summary>
    public static bool TryFindMessage(ReadOnlySpan<byte> json, out int at, out int length, bool first = false)
    {
        (at, length) = (-1, 0);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool message = reader.ValueTextEquals("message"u8);
                _ = reader.Read();
                if (message)
                {
                    (at, length) = reader.TokenType == JsonTokenType.String ? ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length) : (-1, 0);
                    if (first)
                    {
                        break;
                    }
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            (at, length) = (-1, 0);
        }

        return at >= 0;
    }

    /// <summary>Elasticsearch's default date format <c>strict_date_optional_time||epoch_millis</c>, in Unix milliseconds.</summary>
    public static bool TryParseDate(string text, out long unixMs)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out unixMs))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset value))
        {
            unixMs = value.ToUnixTimeMilliseconds();
            return true;
        }

        unixMs = 0;
        return false;
    }

    private static long? ReadTimestamp(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetInt64(out long ms) => ms,
        JsonTokenType.String when TryParseDate(reader.GetString()!, out long ms) => ms,
        _ => SkipNull(ref reader),
    };

    private static long? ReadLong(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetInt64(out long v) => v,
        JsonTokenType.String when long.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) => v,
        _ => SkipNull(ref reader),
    };

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    private static long? SkipNull(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }
}
