using System.Text.RegularExpressions;

namespace Flotel.Store.Metrics;

/// <summary>
/// Compiles a pattern from a query with .NET's non-backtracking engine, so matching takes time linear in the input
/// whatever the pattern, as RE2 (Prometheus's regex engine) guarantees. Constructs that need backtracking —
/// backreferences, lookarounds, atomic groups, conditionals, balancing groups — are refused: RE2 has none of them, so
/// Prometheus refuses them too, and the backtracking engine would let one query like <c>(a|aa)+b</c> over a long
/// value hold a core for minutes. So are patterns whose automaton would pass the engine's limit (.NET's default 10,000
/// nodes, e.g. <c>(a{1000}){1000}</c>), which bounds the cost of building one (a 2,000-alternative pattern took 1.3 s
/// at a higher limit); RE2 caps repeat counts at 1,000 for the same reason. Alternations of plain literals need no
/// automaton: see <see cref="TryLiteralAlternation"/>.
/// </summary>
internal static class LinearRegex
{
    /// <summary>What a refused pattern's error says is missing.</summary>
    public const string UnsupportedReason =
        "not supported by the linear-time engine (as in RE2: no backreferences, lookarounds, atomic groups or conditionals, and bounded repetition)";

    /// <summary>
    /// The alternatives of a pattern that is only literals joined by <c>|</c> (metacharacters escaped with <c>\</c>), as
    /// Grafana writes a multi-value variable (<c>host\.a:9100|host\.b:9100|…</c>); null for any other pattern. Fully
    /// anchored, such a pattern matches exactly these strings, so a set answers without a regex: building one for a
    /// few hundred alternatives exceeds the non-backtracking engine's automaton limit (.NET's default 10,000 nodes,
    /// some 90 per alternative), which bounds what one query can make it build. Prometheus matches such patterns as a
    /// set too.
    /// </summary>
    public static HashSet<string>? TryLiteralAlternation(string pattern)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        var literal = new System.Text.StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                // An escaped punctuation character is itself; \d, \n, \Q… are classes or escapes with other meanings.
                if (i + 1 >= pattern.Length || char.IsAsciiLetterOrDigit(pattern[i + 1]) || pattern[i + 1] > 0x7f)
                {
                    return null;
                }

                literal.Append(pattern[++i]);
            }
            else if (c == '|')
            {
                set.Add(literal.ToString());
                literal.Clear();
            }
            else if (c is '.' or '^' or '$' or '*' or '+' or '?' or '(' or ')' or '[' or ']' or '{' or '}' or '#' or ' ' || char.IsWhiteSpace(c))
            {
                return null; // a metacharacter (whitespace and '#' only mean something with (?x), refused to be safe)
            }
            else
            {
                literal.Append(c);
            }
        }

        set.Add(literal.ToString());
        return set;
    }

    /// <summary>Compiles <paramref name="pattern"/> (already anchored by the caller).</summary>
    /// <exception cref="ArgumentException">
    /// The pattern does not compile or uses a construct the linear-time engine lacks; the message says which.
    /// </exception>
    public static Regex Compile(string pattern)
    {
        CheckRepeatCounts(pattern);
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException(UnsupportedReason + ": " + e.Message, nameof(pattern), e);
        }
    }

    /// <summary>RE2's largest repeat count: <c>a{1001}</c> is "invalid repeat count" there, so in Prometheus.</summary>
    public const int MaxRepeatCount = 1000;

    // Refuses a repetition {n}, {n,} or {n,m} (outside a character class, not escaped) with a count over
    // MaxRepeatCount, as RE2 does; a brace that forms no repetition is a literal in both engines.
    private static void CheckRepeatCounts(string pattern)
    {
        bool inClass = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                i++;
            }
            else if (inClass)
            {
                inClass = c != ']';
            }
            else if (c == '[')
            {
                inClass = true;
                // A ']' right after '[' or '[^' is a member of the class, not its end.
                i += i + 1 < pattern.Length && pattern[i + 1] == '^' ? 1 : 0;
                i += i + 1 < pattern.Length && pattern[i + 1] == ']' ? 1 : 0;
            }
            else if (c == '{')
            {
                int j = i + 1;
                long low = ReadCount(pattern, ref j);
                long high = low;
                if (low >= 0 && j < pattern.Length && pattern[j] == ',')
                {
                    j++;
                    high = j < pattern.Length && pattern[j] == '}' ? low : ReadCount(pattern, ref j);
                }

                if (low >= 0 && high >= 0 && j < pattern.Length && pattern[j] == '}' && Math.Max(low, high) > MaxRepeatCount)
                {
                    throw new ArgumentException($"invalid repeat count: {pattern[i..(j + 1)]} (at most {MaxRepeatCount}, as in RE2)", nameof(pattern));
                }
            }
        }
    }

    // The decimal number at pattern[j…] (capped, so a long run of digits cannot overflow), or -1 when there is none.
    private static long ReadCount(string pattern, ref int j)
    {
        int start = j;
        long value = 0;
        while (j < pattern.Length && char.IsAsciiDigit(pattern[j]))
        {
            value = Math.Min(value * 10 + (pattern[j] - '0'), int.MaxValue);
            j++;
        }

        return j > start ? value : -1;
    }
}
