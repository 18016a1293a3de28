using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// Batch → <c>_bulk</c> body (Elasticsearch bulk API; NDJSON, every line ends with <c>\n</c>, the last one too):
/// <code>
/// {"index":{"_index":"logstash-2022.05.12"}}\n            ← action: index (create for _bulk documents sent with create)
/// {"@timestamp":"2022-05-12T20:22:01.000Z",…}\n           ← the _source as rendered for the embedded store
/// {"index":{"_index":"logstash-2022.05.12","_id":"…"}}\n  ← _id only when the document has one
/// </code>
/// Never a <c>_type</c> (removed in Elasticsearch 8, rejected by OpenSearch 2: docs/reference/syslog-and-elasticsearch.md §4.5).
/// </summary>
public static class BulkRequestEncoder
{
    /// <summary>Writes the NDJSON body of <paramref name="batch"/> to <paramref name="output"/>.</summary>
    public static void Encode(IReadOnlyList<LogDocument> batch, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        using var writer = new Utf8JsonWriter(output, LogEventJson.WriterOptions);
        foreach (var document in batch)
        {
            writer.Reset();
            writer.WriteStartObject();
            writer.WriteStartObject(document.CreateOnly ? "create"u8 : "index"u8);
            writer.WriteString("_index"u8, document.Index);
            if (document.Id is { } id)
            {
                writer.WriteString("_id"u8, id);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.Flush();
            output.Write("\n"u8);
            WriteSource(document.Source.Span, output);
            output.Write("\n"u8);
        }
    }

    /// <summary>The request body, gzip-compressed (fastest level, as Logstash's default level 1) when <paramref name="gzip"/>.</summary>
    public static byte[] Encode(IReadOnlyList<LogDocument> batch, bool gzip)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        Encode(batch, buffer);
        if (!gzip)
        {
            return buffer.WrittenSpan.ToArray();
        }

        using var compressed = new MemoryStream(buffer.WrittenCount / 4);
        using (var stream = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            stream.Write(buffer.WrittenSpan);
        }

        return compressed.ToArray();
    }

    /// <summary>A source line must not break the NDJSON framing: a raw LF can only be JSON whitespace, so it becomes a space.</summary>
    private static void WriteSource(ReadOnlySpan<byte> source, IBufferWriter<byte> output)
    {
        if (source.IndexOfAny((byte)'\n', (byte)'\r') < 0)
        {
            output.Write(source);
            return;
        }

        var span = output.GetSpan(source.Length);
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = source[i] is (byte)'\n' or (byte)'\r' ? (byte)' ' : source[i];
        }

        output.Advance(source.Length);
    }
}
