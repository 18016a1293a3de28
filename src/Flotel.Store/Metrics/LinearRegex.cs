using System.Text.RegularExpressions;

namespace Flotel.Store.Metrics;

/// <summary>
/// Compiles a pattern from a query with .NET's non-backtracking engine, so matching takes time linear in the input
/// whatever the pattern, as RE2 (Prometheus's regex engine) guarantees. Constructs that need backtracking —
/// backreferences, lookarounds, atomic groups, conditionals, balancing groups — are refused: RE2 has none of them, so
/// Prometheus refuses them too, and the backtracking engine would let one query like <c>(a|aa)+b</c> over a long
/// value hold a core for minutes. So are repetitions that expand past the engine's automaton limit (10,000 nodes, e.g.
/// <c>(a{1000}){1000}</c>), which bounds the cost of building one; RE2 caps repeat counts at 1,000 for the same reason.
/// </summary>
internal static class LinearRegex
{
    /// <summary>What a refused pattern's error says is missing.</summary>
    public const string UnsupportedReason =
        "not supported by the linear-time engine (as in RE2: no backreferences, lookarounds, atomic groups or conditionals, and bounded repetition)";

    /// <summary>Compiles <paramref name="pattern"/> (already anchored by the caller).</summary>
    /// <exception cref="ArgumentException">
    /// The pattern does not compile or uses a construct the linear-time engine lacks; the message says which.
    /// </exception>
    public static Regex Compile(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException(UnsupportedReason + ": " + e.Message, nameof(pattern), e);
        }
    }
}
