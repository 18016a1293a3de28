using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// The field types the gateway reports (<c>_mapping</c>, <c>_field_caps</c>, <c>GET /{index}</c>, and the
/// <c>fields</c> of search hits): those an Elasticsearch 7 index written by Logstash with its default template
/// (<c>logstash-*</c>, ECS disabled; docs/reference/syslog-and-elasticsearch.md §3.4) would have. The template fixes
/// <c>@timestamp</c> (date) and <c>@version</c> (keyword); its dynamic templates map <c>message</c> to <c>text</c> and
/// every other string to <c>text</c> with a <c>.keyword</c> sub-field (<c>keyword</c>, <c>ignore_above</c> 256);
/// Elasticsearch's dynamic mapping gives JSON integers <c>long</c>, other numbers <c>float</c>, booleans
/// <c>boolean</c>, objects <c>object</c>. The store keeps no mapping, so the fields of an index are read from its
/// newest <see cref="SampleSize"/> documents: a field seen only in older ones is not reported.
/// </summary>
public sealed class FieldMappings
{
    /// <summary>Documents read per index to find its fields (newest first): bounds the work of one mapping request.</summary>
    public const int SampleSize = 500;

    /// <summary>Longest string the <c>.keyword</c> sub-field indexes (the Logstash template's <c>ignore_above</c>).</summary>
    public const int KeywordIgnoreAbove = 256;

    /// <summary>Deepest object nesting reported; deeper objects are left out (the JSON is already bounded by the store).</summary>
    private const int MaxDepth = 20;

    private FieldMappings(Dictionary<string, FieldNode> indices) => Indices = indices;

    /// <summary>Per index name, its root object's fields.</summary>
    public IReadOnlyDictionary<string, FieldNode> Indices { get; }

    /// <summary>One field: a leaf with <see cref="Type"/>, or an object with <see cref="Properties"/>.</summary>
    public sealed class FieldNode
    {
        /// <summary>Elasticsearch type: date, keyword, text, long, float, boolean; "object" for objects.</summary>
        public string Type { get; internal set; } = "object";

        /// <summary>Whether a <c>.keyword</c> sub-field exists (text fields other than <c>message</c>).</summary>
        public bool HasKeyword { get; internal set; }

        /// <summary>Sub-fields of an object, by name.</summary>
        public SortedDictionary<string, FieldNode> Properties { get; } = new(StringComparer.Ordinal);

        /// <summary>Every leaf with its dotted path, <c>.keyword</c> sub-fields included (as <c>_field_caps</c> lists them).</summary>
        public IEnumerable<(string Path, string Type, bool Aggregatable)> Leaves(string prefix = "")
        {
            foreach ((string name, FieldNode node) in Properties)
            {
                string path = prefix + name;
                if (node.Type == "object")
                {
                    yield return (path, "object", false);
                    foreach ((string Path, string Type, bool Aggregatable) leaf in node.Leaves(path + "."))
                    {
                        yield return leaf;
                    }

                    continue;
                }

                yield return (path, node.Type, node.Type != "text");
                if (node.HasKeyword)
                {
                    yield return (path + ".keyword", "keyword", true);
                }
            }
        }
    }

    /// <summary>The type of a top-level or dotted field for <paramref name="value"/> (the template's rules).</summary>
    public static (string Type, bool HasKeyword) TypeOf(string path, JsonElement value) => path switch
    {
        "@timestamp" => ("date", false),
        "@version" => ("keyword", false),
        _ => value.ValueKind switch
        {
            JsonValueKind.String => ("text", path != "message"),
            JsonValueKind.Number => (value.TryGetInt64(out _) ? "long" : "float", false),
            JsonValueKind.True or JsonValueKind.False => ("boolean", false),
            JsonValueKind.Object => ("object", false),
            _ => ("", false),
        },
    };

    /// <summary>Reads the fields of <paramref name="indices"/> from their newest documents.</summary>
    public static FieldMappings Sample(LogStore store, IReadOnlyList<string> indices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(indices);
        var result = new Dictionary<string, FieldNode>(StringComparer.Ordinal);
        foreach (string index in indices)
        {
            var root = new FieldNode();
            root.Properties["@timestamp"] = new FieldNode { Type = "date" };
            root.Properties["@version"] = new FieldNode { Type = "keyword" };
            LogSearchResult newest = store.Search(new LogSearch([index], MatchAllQuery.Instance, [new LogSort("_doc", true)], 0, SampleSize, 0), countOnly: false, cancellationToken);
            foreach (LogHit hit in newest.Hits)
            {
                using JsonDocument document = JsonDocument.Parse(hit.Source);
                Add(root, document.RootElement, string.Empty, 0);
            }

            result[index] = root;
        }

        return new FieldMappings(result);
    }

    private static void Add(FieldNode node, JsonElement source, string prefix, int depth)
    {
        if (source.ValueKind != JsonValueKind.Object || depth > MaxDepth)
        {
            return;
        }

        foreach (JsonProperty property in source.EnumerateObject())
        {
            JsonElement value = property.Value;
            while (value.ValueKind == JsonValueKind.Array)
            {
                // A field's type is its elements' (arrays are not a type in Elasticsearch); the first non-null decides.
                JsonElement? first = null;
                foreach (JsonElement item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Null)
                    {
                        first = item;
                        break;
                    }
                }

                if (first is null)
                {
                    break;
                }

                value = first.Value;
            }

            string path = prefix + property.Name;
            (string type, bool keyword) = TypeOf(path, value);
            if (type.Length == 0)
            {
                continue;
            }

            if (!node.Properties.TryGetValue(property.Name, out FieldNode? child))
            {
                // Elasticsearch's dynamic mapping: the first value seen decides the type.
                child = new FieldNode { Type = type, HasKeyword = keyword };
                node.Properties[property.Name] = child;
            }

            if (child.Type == "object")
            {
                if (value.ValueKind == JsonValueKind.Object)
                {
                    Add(child, value, path + ".", depth + 1);
                }
            }
        }
    }
}
