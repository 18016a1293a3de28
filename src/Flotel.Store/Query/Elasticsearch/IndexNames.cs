using System.Text;
using Flotel.Store.Logs;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>Index name rules and index expressions (<c>a,b</c>, <c>logstash-*</c>, <c>_all</c>, <c>-excluded</c>) as Elasticsearch resolves them.</summary>
public static class IndexNames
{
    /// <summary>Elasticsearch's limit on an index name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Null when <paramref name="name"/> is a valid index name, else the reason (ES's <c>invalid_index_name_exception</c>).</summary>
    public static string? Validate(string name)
    {
        if (name.Length == 0)
        {
            return "Invalid index name [], must not be empty";
        }

        if (!name.Equals(name.ToLowerInvariant(), StringComparison.Ordinal))
        {
            return $"Invalid index name [{name}], must be lowercase";
        }

        if (name.IndexOfAny(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) >= 0)
        {
            return $"Invalid index name [{name}], must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :]";
        }

        if (name[0] is '_' or '-' or '+')
        {
            return $"Invalid index name [{name}], must not start with '_', '-', or '+'";
        }

        if (name is "." or "..")
        {
            return $"Invalid index name [{name}], must not be '.' or '..'";
        }

        return Encoding.UTF8.GetByteCount(name) > MaxNameBytes ? $"Invalid index name [{name}], index name is too long" : null;
    }

    /// <summary>
    /// The concrete indices an expression names, in the store's name order. A concrete name that does not exist is a
    /// 404 <c>index_not_found_exception</c> unless <paramref name="ignoreUnavailable"/>; wildcards matching nothing give none.
    /// </summary>
    public static List<string> Resolve(string expression, IReadOnlyList<LogIndexInfo> indices, bool ignoreUnavailable)
    {
        var selected = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in expression.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            bool exclude = raw.StartsWith('-') && selected.Count > 0;
            string part = exclude ? raw[1..] : raw;
            if (part is "_all" or "*" || part.Contains('*', StringComparison.Ordinal))
            {
                foreach (LogIndexInfo index in indices)
                {
                    if (part is "_all" || SourceFilter.Glob(part, index.Name))
                    {
                        _ = exclude ? selected.Remove(index.Name) : selected.Add(index.Name);
                    }
                }
            }
            else if (exclude)
            {
                _ = selected.Remove(part);
            }
            else if (indices.Any(i => i.Name == part))
            {
                _ = selected.Add(part);
            }
            else if (!ignoreUnavailable)
            {
                throw ElasticsearchException.IndexNotFound(part);
            }
        }

        return [.. indices.Select(i => i.Name).Where(selected.Contains)];
    }
}
