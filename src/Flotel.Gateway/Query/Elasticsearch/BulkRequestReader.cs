using System.Text;
using System.Text.Json;
using Flotel.Gateway.Store.Logs;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>One item of a <c>_bulk</c> request: its action name and either a document to store or the failure found while reading it.</summary>
internal sealed record BulkEntry(string Action, LogDocument? Document, BulkItemResult? Failure);

/// <summary>
/// Reads a <c>_bulk</c> body: NDJSON pairs of an action line (<c>{"index":{"_index":…,"_id":…}}</c> or <c>create</c>;
/// <c>_type</c> and other metadata ignored) and a source line. A bad line fails its item only (400) and the others go
/// on; when the action line itself is unreadable, the next line is taken as its source unless it reads as an action.
/// <c>delete</c> (no source line) and <c>update</c> (one) are answered 400 per item: the store is append-mostly.
/// </summary>
internal static class BulkRequestReader
{
    /// <summary>Elasticsearch's limit on <c>_id</c>, in UTF-8 bytes.</summary>
    public const int MaxIdBytes = 512;

    public static List<BulkEntry> Read(ReadOnlyMemory<byte> body, string? defaultIndex)
    {
        List<ReadOnlyMemory<byte>> lines = SplitLines(body);
        var entries = new List<BulkEntry>();
        int i = 0;
        while (i < lines.Count)
        {
            ReadOnlyMemory<byte> actionLine = lines[i++];
            if (!TryReadAction(actionLine.Span, out string? action, out string? index, out string? id, out string? error))
            {
                entries.Add(new BulkEntry(action ?? "index", null, BulkItemResult.Failed(index ?? defaultIndex, id, 400, "illegal_argument_exception", error!)));
                if (i < lines.Count && !TryReadAction(lines[i].Span, out _, out _, out _, out _))
                {
                    i++;
                }

                continue;
            }

            if (action == "delete")
            {
                entries.Add(new BulkEntry(action, null, BulkItemResult.Failed(index ?? defaultIndex, id, 400, "illegal_argument_exception", "action [delete] is not supported by this gateway")));
                continue;
            }

            if (i >= lines.Count)
            {
                entries.Add(new BulkEntry(action!, null, BulkItemResult.Failed(index ?? defaultIndex, id, 400, "action_request_validation_exception", "Validation Failed: 1: source is missing;")));
                continue;
            }

            ReadOnlyMemory<byte> source = lines[i++];
            if (action == "update")
            {
                entries.Add(new BulkEntry(action, null, BulkItemResult.Failed(index ?? defaultIndex, id, 400, "illegal_argument_exception", "action [update] is not supported by this gateway")));
                continue;
            }

            index ??= defaultIndex;
            if (index is null)
            {
                entries.Add(new BulkEntry(action!, null, BulkItemResult.Failed(null, id, 400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")));
                continue;
            }

            if (IndexNames.Validate(index) is { } invalid)
            {
                entries.Add(new BulkEntry(action!, null, BulkItemResult.Failed(index, id, 400, "invalid_index_name_exception", invalid)));
                continue;
            }

            if (!SourceFields.TryRead(source.Span, out _, out string? sourceError))
            {
                entries.Add(new BulkEntry(action!, null, BulkItemResult.Failed(index, id, 400, "mapper_parsing_exception", sourceError!)));
                continue;
            }

            entries.Add(new BulkEntry(action!, new LogDocument(index, id, source, action == "create"), null));
        }

        return entries;
    }

    private static List<ReadOnlyMemory<byte>> SplitLines(ReadOnlyMemory<byte> body)
    {
        var lines = new List<ReadOnlyMemory<byte>>();
        ReadOnlySpan<byte> span = body.Span;
        int start = 0;
        while (start < span.Length)
        {
            int newline = span[start..].IndexOf((byte)'\n');
            int end = newline < 0 ? span.Length : start + newline;
            ReadOnlyMemory<byte> line = body[start..end];
            if (line.Span.EndsWith("\r"u8))
            {
                line = line[..^1];
            }

            if (!line.Span.Trim(" \t"u8).IsEmpty)
            {
                lines.Add(line);
            }

            start = end + 1;
        }

        return lines;
    }

    private static bool TryReadAction(ReadOnlySpan<byte> line, out string? action, out string? index, out string? id, out string? error)
    {
        action = index = id = error = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
            {
                error = "Malformed action/metadata line, expected START_OBJECT with one action";
                return false;
            }

            action = reader.GetString();
            if (action is not ("index" or "create" or "delete" or "update"))
            {
                error = $"Malformed action/metadata line, expected one of [create, delete, index, update] but found [{action}]";
                action = null;
                return false;
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"Malformed action/metadata line, expected START_OBJECT after [{action}]";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                _ = reader.Read();
                switch (name)
                {
                    case "_index" when reader.TokenType == JsonTokenType.String:
                        index = reader.GetString();
                        break;
                    case "_id" when reader.TokenType == JsonTokenType.String:
                        id = reader.GetString();
                        break;
                    case "_id" when reader.TokenType == JsonTokenType.Null:
                        break;
                    case "_index" or "_id":
                        error = $"Malformed action/metadata line, [{name}] must be a string";
                        return false;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || !reader.Read() || reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = "Malformed action/metadata line, expected END_OBJECT";
                return false;
            }

            if (id is not null && (id.Length == 0 || Encoding.UTF8.GetByteCount(id) > MaxIdBytes))
            {
                error = $"id [{id}] is too long or empty, must be 1 to {MaxIdBytes} bytes";
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            error = "Malformed action/metadata line: " + e.Message;
            return false;
        }
        catch (InvalidOperationException e) when (e.Source?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true)
        {
            // GetString refuses escapes that are not valid UTF-16 (a lone "\ud800"): the line's fault, not a 500.
            error = "Malformed action/metadata line: " + e.Message;
            return false;
        }
    }
}
