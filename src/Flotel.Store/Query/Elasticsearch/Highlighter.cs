using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// A search's <c>highlight</c>: for each string field of a hit whose name matches one of <see cref="Fields"/>
/// (<c>*</c> wildcards), the field's text with the query's terms on that field wrapped in <c>pre_tags</c> /
/// <c>post_tags</c>, cut into fragments of about <c>fragment_size</c> characters (at most
/// <c>number_of_fragments</c>, in text order; 0 = the whole value). The terms are those of the query's
/// <c>match</c>, <c>match_phrase</c>, <c>term(s)</c>, <c>prefix</c> and <c>query_string</c> clauses (not
/// <c>must_not</c>), analyzed as the store analyzes text (runs of letters and digits, lower-cased), or those of
/// <c>highlight_query</c> when given. With <c>require_field_match</c> true (the default) a field shows only its own
/// terms; false shows every field's terms everywhere.
/// </summary>
public sealed class Highlighter
{
    /// <summary>Elasticsearch's defaults.</summary>
    private const int DefaultFragmentSize = 100;
    private const int DefaultFragments = 5;

    /// <summary>Highlighted fields listed in one request, at most (each is a pattern matched against every field of every hit).</summary>
    public const int MaxFields = 100;

    private readonly List<(string Pattern, FieldOptions Options)> _fields = [];
    private readonly FieldOptions _global;

    private Highlighter(FieldOptions global) => _global = global;

    /// <summary>The field patterns, in request order.</summary>
    public IEnumerable<string> Fields => _fields.Select(f => f.Pattern);

    private sealed record FieldOptions
    {
        public string[] PreTags { get; init; } = ["<em>"];

        public string[] PostTags { get; init; } = ["</em>"];

        public int FragmentSize { get; init; } = DefaultFragmentSize;

        public int Fragments { get; init; } = DefaultFragments;

        public int NoMatchSize { get; init; }

        public bool RequireFieldMatch { get; init; } = true;

        public bool HtmlEncode { get; init; }

        public LogQuery? Query { get; init; }
    }

    /// <summary>Parses the <c>highlight</c> object of a search body.</summary>
    public static Highlighter Parse(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[highlight] must be an object");
        }

        var highlighter = new Highlighter(ReadOptions(value, new FieldOptions(), global: true));
        if (!value.TryGetProperty("fields", out JsonElement fields))
        {
            throw ElasticsearchException.Parsing("[highlight] requires [fields]");
        }

        IEnumerable<JsonProperty> entries = fields.ValueKind switch
        {
            JsonValueKind.Object => fields.EnumerateObject(),
            JsonValueKind.Array => fields.EnumerateArray().SelectMany(item => item.ValueKind == JsonValueKind.Object
                ? item.EnumerateObject()
                : throw ElasticsearchException.Parsing("[highlight] fields array entries must be objects")),
            _ => throw ElasticsearchException.Parsing("[highlight] [fields] must be an object or an array"),
        };
        foreach (JsonProperty field in entries)
        {
            if (highlighter._fields.Count == MaxFields)
            {
                throw ElasticsearchException.IllegalArgument($"[highlight] lists more than {MaxFields.ToString(CultureInfo.InvariantCulture)} fields");
            }

            highlighter._fields.Add((field.Name, ReadOptions(field.Value, highlighter._global, global: false)));
        }

        return highlighter;
    }

    private static FieldOptions ReadOptions(JsonElement value, FieldOptions inherited, bool global)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[highlight] field options must be an object");
        }

        FieldOptions options = inherited;
        foreach (JsonProperty property in value.EnumerateObject())
        {
            JsonElement v = property.Value;
            switch (property.Name)
            {
                case "pre_tags":
                    options = options with { PreTags = Tags(v, "pre_tags") };
                    break;
                case "post_tags":
                    options = options with { PostTags = Tags(v, "post_tags") };
                    break;
                case "tags_schema":
                    options = Text(v, "tags_schema") == "styled"
                        ? options with { PreTags = ["<em class=\"hlt1\">"], PostTags = ["</em>"] }
                        : throw ElasticsearchException.IllegalArgument("Unknown tag schema [" + v.GetString() + "]");
                    break;
                case "fragment_size":
                    options = options with { FragmentSize = NonNegative(v, "fragment_size") };
                    break;
                case "number_of_fragments":
                    options = options with { Fragments = NonNegative(v, "number_of_fragments") };
                    break;
                case "no_match_size":
                    options = options with { NoMatchSize = NonNegative(v, "no_match_size") };
                    break;
                case "require_field_match":
                    options = options with { RequireFieldMatch = v.ValueKind == JsonValueKind.True || (v.ValueKind == JsonValueKind.False ? false : throw ElasticsearchException.Parsing("[highlight] [require_field_match] must be a boolean")) };
                    break;
                case "encoder":
                    string encoder = Text(v, "encoder");
                    options = options with { HtmlEncode = encoder == "html" || (encoder == "default" ? false : throw ElasticsearchException.IllegalArgument("Unknown encoder [" + encoder + "]")) };
                    break;
                case "highlight_query":
                    options = options with { Query = QueryDslParser.ParseQuery(v) };
                    break;
                case "fields" when global:
                    break;

                // Choices of highlighter implementation and boundary tuning: the gateway has one way of cutting fragments.
                case "type" or "order" or "fragmenter" or "boundary_scanner" or "boundary_chars" or "boundary_max_scan"
                    or "boundary_scanner_locale" or "fragment_offset" or "phrase_limit" or "max_analyzed_offset" or "force_source"
                    or "matched_fields" or "highlight_filter":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"[highlight] unknown field [{property.Name}]");
            }
        }

        return options;
    }

    /// <summary>Writes <c>"highlight":{…}</c> for one hit when some field has a fragment; nothing otherwise.</summary>
    public void Write(Utf8JsonWriter writer, JsonElement source, LogQuery query)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(query);
        // Each string field once, with its values in document order (array elements one by one).
        var strings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        DisplayOptions.Flatten(source, string.Empty, 0, (path, value) =>
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                if (!strings.TryGetValue(path, out List<string>? values))
                {
                    values = [];
                    strings[path] = values;
                }

                values.Add(value.GetString()!);
            }
        });

        bool started = false;
        Dictionary<string, Terms> queryTerms = Collect(query);
        Terms? allQueryTerms = Terms.Union(queryTerms.Values);
        foreach ((string path, List<string> values) in strings)
        {
            // The first entry of highlight.fields that names the field decides its options.
            int entry = _fields.FindIndex(f => SourceFilter.Glob(f.Pattern, path));
            if (entry < 0)
            {
                continue;
            }

            FieldOptions options = _fields[entry].Options;
            Dictionary<string, Terms> terms = options.Query is null ? queryTerms : Collect(options.Query);
            Terms? fieldTerms = options.RequireFieldMatch
                ? terms.GetValueOrDefault(path) ?? terms.GetValueOrDefault(path + ".keyword")
                : options.Query is null ? allQueryTerms : Terms.Union(terms.Values);
            List<string> fragments = [];
            foreach (string value in values)
            {
                if (fieldTerms is not null && fragments.Count < Math.Max(options.Fragments, 1))
                {
                    Fragments(value, fieldTerms, options, fragments);
                }
            }

            if (fragments.Count == 0 && options.NoMatchSize > 0 && values[0] is { Length: > 0 } first)
            {
                string text = first.Length <= options.NoMatchSize ? first : first[..WordEnd(first, options.NoMatchSize)];
                fragments.Add(options.HtmlEncode ? WebUtility.HtmlEncode(text) : text);
            }

            if (fragments.Count == 0)
            {
                continue;
            }

            if (!started)
            {
                writer.WriteStartObject("highlight");
                started = true;
            }

            writer.WriteStartArray(path);
            foreach (string fragment in fragments)
            {
                writer.WriteStringValue(fragment);
            }

            writer.WriteEndArray();
        }

        if (started)
        {
            writer.WriteEndObject();
        }
    }

    /// <summary>The analyzed terms and prefixes a query looks for, per field.</summary>
    private sealed class Terms
    {
        public HashSet<string> Words { get; } = new(StringComparer.Ordinal);

        public List<string> Prefixes { get; } = [];

        public static Terms? Union(IEnumerable<Terms> all)
        {
            Terms? union = null;
            foreach (Terms terms in all)
            {
                union ??= new Terms();
                union.Words.UnionWith(terms.Words);
                union.Prefixes.AddRange(terms.Prefixes);
            }

            return union;
        }

        public bool Matches(string token)
        {
            if (Words.Contains(token))
            {
                return true;
            }

            foreach (string prefix in Prefixes)
            {
                if (token.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static Dictionary<string, Terms> Collect(LogQuery query)
    {
        var terms = new Dictionary<string, Terms>(StringComparer.Ordinal);
        Collect(query, terms);
        return terms;
    }

    // The parsers bound the nesting of queries (QueryDslParser.MaxJsonDepth, QueryStringParser.MaxDepth), so this recursion is bounded too.
    private static void Collect(LogQuery query, Dictionary<string, Terms> terms)
    {
        switch (query)
        {
            case MatchQuery match:
                For(terms, match.Field).Words.UnionWith(LogAnalyzer.Tokenize(match.Text));
                break;
            case PhraseQuery phrase:
                For(terms, phrase.Field).Words.UnionWith(LogAnalyzer.Tokenize(phrase.Text));
                break;
            case TermsQuery term:
                foreach (object value in term.Values)
                {
                    if (value is string text)
                    {
                        For(terms, term.Field).Words.UnionWith(LogAnalyzer.Tokenize(text));
                    }
                }

                break;
            case PrefixQuery prefix when LogAnalyzer.Tokenize(prefix.Prefix) is [string only]:
                For(terms, prefix.Field).Prefixes.Add(only);
                break;
            case BoolQuery b:
                foreach (LogQuery clause in b.Must.Concat(b.Filter).Concat(b.Should))
                {
                    Collect(clause, terms);
                }

                break;
        }
    }

    private static Terms For(Dictionary<string, Terms> terms, string field)
    {
        if (!terms.TryGetValue(field, out Terms? found))
        {
            found = new Terms();
            terms[field] = found;
        }

        return found;
    }

    /// <summary>Adds the fragments of <paramref name="value"/> that hold a term, up to the field's fragment count.</summary>
    private static void Fragments(string value, Terms terms, FieldOptions options, List<string> fragments)
    {
        List<(int Start, int End)> matches = Matches(value, terms);
        if (matches.Count == 0)
        {
            return;
        }

        if (options.Fragments == 0 || value.Length <= options.FragmentSize)
        {
            fragments.Add(Mark(value, 0, value.Length, matches, 0, options));
            return;
        }

        int next = 0, previousEnd = 0;
        while (next < matches.Count && fragments.Count < options.Fragments)
        {
            // A window of fragment_size characters that starts a little before the match, on a word start.
            (int matchStart, int matchEnd) = matches[next];
            int size = Math.Max(options.FragmentSize, matchEnd - matchStart);
            int start = Math.Clamp(matchStart - (size / 4), 0, Math.Max(0, value.Length - size));
            start = WordStart(value, Math.Max(start, previousEnd), matchStart);
            int end = Math.Min(value.Length, start + size);
            end = Math.Max(matchEnd, WordEnd(value, end));
            while (end > matchEnd && char.IsWhiteSpace(value[end - 1]))
            {
                end--;
            }

            fragments.Add(Mark(value, start, end, matches, next, options));
            previousEnd = end;
            while (next < matches.Count && matches[next].Start < end)
            {
                next++;
            }
        }
    }

    private static List<(int Start, int End)> Matches(string value, Terms terms)
    {
        var matches = new List<(int, int)>();
        int start = -1;
        for (int i = 0; i <= value.Length; i++)
        {
            bool word = i < value.Length && char.IsLetterOrDigit(value[i]);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                if (terms.Matches(value[start..i].ToLowerInvariant()))
                {
                    matches.Add((start, i));
                }

                start = -1;
            }
        }

        return matches;
    }

    // Marks the matches from index first on that lie inside [start, end): each match is looked at by one fragment
    // (plus one look past its end), so a value with many matches costs linear time, not matches × fragments.
    private static string Mark(string value, int start, int end, List<(int Start, int End)> matches, int first, FieldOptions options)
    {
        var text = new StringBuilder(end - start + 16);
        int at = start;
        for (int i = first; i < matches.Count && matches[i].Start < end; i++)
        {
            (int matchStart, int matchEnd) = matches[i];
            if (matchStart < start || matchEnd > end)
            {
                continue;
            }

            Append(text, value[at..matchStart], options);
            text.Append(options.PreTags[0]);
            Append(text, value[matchStart..matchEnd], options);
            text.Append(options.PostTags[0]);
            at = matchEnd;
        }

        Append(text, value[at..end], options);
        return text.ToString();
    }

    private static void Append(StringBuilder text, string part, FieldOptions options) =>
        text.Append(options.HtmlEncode ? WebUtility.HtmlEncode(part) : part);

    // Moves a fragment start forward to the start of a word, unless that would pass the match.
    private static int WordStart(string value, int start, int limit)
    {
        if (start == 0 || !char.IsLetterOrDigit(value[start - 1]))
        {
            return start;
        }

        int i = start;
        while (i < limit && char.IsLetterOrDigit(value[i]))
        {
            i++;
        }

        while (i < limit && !char.IsLetterOrDigit(value[i]))
        {
            i++;
        }

        return i;
    }

    // Extends a fragment end to the end of the word it cuts (at most 20 more characters).
    private static int WordEnd(string value, int end)
    {
        int limit = Math.Min(value.Length, end + 20);
        while (end < limit && end > 0 && char.IsLetterOrDigit(value[end - 1]) && char.IsLetterOrDigit(value[end]))
        {
            end++;
        }

        return end;
    }

    private static string[] Tags(JsonElement value, string name)
    {
        string[] tags = value.ValueKind switch
        {
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array => [.. value.EnumerateArray().Select(t => Text(t, name))],
            _ => throw ElasticsearchException.Parsing($"[highlight] [{name}] must be an array of strings"),
        };
        return tags.Length > 0 ? tags : throw ElasticsearchException.Parsing($"[highlight] [{name}] must not be empty");
    }

    private static string Text(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw ElasticsearchException.Parsing($"[highlight] [{name}] must be a string");

    private static int NonNegative(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) && n >= 0
            ? (int)Math.Min(n, int.MaxValue)
            : throw ElasticsearchException.Parsing($"[highlight] [{name}] must be a non-negative integer");
}
