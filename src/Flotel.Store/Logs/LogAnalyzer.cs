namespace Flotel.Store.Logs;

/// <summary>
/// The text analyzer shared by the FTS5 index and matches computed in SQL functions: tokens are runs of letters and
/// digits, lower-cased (as SQLite's <c>unicode61</c> tokenizer and, near enough, Elasticsearch's <c>standard</c>
/// analyzer do: "random-workload[3966]" → random, workload, 3966).
/// </summary>
internal static class LogAnalyzer
{
    public static List<string> Tokenize(string? text)
    {
        var tokens = new List<string>();
        if (string.IsNullOrEmpty(text))
        {
            return tokens;
        }

        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool word = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                tokens.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }

        return tokens;
    }

    /// <summary>SQL function body: does <paramref name="value"/> match the space-separated <paramref name="tokens"/>?</summary>
    /// <param name="value">The field value (a JSON array's text works too: brackets and quotes are separators).</param>
    /// <param name="tokens">Analyzed query tokens joined by one space.</param>
    /// <param name="mode">0: any token; 1: every token; 2: the tokens as a phrase.</param>
    public static bool Matches(string? value, string tokens, long mode)
    {
        if (value is null || tokens.Length == 0)
        {
            return false;
        }

        List<string> have = Tokenize(value);
        string[] want = tokens.Split(' ');
        switch (mode)
        {
            case 0:
                return Array.Exists(want, have.Contains);
            case 1:
                return Array.TrueForAll(want, have.Contains);
            default:
                for (int i = 0; i + want.Length <= have.Count; i++)
                {
                    int j = 0;
                    while (j < want.Length && string.Equals(have[i + j], want[j], StringComparison.Ordinal))
                    {
                        j++;
                    }

                    if (j == want.Length)
                    {
                        return true;
                    }
                }

                return false;
        }
    }

    /// <summary>An FTS5 string literal for one token (tokens hold only letters and digits, but quote anyway).</summary>
    public static string Quote(string token) => "\"" + token.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
