using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// A batch of one-sample series → the AWS JSON 1.0 body of one WriteRecords call, and the checks a record must pass
/// first. Mapping = the blog's adapter (docs/reference/timestream-and-remote-write.md §1.3): <c>__name__</c> → <c>MeasureName</c>, every other label →
/// a <c>Dimension</c> (label order = name order), <c>MeasureValueType</c> <c>DOUBLE</c>, <c>Time</c> in
/// <c>MILLISECONDS</c>; single-measure records, so the adapter's remote-read SQL keeps working.
/// <code>
/// {"DatabaseName":"flotta","TableName":"metrics",["CommonAttributes":{"Dimensions":[…]},]
///  "Records":[{"Dimensions":[{"Name":"edgedeviceid","Value":"dev1"}],"MeasureName":"node_load1",
///              "MeasureValue":"0.5","MeasureValueType":"DOUBLE","Time":"1652397545275","TimeUnit":"MILLISECONDS"}]}
/// </code>
/// Empty label values are left out (Prometheus: an empty value is an absent label; Timestream needs a value).
/// </summary>
public sealed class WriteRecordsEncoder
{
    // Relaxed escaping: the body is not HTML; the default encoder would write '+' of "1E+21" as \u002B.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TimestreamOptions _options;
    private readonly KeyValuePair<string, string>[] _common;
    private readonly int _commonBytes;

    public WriteRecordsEncoder(TimestreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _common = [.. options.CommonDimensions.OrderBy(d => d.Key, StringComparer.Ordinal)];
        foreach (var (name, value) in _common)
        {
            _commonBytes += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
        }
    }

    /// <summary>
    /// Why <paramref name="record"/> (one sample) cannot be written at <paramref name="now"/>, or null when it can.
    /// Stale markers and NaN/±Inf are dropped and counted (Timestream has no NaN; a stale marker is not a value); every
    /// other problem dead-letters the record with the limit it breaks, since the service would reject it (and a
    /// ValidationException would fail the whole call).
    /// </summary>
    public ItemFailure<TimeSeries>? Check(TimeSeries record, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        var sample = record.Samples[0];
        if (sample.IsStaleMarker)
        {
            return Drop(record, "stale_marker", "Prometheus stale marker (not a value)");
        }

        if (!double.IsFinite(sample.Value))
        {
            return Drop(record, "non_finite", "NaN or ±Inf value (Timestream DOUBLE has none)");
        }

        var name = record.Labels.MetricName;
        if (string.IsNullOrEmpty(name))
        {
            return Dead(record, "no_measure_name", "no __name__ label to use as MeasureName");
        }

        var nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes > TimestreamLimits.MaxMeasureNameBytes)
        {
            return Dead(record, "name_too_long", string.Create(CultureInfo.InvariantCulture, $"measure name is longer than {TimestreamLimits.MaxMeasureNameBytes} bytes"));
        }

        if (TimestreamLimits.IsReservedName(name))
        {
            return Dead(record, "reserved_name", $"measure name '{name}' is reserved by Timestream");
        }

        // Metered size: 8 bytes of time + 8 of DOUBLE + names and values (CommonAttributes are merged into each record).
        var size = 8 + 8 + nameBytes + _commonBytes;
        var dimensions = _common.Length;
        foreach (var label in record.Labels.AsSpan())
        {
            if (!IsDimension(label))
            {
                continue;
            }

            dimensions++;
            if (TimestreamOptions.DimensionNameProblem(label.Name) is { } problem)
            {
                return Dead(record, problem.StartsWith("is reserved", StringComparison.Ordinal) ? "reserved_name" : "name_too_long", $"dimension '{Shorten(label.Name)}' {problem}");
            }

            size += Encoding.UTF8.GetByteCount(label.Name) + Encoding.UTF8.GetByteCount(label.Value);
        }

        if (dimensions == 0)
        {
            // "At least one dimension is required for a record" (ValidationException, docs/reference/timestream-and-remote-write.md §2.5).
            return Dead(record, "no_dimension", "a record needs at least one dimension: the series has no label besides __name__");
        }

        if (dimensions > TimestreamLimits.MaxDimensions)
        {
            return Dead(record, "too_many_dimensions", string.Create(CultureInfo.InvariantCulture, $"{dimensions} dimensions; Timestream allows {TimestreamLimits.MaxDimensions}"));
        }

        if (size > TimestreamLimits.MaxRecordBytes)
        {
            return Dead(record, "record_too_large", string.Create(CultureInfo.InvariantCulture, $"record is {size} bytes; Timestream allows {TimestreamLimits.MaxRecordBytes}"));
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        if (sample.TimestampMs > nowMs + (long)TimestreamLimits.FutureWindow.TotalMilliseconds)
        {
            return Dead(record, "too_new", "timestamp is more than 15 minutes in the future");
        }

        if (!_options.MagneticStoreWrites && sample.TimestampMs < nowMs - ((long)_options.MemoryStoreRetentionHours * 3_600_000))
        {
            return Dead(record, "too_old", string.Create(CultureInfo.InvariantCulture, $"timestamp is older than the memory-store retention ({_options.MemoryStoreRetentionHours} h)"));
        }

        return null;
    }

    /// <summary>The WriteRecords body for <paramref name="records"/> (1–100 one-sample series that passed <see cref="Check"/>).</summary>
    public byte[] Encode(IReadOnlyList<TimeSeries> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count is 0 or > TimestreamLimits.MaxRecordsPerRequest)
        {
            throw new ArgumentOutOfRangeException(nameof(records), records.Count, "WriteRecords takes 1–100 records");
        }

        var buffer = new ArrayBufferWriter<byte>(256 + (records.Count * 192));
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("DatabaseName"u8, _options.Database);
            json.WriteString("TableName"u8, _options.Table);
            if (_common.Length > 0)
            {
                json.WriteStartObject("CommonAttributes"u8);
                json.WriteStartArray("Dimensions"u8);
                foreach (var (name, value) in _common)
                {
                    WriteDimension(json, name, value);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteStartArray("Records"u8);
            Span<char> number = stackalloc char[32];
            foreach (var record in records)
            {
                var sample = record.Samples[0];
                json.WriteStartObject();
                json.WriteStartArray("Dimensions"u8);
                foreach (var label in record.Labels.AsSpan())
                {
                    if (IsDimension(label))
                    {
                        WriteDimension(json, label.Name, label.Value);
                    }
                }

                json.WriteEndArray();
                json.WriteString("MeasureName"u8, record.Labels.MetricName);

                // Shortest round-trip form ("R"), invariant: 12345 → "12345", 0.1 → "0.1", 1e21 → "1E+21" (docs/reference/timestream-and-remote-write.md §6).
                sample.Value.TryFormat(number, out var written, "R", CultureInfo.InvariantCulture);
                json.WriteString("MeasureValue"u8, number[..written]);
                json.WriteString("MeasureValueType"u8, "DOUBLE"u8);
                sample.TimestampMs.TryFormat(number, out written, default, CultureInfo.InvariantCulture);
                json.WriteString("Time"u8, number[..written]);
                json.WriteString("TimeUnit"u8, "MILLISECONDS"u8);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private bool IsDimension(Label label) =>
        label.Value.Length > 0
        && !string.Equals(label.Name, Label.MetricNameLabel, StringComparison.Ordinal)
        && !_options.CommonDimensions.ContainsKey(label.Name);

    private static void WriteDimension(Utf8JsonWriter json, string name, string value)
    {
        json.WriteStartObject();
        json.WriteString("Name"u8, name);
        json.WriteString("Value"u8, value);
        json.WriteEndObject();
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";

    private static ItemFailure<TimeSeries> Drop(TimeSeries record, string code, string reason) =>
        new(record, code, reason, FailureAction.Drop);

    private static ItemFailure<TimeSeries> Dead(TimeSeries record, string code, string reason) =>
        new(record, code, reason, FailureAction.DeadLetter);
}
