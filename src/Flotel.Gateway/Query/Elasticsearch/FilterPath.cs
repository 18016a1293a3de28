using System.Buffers;
using System.Text.Json;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// Elasticsearch's <c>filter_path</c> URL parameter: a comma list of dotted paths whose segments may hold <c>*</c>
/// (any characters within a name) or be <c>**</c> (any number of names); the answer keeps only matching members
/// (arrays are transparent; objects left empty are dropped). Kibana and OpenSearch Dashboards ask
/// <c>_nodes?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip</c> at start-up. Exclusions
/// (<c>-path</c>) are refused.
/// </summary>
internal sealed class FilterPath
{
    /// <summary>Paths in one parameter, at most (each is matched against every member of the answer).</summary>
    public const int MaxPaths = 50;

    /// <summary>Deepest answer nesting filtered; deeper members are kept or dropped with their ancestor.</summary>
    private const int MaxDepth = 64;

    private readonly string[][] _paths;

    private FilterPath(string[][] paths) => _paths = paths;

    /// <summary>Parses the parameter's value.</summary>
    public static FilterPath Parse(string value)
    {
        string[] parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length > MaxPaths)
        {
            throw ElasticsearchException.IllegalArgument($"[filter_path] holds more than {MaxPaths} paths");
        }

        if (parts.FirstOrDefault(p => p.StartsWith('-')) is { } exclusion)
        {
            throw ElasticsearchException.IllegalArgument($"[filter_path] exclusion [{exclusion}] is not supported by this gateway");
        }

        return new FilterPath([.. parts.Select(p => p.Split('.'))]);
    }

    /// <summary>The filtered copy of the JSON document <paramref name="json"/>.</summary>
    public ReadOnlyMemory<byte> Apply(ReadOnlyMemory<byte> json, bool indented)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = LogEventJson.WriterOptions.Encoder }))
        {
            List<(int Path, int At)> start = [.. Enumerable.Range(0, _paths.Length).Select(p => (p, 0))];
            if (!WriteFiltered(writer, null, document.RootElement, start, 0))
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
        }

        return buffer.WrittenMemory;
    }

    // Writes the parts of value that the states reach (with its name when given); false when nothing matched.
    private bool WriteFiltered(Utf8JsonWriter writer, string? name, JsonElement value, List<(int Path, int At)> states, int depth)
    {
        if (depth > MaxDepth)
        {
            return false;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                {
                    bool started = false;
                    foreach (JsonProperty property in value.EnumerateObject())
                    {
                        (bool whole, List<(int, int)> next) = Step(states, property.Name);
                        if (whole)
                        {
                            Start(writer, name, ref started);
                            property.WriteTo(writer);
                        }
                        else if (next.Count > 0 && property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                        {
                            var probe = new ArrayBufferWriter<byte>();
                            using (var inner = new Utf8JsonWriter(probe))
                            {
                                if (!WriteFiltered(inner, null, property.Value, next, depth + 1))
                                {
                                    continue;
                                }
                            }

                            Start(writer, name, ref started);
                            writer.WritePropertyName(property.Name);
                            writer.WriteRawValue(probe.WrittenSpan, skipInputValidation: true);
                        }
                    }

                    if (started)
                    {
                        writer.WriteEndObject();
                    }

                    return started;
                }

            case JsonValueKind.Array:
                {
                    bool started = false;
                    foreach (JsonElement item in value.EnumerateArray())
                    {
                        if (item.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
                        {
                            continue;
                        }

                        var probe = new ArrayBufferWriter<byte>();
                        using (var inner = new Utf8JsonWriter(probe))
                        {
                            if (!WriteFiltered(inner, null, item, states, depth + 1))
                            {
                                continue;
                            }
                        }

                        if (!started)
                        {
                            if (name is null)
                            {
                                writer.WriteStartArray();
                            }
                            else
                            {
                                writer.WriteStartArray(name);
                            }

                            started = true;
                        }

                        writer.WriteRawValue(probe.WrittenSpan, skipInputValidation: true);
                    }

                    if (started)
                    {
                        writer.WriteEndArray();
                    }

                    return started;
                }

            default:
                return false;
        }
    }

    private static void Start(Utf8JsonWriter writer, string? name, ref bool started)
    {
        if (started)
        {
            return;
        }

        if (name is null)
        {
            writer.WriteStartObject();
        }
        else
        {
            writer.WriteStartObject(name);
        }

        started = true;
    }

    // Advances every state over one member name: whether some path ends there, and the states inside the member.
    private (bool Whole, List<(int, int)> Next) Step(List<(int Path, int At)> states, string name)
    {
        bool whole = false;
        var next = new List<(int, int)>();
        foreach ((int path, int at) in states)
        {
            string[] segments = _paths[path];
            if (segments[at] == "**")
            {
                next.Add((path, at)); // ** takes this name too
                if (at + 1 == segments.Length)
                {
                    whole = true;
                }
                else if (SourceFilter.Glob(segments[at + 1], name))
                {
                    if (at + 2 == segments.Length)
                    {
                        whole = true;
                    }
                    else
                    {
                        next.Add((path, at + 2));
                    }
                }
            }
            else if (SourceFilter.Glob(segments[at], name))
            {
                if (at + 1 == segments.Length)
                {
                    whole = true;
                }
                else
                {
                    next.Add((path, at + 1));
                }
            }
        }

        return (whole, next);
    }
}
