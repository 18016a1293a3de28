using System.Text.Json;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>
/// The <c>_source</c> option of a search: true (whole document), false (none) or include/exclude lists of top-level
/// field names, each allowing <c>*</c> wildcards (a dotted name selects its top-level object, e.g.
/// <c>structured_data.x</c> keeps <c>structured_data</c>).
/// </summary>
public sealed record SourceFilter(bool Enabled, IReadOnlyList<string> Includes, IReadOnlyList<string> Excludes)
{
    public static SourceFilter All { get; } = new(true, [], []);

    public static SourceFilter None { get; } = new(false, [], []);

    public bool IsWhole => Enabled && Includes.Count == 0 && Excludes.Count == 0;

    public void Write(Utf8JsonWriter writer, JsonElement source)
    {
        writer.WriteStartObject();
        foreach (JsonProperty property in source.EnumerateObject())
        {
            if ((Includes.Count == 0 || Includes.Any(p => Matches(p, property.Name))) && !Excludes.Any(p => Matches(p, property.Name)))
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    internal static bool Matches(string pattern, string name)
    {
        if (pattern.StartsWith(name + ".", StringComparison.Ordinal))
        {
            return true;
        }

        return Glob(pattern, name);
    }

    /// <summary>Wildcard match where <c>*</c> stands for any run of characters.</summary>
    public static bool Glob(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
