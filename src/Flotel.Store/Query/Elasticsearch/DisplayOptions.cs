using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// The keys of a search body that change how hits are shown, not which: <c>fields</c> and <c>docvalue_fields</c>
/// (a <c>fields</c> object per hit, values as arrays, dates formatted), <c>stored_fields</c>, <c>version</c>,
/// <c>seq_no_primary_term</c>, <c>highlight</c> (<see cref="Highlighter"/>). <c>script_fields</c> and
/// <c>runtime_mappings</c> are refused unless empty: the gateway runs no scripts.
/// </summary>
public sealed class DisplayOptions
{
    /// <summary>Field patterns in <c>fields</c> plus <c>docvalue_fields</c>, at most (each is matched against every field of every hit).</summary>
    public const int MaxFieldPatterns = 100;

    /// <summary>Deepest object nesting read from a document for <c>fields</c> and highlighting.</summary>
    private const int MaxDepth = 20;

    private readonly List<(string Pattern, string? Format, bool DocValues)> _fields = [];

    /// <summary>Nothing asked for.</summary>
    public static DisplayOptions None { get; } = new();

    /// <summary>The <c>highlight</c> of the request, if any.</summary>
    public Highlighter? Highlight { get; private set; }

    /// <summary><c>version: true</c>: each hit carries <c>_version</c> (always 1: the store never updates a document).</summary>
    public bool Version { get; private set; }

    /// <summary>Whether <c>stored_fields</c> was given: then <c>_source</c> is returned only when asked for explicitly.</summary>
    public bool StoredFieldsGiven { get; private set; }

    /// <summary>Whether the request asked for a <c>fields</c> object in hits.</summary>
    public bool HasFields => _fields.Count > 0;

    /// <summary>Reads one display key of the search body; false when <paramref name="key"/> is not one.</summary>
    internal bool TryRead(string key, JsonElement value)
    {
        switch (key)
        {
            case "fields":
                ReadFields(value, key, docValues: false);
                return true;
            case "docvalue_fields":
                ReadFields(value, key, docValues: true);
                return true;
            case "stored_fields":
                StoredFieldsGiven = true;
                _ = value.ValueKind is JsonValueKind.String or JsonValueKind.Array
                    ? true
                    : throw ElasticsearchException.Parsing("[stored_fields] must be a string or an array of strings");
                return true;
            case "version":
                Version = Bool(value, key);
                return true;
            case "seq_no_primary_term":
                // Accepted for Kibana and Dashboards; no _seq_no is shown (the store has no sequence numbers to edit by).
                _ = Bool(value, key);
                return true;
            case "highlight":
                Highlight = Highlighter.Parse(value);
                return true;
            case "script_fields" or "runtime_mappings":
                if (value.ValueKind != JsonValueKind.Object)
                {
                    throw ElasticsearchException.Parsing($"[{key}] must be an object");
                }

                if (value.EnumerateObject().Any())
                {
                    throw ElasticsearchException.IllegalArgument($"[{key}] is not supported: this gateway runs no scripts and computes no runtime fields");
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Writes <c>_version</c> when asked for (it belongs right after <c>_id</c>).</summary>
    public void WriteHitHeader(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (Version)
        {
            writer.WriteNumber("_version", 1);
        }
    }

    /// <summary>Writes the <c>fields</c> and <c>highlight</c> objects of one hit (they follow <c>_source</c>).</summary>
    public void WriteHitMembers(Utf8JsonWriter writer, JsonElement source, LogQuery query)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (_fields.Count > 0)
        {
            WriteFields(writer, source);
        }

        Highlight?.Write(writer, source, query);
    }

    /// <summary>Calls <paramref name="leaf"/> for every non-object value of <paramref name="source"/> with its dotted path (array elements one by one).</summary>
    internal static void Flatten(JsonElement source, string prefix, int depth, Action<string, JsonElement> leaf)
    {
        if (depth > MaxDepth || source.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (JsonProperty property in source.EnumerateObject())
        {
            Visit(property.Value, prefix + property.Name, depth, leaf);
        }
    }

    private static void Visit(JsonElement value, string path, int depth, Action<string, JsonElement> leaf)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                Flatten(value, path + ".", depth + 1, leaf);
                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Array)
                    {
                        Visit(item, path, depth + 1, leaf);
                    }
                }

                break;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                break;
            default:
                leaf(path, value);
                break;
        }
    }

    private void WriteFields(Utf8JsonWriter writer, JsonElement source)
    {
        // Field name → values, in the order the document has them (keyword sub-fields after their field).
        var values = new Dictionary<string, List<JsonElement>>(StringComparer.Ordinal);
        var formats = new Dictionary<string, string?>(StringComparer.Ordinal);
        var order = new List<string>();
        void Add(string name, JsonElement value, string? format)
        {
            if (!values.TryGetValue(name, out List<JsonElement>? list))
            {
                list = [];
                values[name] = list;
                order.Add(name);
                formats[name] = format;
            }

            list.Add(value);
        }

        Flatten(source, string.Empty, 0, (path, value) =>
        {
            (string type, bool keyword) = FieldMappings.TypeOf(path, value);
            foreach ((string pattern, string? format, bool docValues) in _fields)
            {
                // Text fields have no doc values; their .keyword sub-fields do.
                bool text = type == "text";
                if (SourceFilter.Glob(pattern, path) && !(docValues && text))
                {
                    Add(path, value, format);
                    break;
                }
            }

            if (keyword && value.GetString()!.Length <= FieldMappings.KeywordIgnoreAbove)
            {
                string sub = path + ".keyword";
                foreach ((string pattern, string? format, bool _) in _fields)
                {
                    if (SourceFilter.Glob(pattern, sub))
                    {
                        Add(sub, value, format);
                        break;
                    }
                }
            }
        });

        if (order.Count == 0)
        {
            return;
        }

        writer.WriteStartObject("fields");
        foreach (string name in order)
        {
            writer.WriteStartArray(name);
            foreach (JsonElement value in values[name])
            {
                WriteValue(writer, name, value, formats[name]);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, string name, JsonElement value, string? format)
    {
        if (name != "@timestamp")
        {
            value.WriteTo(writer);
            return;
        }

        long ms = value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) ? n
            : value.ValueKind == JsonValueKind.String && SourceFields.TryParseDate(value.GetString()!, out long parsed) ? parsed
            : long.MinValue;
        if (ms == long.MinValue)
        {
            value.WriteTo(writer);
            return;
        }

        DateTimeOffset time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        writer.WriteStringValue(format switch
        {
            "epoch_millis" => ms.ToString(CultureInfo.InvariantCulture),
            "epoch_second" => (ms / 1000).ToString(CultureInfo.InvariantCulture),
            "strict_date_optional_time_nanos" => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'000000Z'", CultureInfo.InvariantCulture),
            _ => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        });
    }

    /// <summary>Date formats a <c>fields</c>/<c>docvalue_fields</c> entry may ask for (Elasticsearch's names).</summary>
    private static readonly HashSet<string> DateFormats = new(StringComparer.Ordinal)
    {
        "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos", "epoch_millis", "epoch_second", "use_field_mapping",
    };

    private void ReadFields(JsonElement value, string key, bool docValues)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ElasticsearchException.Parsing($"[{key}] must be an array");
        }

        foreach (JsonElement item in value.EnumerateArray())
        {
            string? field = null, format = null;
            if (item.ValueKind == JsonValueKind.String)
            {
                field = item.GetString();
            }
            else if (item.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in item.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "field":
                            field = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw ElasticsearchException.Parsing($"[{key}] [field] must be a string");
                            break;
                        case "format":
                            format = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw ElasticsearchException.Parsing($"[{key}] [format] must be a string");
                            break;
                        case "include_unmapped":
                            break;
                        default:
                            throw ElasticsearchException.Parsing($"[{key}] unknown field [{property.Name}]");
                    }
                }
            }

            if (string.IsNullOrEmpty(field))
            {
                throw ElasticsearchException.Parsing($"[{key}] entries must be field names or objects with a [field]");
            }

            if (format is not null && !DateFormats.Contains(format))
            {
                throw ElasticsearchException.IllegalArgument($"[{key}] format [{format}] of [{field}] is not supported by this gateway (date formats: {string.Join(", ", DateFormats.Order(StringComparer.Ordinal))})");
            }

            if (_fields.Count == MaxFieldPatterns)
            {
                throw ElasticsearchException.IllegalArgument($"[fields] and [docvalue_fields] list more than {MaxFieldPatterns.ToString(CultureInfo.InvariantCulture)} entries");
            }

            // The fields API's entries go first: when both name a field, its format is the one shown (Elasticsearch's
            // fetch phase sets the fields API's values after the doc values').
            int at = docValues ? _fields.Count : _fields.FindIndex(f => f.DocValues) is var first and >= 0 ? first : _fields.Count;
            _fields.Insert(at, (field, format is "use_field_mapping" ? null : format, docValues));
        }
    }

    private static bool Bool(JsonElement value, string key) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw ElasticsearchException.Parsing($"[{key}] must be a boolean"),
    };
}
