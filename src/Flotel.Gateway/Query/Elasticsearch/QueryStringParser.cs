using System.Globalization;
using System.Text;
using Flotel.Gateway.Store.Logs;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// Lucene's query_string syntax, the simple part: <c>field:value</c>, bare terms (searched in the default field,
/// <c>message</c>), <c>"quoted phrases"</c>, <c>AND</c>/<c>OR</c>/<c>NOT</c> (also <c>&amp;&amp;</c>, <c>||</c>,
/// <c>!</c>, a leading <c>-</c> or <c>+</c>), parentheses, <c>foo*</c> prefixes, <c>field:*</c> (exists),
/// <c>field:[a TO b]</c> / <c>{a TO b}</c> ranges and <c>field:&gt;=x</c>. Adjacent clauses are joined by the
/// default operator (OR unless <c>default_operator</c> says AND). Precedence: NOT, then AND, then OR.
/// One pass over the text: nesting is bounded by <see cref="MaxDepth"/> and a field group is parsed in place.
/// </summary>
internal sealed class QueryStringParser
{
    /// <summary>
    /// Deepest nesting of negations (<c>NOT</c>, <c>!</c>, <c>-</c>) and parentheses accepted. The parser, the SQL
    /// compiler and SQLite (1,000 expression levels at most) each recurse once per level: 10,000 <c>NOT </c> overflowed
    /// the stack and ended the process. Elasticsearch bounds nested <c>bool</c> queries at 20 to 30 levels
    /// (<c>indices.query.bool.max_nested_depth</c>); hand-written Lucene queries stay far below this.
    /// </summary>
    public const int MaxDepth = 64;

    private readonly string _text;
    private readonly bool _defaultAnd;

    /// <summary>The field of bare terms: the default field, or the field of the <c>field:( … )</c> group being parsed.</summary>
    private string _defaultField;

    private int _pos;

    /// <summary>Negations and parentheses open at <see cref="_pos"/>, bounded by <see cref="MaxDepth"/>.</summary>
    private int _depth;

    private QueryStringParser(string text, string defaultField, bool defaultAnd)
    {
        _text = text;
        _defaultField = defaultField;
        _defaultAnd = defaultAnd;
    }

    public static LogQuery Parse(string text, string? defaultField = null, bool defaultAnd = false)
    {
        var parser = new QueryStringParser(text, defaultField ?? "message", defaultAnd);
        parser.SkipSpace();
        if (parser.AtEnd)
        {
            return MatchAllQuery.Instance;
        }

        LogQuery query = parser.ParseOr();
        parser.SkipSpace();
        if (!parser.AtEnd)
        {
            throw parser.Error($"unexpected '{text[parser._pos]}'");
        }

        return query;
    }

    private bool AtEnd => _pos >= _text.Length;

    /// <summary>
    /// Characters of the query quoted in an error. Elasticsearch quotes it whole, but a 100 MB query of control
    /// characters would then be an error answer six times larger (each written <c>\u0000</c>).
    /// </summary>
    private const int MaxQuotedChars = 1024;

    private ElasticsearchException Error(string what)
    {
        string quoted = _text.Length <= MaxQuotedChars ? _text : string.Concat(_text.AsSpan(0, MaxQuotedChars), "…");
        return new(400, "query_shard_exception", $"Failed to parse query [{quoted}]: {what} at position {_pos.ToString(CultureInfo.InvariantCulture)}");
    }

    // Lucene's occurrence rules: clauses joined by OR (or by the default OR) are optional, a negated clause
    // ("-x", "NOT x") is a must_not of the group, so "a b -c" means (a OR b) AND NOT c.
    private LogQuery ParseOr()
    {
        var should = new List<LogQuery>();
        var mustNot = new List<LogQuery>();
        void Add(LogQuery clause)
        {
            if (clause is BoolQuery { Must.Count: 0, Filter.Count: 0, Should.Count: 0, MustNot.Count: 1 } negation)
            {
                mustNot.Add(negation.MustNot[0]);
            }
            else
            {
                should.Add(clause);
            }
        }

        // Clauses the default AND joins to should[^1], gathered and joined once (joining one by one copied the list
        // each time: quadratic in the number of terms).
        List<LogQuery>? folded = null;
        void Flush()
        {
            if (folded is not null)
            {
                should[^1] = And(should[^1], folded);
                folded = null;
            }
        }

        Add(ParseAnd());
        while (true)
        {
            SkipSpace();
            if (AtEnd || Peek(')'))
            {
                break;
            }

            if (Keyword("OR") || Symbol("||"))
            {
                Flush();
                Add(ParseAnd());
            }
            else if (_defaultAnd && should.Count > 0)
            {
                // Implicit AND: fold into the last clause.
                (folded ??= []).Add(ParseAnd());
            }
            else
            {
                Add(ParseAnd());
            }
        }

        Flush();
        return should.Count == 1 && mustNot.Count == 0 ? should[0] : new BoolQuery([], [], should, mustNot, null);
    }

    private LogQuery ParseAnd()
    {
        LogQuery left = ParseNot();
        List<LogQuery>? right = null;
        while (true)
        {
            SkipSpace();
            if (Keyword("AND") || Symbol("&&"))
            {
                (right ??= []).Add(ParseNot());
            }
            else
            {
                return right is null ? left : And(left, right);
            }
        }
    }

    private static BoolQuery And(LogQuery left, List<LogQuery> right) =>
        left is BoolQuery { Should.Count: 0, Filter.Count: 0, MinimumShouldMatch: null } b
            ? b with { Must = [.. b.Must, .. right] }
            : new BoolQuery([left, .. right], [], [], [], null);

    private LogQuery ParseNot()
    {
        SkipSpace();
        if (Keyword("NOT") || Symbol("!") || Symbol("-"))
        {
            Enter();
            LogQuery negated = ParseNot();
            _depth--;
            return new BoolQuery([], [], [], [negated], null);
        }

        _ = Symbol("+");
        return ParsePrimary(null);
    }

    private LogQuery ParsePrimary(string? field)
    {
        SkipSpace();
        if (AtEnd)
        {
            throw Error("missing term");
        }

        if (Symbol("("))
        {
            Enter();
            LogQuery inner = field is null ? ParseOr() : ParseGroupForField(field);
            SkipSpace();
            if (!Symbol(")"))
            {
                throw Error("missing ')'");
            }

            _depth--;
            return inner;
        }

        if (Peek('"'))
        {
            return new PhraseQuery(field ?? _defaultField, ReadQuoted());
        }

        if (field is not null && (Peek('[') || Peek('{')))
        {
            return ReadRange(field);
        }

        if (field is not null && (Peek('>') || Peek('<')))
        {
            bool greater = _text[_pos++] == '>';
            bool equal = Symbol("=");
            object value = RangeValue(field, ReadWord());
            return greater
                ? new RangeQuery(field, equal ? null : value, equal ? value : null, null, null)
                : new RangeQuery(field, null, null, equal ? null : value, equal ? value : null);
        }

        int start = _pos;
        string word = ReadWord();
        if (word.Length == 0)
        {
            throw Error($"unexpected '{_text[_pos]}'");
        }

        if (field is null && _pos < _text.Length && _text[_pos] == ':' && _pos > start && _text[_pos - 1] != '\\')
        {
            _pos++;
            return ParsePrimary(word);
        }

        return field is null && word == "*" ? MatchAllQuery.Instance : Term(field ?? _defaultField, word);
    }

    // field:(a OR b) applies the field to every term inside; an empty group matches everything. Parsed in place with
    // the field as the default one: re-parsing the group's text at each level was quadratic (f:((((… at 100k levels: 40 s).
    private LogQuery ParseGroupForField(string field)
    {
        SkipSpace();
        if (Peek(')'))
        {
            return MatchAllQuery.Instance;
        }

        string outer = _defaultField;
        _defaultField = field;
        LogQuery inner = ParseOr();
        _defaultField = outer;
        return inner;
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Error($"query nested too deeply (more than {MaxDepth.ToString(CultureInfo.InvariantCulture)} levels of NOT and parentheses)");
        }
    }

    private static LogQuery Term(string field, string word)
    {
        if (word == "*")
        {
            return new ExistsQuery(field);
        }

        int star = word.IndexOf('*', StringComparison.Ordinal);
        if (star == word.Length - 1 && word.IndexOf('?', StringComparison.Ordinal) < 0)
        {
            return new PrefixQuery(field, word[..^1]);
        }

        return new MatchQuery(field, word, false);
    }

    private RangeQuery ReadRange(string field)
    {
        bool lowerInclusive = _text[_pos++] == '[';
        SkipSpace();
        string low = Peek('"') ? ReadQuoted() : ReadWord();
        SkipSpace();
        if (!Keyword("TO"))
        {
            throw Error("expected TO in range");
        }

        SkipSpace();
        string high = Peek('"') ? ReadQuoted() : ReadWord(']', '}');
        SkipSpace();
        if (AtEnd || (_text[_pos] != ']' && _text[_pos] != '}'))
        {
            throw Error("missing ']' or '}'");
        }

        bool upperInclusive = _text[_pos++] == ']';
        object? lo = low == "*" ? null : RangeValue(field, low);
        object? hi = high == "*" ? null : RangeValue(field, high);
        return new RangeQuery(field, lowerInclusive ? null : lo, lowerInclusive ? lo : null, upperInclusive ? null : hi, upperInclusive ? hi : null);
    }

    private object RangeValue(string field, string text) => QueryDslParser.RangeBound(field, text, null)
        ?? throw Error($"bad range value '{text}'");

    private string ReadQuoted()
    {
        _pos++;
        var value = new StringBuilder();
        while (_pos < _text.Length && _text[_pos] != '"')
        {
            if (_text[_pos] == '\\' && _pos + 1 < _text.Length)
            {
                _pos++;
            }

            value.Append(_text[_pos++]);
        }

        if (AtEnd)
        {
            throw Error("unterminated quote");
        }

        _pos++;
        return value.ToString();
    }

    private string ReadWord(params char[] extraStops)
    {
        var value = new StringBuilder();
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c == '\\' && _pos + 1 < _text.Length)
            {
                value.Append(_text[_pos + 1]);
                _pos += 2;
                continue;
            }

            if (char.IsWhiteSpace(c) || c is '(' or ')' or ':' or '"' || Array.IndexOf(extraStops, c) >= 0)
            {
                break;
            }

            value.Append(c);
            _pos++;
        }

        return value.ToString();
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private bool Peek(char c) => _pos < _text.Length && _text[_pos] == c;

    private bool Symbol(string symbol)
    {
        if (string.CompareOrdinal(_text, _pos, symbol, 0, symbol.Length) == 0)
        {
            _pos += symbol.Length;
            return true;
        }

        return false;
    }

    // An operator word: upper case (Lucene's operators are case-sensitive) and followed by a separator.
    private bool Keyword(string word)
    {
        int end = _pos + word.Length;
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) == 0
            && (end == _text.Length || char.IsWhiteSpace(_text[end]) || _text[end] == '(' || _text[end] == '"'))
        {
            _pos = end;
            return true;
        }

        return false;
    }
}
