using System.Text.RegularExpressions;
using Flotel.Model.Metrics;

namespace Flotel.Store.Metrics;

/// <summary>
/// One label matcher. A missing label reads as the empty string (Prometheus data model), so <c>l=""</c>
/// matches series without <c>l</c>. Regexes are fully anchored (<c>^(?:re)$</c>) as in Prometheus and run on .NET's
/// non-backtracking engine (<see cref="LinearRegex"/>): linear time like RE2, and the constructs RE2 lacks are refused.
/// </summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    /// <summary>The values a regex of literal alternatives matches (<see cref="LinearRegex.TryLiteralAlternation"/>), instead of <see cref="_regex"/>.</summary>
    private readonly HashSet<string>? _literals;

    /// <summary><see cref="_literals"/> looked up by characters (the set is ordinal).</summary>
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _literalChars;

    /// <summary>Creates a matcher.</summary>
    /// <exception cref="ArgumentException">The regular expression does not compile or needs backtracking.</exception>
    public LabelMatcher(LabelMatchType type, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Type = type;
        Name = name;
        Value = value;
        if (type is LabelMatchType.RegexMatch or LabelMatchType.RegexNoMatch)
        {
            _literals = LinearRegex.TryLiteralAlternation(value);
            if (_literals is not null)
            {
                _literalChars = _literals.GetAlternateLookup<ReadOnlySpan<char>>();
            }

            // RE2's named groups, (?P<name>…), which .NET does not know, become plain groups: a matcher uses no names.
            _regex = _literals is null ? LinearRegex.Compile("^(?:" + Flotel.Store.Query.Prometheus.PromMath.NumberNamedGroups(value, out _) + ")$") : null;
        }
    }

    /// <summary>The operator.</summary>
    public LabelMatchType Type { get; }

    /// <summary>The label name.</summary>
    public string Name { get; }

    /// <summary>The value or pattern.</summary>
    public string Value { get; }

    /// <summary>True when this matcher accepts the value <paramref name="value"/> (empty = label absent).</summary>
    public bool Matches(string value) => Matches(value.AsSpan());

    /// <summary>True when this matcher accepts the value <paramref name="value"/> (empty = label absent).</summary>
    public bool Matches(ReadOnlySpan<char> value) => Type switch
    {
        LabelMatchType.Equal => value.SequenceEqual(Value),
        LabelMatchType.NotEqual => !value.SequenceEqual(Value),
        LabelMatchType.RegexMatch => _literals is null ? _regex!.IsMatch(value) : _literalChars.Contains(value),
        _ => !(_literals is null ? _regex!.IsMatch(value) : _literalChars.Contains(value)),
    };

    /// <summary>True when the series with <paramref name="labels"/> is selected.</summary>
    public bool Matches(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return Matches(labels.TryGetValue(Name, out var v) ? v : string.Empty);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var op = Type switch
        {
            LabelMatchType.Equal => "=",
            LabelMatchType.NotEqual => "!=",
            LabelMatchType.RegexMatch => "=~",
            _ => "!~",
        };
        return Name + op + "\"" + Value + "\"";
    }
}
