using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// Pratt parser for the PromQL subset (see <see cref="PromEngine"/> for what is evaluated). Precedence follows
/// Prometheus's grammar (promql/parser/generated_parser.y): <c>or</c> &lt; <c>and unless</c> &lt; comparisons &lt;
/// <c>+ -</c> &lt; <c>* / %</c> &lt; unary &lt; <c>^</c> (right-associative); type checks happen while parsing, as
/// Prometheus does, so a bad query is a 400 before any data is read.
/// </summary>
public sealed class PromParser
{
    /// <summary>
    /// Deepest expression accepted: nesting of parentheses, unary signs, function calls and aggregations, and the
    /// length of a binary operator chain (<c>a + b + c</c> is a tree as deep as it has operators). The parser and the
    /// evaluator recurse once per level on a thread-pool thread (1.5 MiB of stack): without a bound,
    /// <c>query=</c> followed by 10,000 <c>-</c> overflowed the stack and ended the process. Prometheus has no explicit
    /// limit (Go stacks grow to 1 GiB); dashboards and rules stay far below this one.
    /// </summary>
    public const int MaxDepth = 256;

    private const int PrecPow = 6;

    /// <summary>The aggregation keywords; case-insensitive, as all PromQL keywords are (lex.go's key map).</summary>
    private static readonly Dictionary<string, AggregateOp> Aggregations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sum"] = AggregateOp.Sum,
        ["avg"] = AggregateOp.Avg,
        ["min"] = AggregateOp.Min,
        ["max"] = AggregateOp.Max,
        ["count"] = AggregateOp.Count,
        ["group"] = AggregateOp.Group,
        ["stddev"] = AggregateOp.Stddev,
        ["stdvar"] = AggregateOp.Stdvar,
        ["topk"] = AggregateOp.Topk,
        ["bottomk"] = AggregateOp.Bottomk,
        ["quantile"] = AggregateOp.Quantile,
        ["count_values"] = AggregateOp.CountValues,
    };

    private readonly string _query;
    private readonly List<Token> _tokens;
    private int _pos;

    /// <summary>Nested <see cref="ParseExpr"/> calls in progress, bounded by <see cref="MaxDepth"/>.</summary>
    private int _depth;

    private PromParser(string query)
    {
        _query = query;
        _tokens = PromLexer.Tokenize(query);
    }

    /// <summary>Parses <paramref name="query"/>.</summary>
    /// <exception cref="PromQueryException">Syntax or type error (bad_data), with the position in the message.</exception>
    public static PromExpr Parse(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parser = new PromParser(query);
        if (parser.Peek.Kind == TokenKind.Eof)
        {
            throw PromQueryException.Parse(query, 0, "no expression found in input");
        }

        var expr = parser.ParseExpr(0);
        if (parser.Peek.Kind != TokenKind.Eof)
        {
            throw parser.Error(parser.Peek, "unexpected " + Describe(parser.Peek));
        }

        return expr;
    }

    private Token Peek => _tokens[_pos];

    private Token PeekAt(int ahead) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[_pos++ < _tokens.Count - 1 ? _pos - 1 : _tokens.Count - 1];

    private PromQueryException Error(Token at, string message) => PromQueryException.Parse(_query, at.Position, message);

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "end of input",
        TokenKind.Identifier => "identifier \"" + t.Text + "\"",
        TokenKind.String => "string \"" + t.Text + "\"",
        TokenKind.Number => "number \"" + t.Text + "\"",
        TokenKind.Duration => "duration \"" + t.Text + "\"",
        _ => "\"" + t.Text + "\"",
    };

    private Token Expect(TokenKind kind, string context)
    {
        var t = Peek;
        if (t.Kind != kind)
        {
            throw Error(t, "unexpected " + Describe(t) + " in " + context);
        }

        return Next();
    }

    /// <summary>
    /// True when <paramref name="t"/> is the keyword <paramref name="keyword"/>: keywords are case-insensitive (Prometheus's lexer
    /// looks them up lower-cased).
    /// </summary>
    private static bool Is(Token t, string keyword) => t.Kind == TokenKind.Identifier && t.Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);

    private static int Precedence(Token t) => t.Kind switch
    {
        TokenKind.Add or TokenKind.Sub => 4,
        TokenKind.Mul or TokenKind.Div or TokenKind.Mod => 5,
        TokenKind.Pow => PrecPow,
        TokenKind.EqlEql or TokenKind.Neq or TokenKind.Lss or TokenKind.Gtr or TokenKind.Lte or TokenKind.Gte => 3,
        TokenKind.Identifier when Is(t, "atan2") => 5,
        TokenKind.Identifier when Is(t, "and") || Is(t, "unless") => 2,
        TokenKind.Identifier when Is(t, "or") => 1,
        _ => -1,
    };

    /// <summary>Refuses a node deeper than <see cref="MaxDepth"/> (see <see cref="PromExpr.Height"/>).</summary>
    private T Bounded<T>(T node)
        where T : PromExpr
    {
        if (node.Height > MaxDepth)
        {
            throw TooDeep(node.Position);
        }

        return node;
    }

    private PromQueryException TooDeep(int position) =>
        PromQueryException.Parse(_query, position, "expression nested too deeply (more than " + Count(MaxDepth) + " levels of parentheses, signs, calls or binary operators)");

    private PromExpr ParseExpr(int minPrec)
    {
        if (_depth >= MaxDepth)
        {
            throw TooDeep(Peek.Position);
        }

        _depth++;
        try
        {
            return ParseExprUnbounded(minPrec);
        }
        finally
        {
            _depth--;
        }
    }

    private PromExpr ParseExprUnbounded(int minPrec)
    {
        var lhs = ParseUnary();
        while (true)
        {
            var op = Peek;
            var prec = Precedence(op);
            if (prec < 0 || prec < minPrec)
            {
                return lhs;
            }

            Next();
            var kind = op.Kind;
            if (kind == TokenKind.Identifier)
            {
                kind = op.Text.ToLowerInvariant() switch
                {
                    "atan2" => TokenKind.Atan2,
                    "and" => TokenKind.And,
                    "or" => TokenKind.Or,
                    _ => TokenKind.Unless,
                };
            }

            var returnBool = false;
            if (Is(Peek, "bool"))
            {
                if (prec != 3)
                {
                    throw Error(op, "bool modifier can only be used on comparison operators");
                }

                Next();
                returnBool = true;
            }

            IReadOnlyList<string>? matching = null;
            IReadOnlyList<string> include = [];
            var on = false;
            var card = kind is TokenKind.And or TokenKind.Or or TokenKind.Unless ? MatchCardinality.ManyToMany : MatchCardinality.OneToOne;
            if (Is(Peek, "on") || Is(Peek, "ignoring"))
            {
                on = Is(Next(), "on");
                matching = ParseLabelList();
                if (Is(Peek, "group_left") || Is(Peek, "group_right"))
                {
                    var group = Next();
                    if (card == MatchCardinality.ManyToMany)
                    {
                        throw PromQueryException.Parse(_query, lhs.Position, "no grouping allowed for \"" + op.Text + "\" operation");
                    }

                    card = Is(group, "group_left") ? MatchCardinality.ManyToOne : MatchCardinality.OneToMany;
                    if (Peek.Kind == TokenKind.LeftParen)
                    {
                        include = ParseLabelList();
                    }

                    if (on)
                    {
                        // A set, not List.Contains: on(…) and group_left(…) of 100k labels each would be quadratic.
                        var onLabels = new HashSet<string>(matching, StringComparer.Ordinal);
                        foreach (var l in include)
                        {
                            if (onLabels.Contains(l))
                            {
                                throw Error(op, "label \"" + l + "\" must not occur in ON and GROUP clause at once");
                            }
                        }
                    }
                }
            }

            var rhs = ParseExpr(op.Kind == TokenKind.Pow ? prec : prec + 1);
            var binary = Bounded(new Binary(lhs.Position, kind, lhs, rhs) { ReturnBool = returnBool, MatchingLabels = matching, On = on, Card = card, Include = include });
            CheckBinary(binary, op);
            lhs = binary;
        }
    }

    private void CheckBinary(Binary b, Token op)
    {
        foreach (var side in new[] { b.Lhs, b.Rhs })
        {
            if (side.Type is not (PromType.Scalar or PromType.Vector))
            {
                throw PromQueryException.Parse(_query, b.Position, "binary expression must contain only scalar and instant vector types");
            }
        }

        if (b.IsComparison && !b.ReturnBool && b.Lhs.Type == PromType.Scalar && b.Rhs.Type == PromType.Scalar)
        {
            throw Error(op, "comparisons between scalars must use BOOL modifier");
        }

        if (b.IsSetOperator && (b.Lhs.Type == PromType.Scalar || b.Rhs.Type == PromType.Scalar))
        {
            throw PromQueryException.Parse(_query, b.Position, "set operator \"" + op.Text + "\" not allowed in binary scalar expression");
        }

        if ((b.MatchingLabels is not null || b.Card != MatchCardinality.OneToOne) && !b.IsSetOperator && (b.Lhs.Type == PromType.Scalar || b.Rhs.Type == PromType.Scalar))
        {
            throw PromQueryException.Parse(_query, b.Position, "vector matching only allowed between instant vectors");
        }
    }

    private PromExpr ParseUnary()
    {
        var t = Peek;
        if (t.Kind is TokenKind.Add or TokenKind.Sub)
        {
            Next();
            var operand = ParseExpr(PrecPow);
            if (operand.Type is not (PromType.Scalar or PromType.Vector))
            {
                throw Error(t, "unary expression only allowed on expressions of type scalar or instant vector, got \"" + TypeName(operand.Type) + "\"");
            }

            if (t.Kind == TokenKind.Add)
            {
                return operand;
            }

            return operand is NumberLiteral n ? new NumberLiteral(t.Position, -n.Value) : Bounded(new Unary(t.Position, operand));
        }

        return ParsePostfix(ParsePrimary());
    }

    /// <summary>
    /// A range <c>[r]</c> (vector selectors only) or subquery <c>[r:step]</c> (any instant vector), then the
    /// <c>offset</c> and <c>@</c> modifiers in either order, each at most once, on a selector or subquery.
    /// </summary>
    private PromExpr ParsePostfix(PromExpr expr)
    {
        var offsetSeen = false;
        var atSeen = false;
        while (true)
        {
            if (Peek.Kind == TokenKind.LeftBracket)
            {
                expr = ParseBrackets(expr, offsetSeen || atSeen);
                offsetSeen = atSeen = false;
            }
            else if (Is(Peek, "offset"))
            {
                var kw = Next();
                var negative = false;
                if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
                {
                    negative = Next().Kind == TokenKind.Sub;
                }

                var d = Expect(TokenKind.Duration, "offset");
                if (offsetSeen)
                {
                    throw Error(kw, "offset may not be set multiple times");
                }

                offsetSeen = true;
                SetModifier(expr, kw, negative ? -d.DurationMs : d.DurationMs, null);
            }
            else if (Peek.Kind == TokenKind.At)
            {
                var at = Next();
                var value = ParseAtValue();
                if (atSeen)
                {
                    throw Error(at, "@ <timestamp> may not be set multiple times");
                }

                atSeen = true;
                SetModifier(expr, at, null, value);
            }
            else
            {
                return expr;
            }
        }
    }

    /// <summary>A range <c>[r]</c> after a vector selector without modifiers, or a subquery <c>[r:step]</c> after any instant vector.</summary>
    private PromExpr ParseBrackets(PromExpr expr, bool modified)
    {
        var open = Next();
        var range = Expect(TokenKind.Duration, "range selector");
        if (Peek.Kind == TokenKind.Colon)
        {
            Next();
            var step = Peek.Kind == TokenKind.Duration ? Next() : default;
            Expect(TokenKind.RightBracket, "subquery selector");
            if (expr.Type != PromType.Vector)
            {
                throw Error(open, "subquery is only allowed on instant vector, got " + TypeName(expr.Type) + " instead");
            }

            if (range.DurationMs <= 0)
            {
                throw Error(range, "range must be positive");
            }

            if (step.Kind == TokenKind.Duration && step.DurationMs <= 0)
            {
                throw Error(step, "step must be positive");
            }

            return Bounded(new Subquery(expr.Position, expr, range.DurationMs, step.Kind == TokenKind.Duration ? step.DurationMs : 0));
        }

        if (expr is not VectorSelector vs)
        {
            throw Error(open, "ranges only allowed for vector selectors");
        }

        if (modified)
        {
            throw Error(open, "no offset or @ modifiers allowed before range");
        }

        Expect(TokenKind.RightBracket, "range selector");
        if (range.DurationMs <= 0)
        {
            throw Error(range, "range must be positive");
        }

        return new MatrixSelector(expr.Position, vs, range.DurationMs);
    }

    /// <summary>
    /// Sets an <c>offset</c> (<paramref name="offsetMs"/>) or <c>@</c> (<paramref name="at"/>) modifier, one of the two,
    /// on what Prometheus lets it follow: a vector selector, a range vector (on its selector) or a subquery.
    /// </summary>
    private void SetModifier(PromExpr expr, Token token, long? offsetMs, PromAt? at)
    {
        switch (expr is MatrixSelector range ? range.Selector : expr)
        {
            case VectorSelector v:
                v.OffsetMs = offsetMs ?? v.OffsetMs;
                v.At = at ?? v.At;
                break;
            case Subquery q:
                q.OffsetMs = offsetMs ?? q.OffsetMs;
                q.At = at ?? q.At;
                break;
            default:
                throw Error(token, (at is null ? "offset" : "@") + " modifier must be preceded by an instant vector selector or range vector selector or a subquery");
        }
    }

    /// <summary>
    /// The argument of <c>@</c>: a Unix time in seconds (millisecond precision, rounded as Prometheus's
    /// timestamp.FromFloatSeconds), or <c>start()</c> / <c>end()</c>, the range query's bounds.
    /// </summary>
    private PromAt ParseAtValue()
    {
        var t = Peek;
        if (Is(t, "start") || Is(t, "end"))
        {
            Next();
            Expect(TokenKind.LeftParen, "@ modifier");
            Expect(TokenKind.RightParen, "@ modifier");
            return new PromAt(Is(t, "start") ? PromAtKind.Start : PromAtKind.End, 0);
        }

        var sign = 1.0;
        if (t.Kind is TokenKind.Sub or TokenKind.Add)
        {
            sign = Next().Kind == TokenKind.Sub ? -1 : 1;
        }

        var number = Peek;
        double value;
        if (number.Kind == TokenKind.Number)
        {
            value = number.Number;
        }
        else if (Is(number, "inf") || Is(number, "nan"))
        {
            value = Is(number, "nan") ? double.NaN : double.PositiveInfinity;
        }
        else
        {
            throw Error(number, "unexpected " + Describe(number) + " in @, expected timestamp");
        }

        Next();
        var seconds = sign * value;
        var ms = Math.Round(seconds * 1000);
        if (!double.IsFinite(seconds) || ms >= 9.2233720368547758E+18 || ms <= -9.2233720368547758E+18)
        {
            throw Error(number, "timestamp out of bounds for @ modifier: " + PromFormat.FormatFloat(seconds));
        }

        return new PromAt(PromAtKind.Time, (long)ms);
    }

    private PromExpr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Next();
                return new NumberLiteral(t.Position, t.Number);
            case TokenKind.String:
                Next();
                return new StringLiteral(t.Position, t.Text);
            case TokenKind.LeftParen:
                Next();
                var inner = ParseExpr(0);
                Expect(TokenKind.RightParen, "parenthesized expression");
                return Bounded(new Paren(t.Position, inner));
            case TokenKind.LeftBrace:
                return ParseSelector(null, t.Position);
            case TokenKind.Identifier:
                return ParseIdentifier();
            case TokenKind.Eof:
                throw Error(t, "unexpected end of input");
            default:
                throw Error(t, "unexpected " + Describe(t));
        }
    }

    private PromExpr ParseIdentifier()
    {
        var t = Next();
        var name = t.Text;
        var lower = name.ToUpperInvariant();
        if (lower is "INF" or "NAN")
        {
            return new NumberLiteral(t.Position, lower == "NAN" ? double.NaN : double.PositiveInfinity);
        }

        var followedByCall = Peek.Kind == TokenKind.LeftParen || Is(Peek, "by") || Is(Peek, "without");
        if (Aggregations.TryGetValue(name, out var aggregateOp) && followedByCall)
        {
            return ParseAggregation(t, aggregateOp);
        }

        if (Peek.Kind == TokenKind.LeftParen)
        {
            return ParseCall(t);
        }

        if (name.ToLowerInvariant() is "by" or "without" or "bool" or "on" or "ignoring" or "offset" or "group_left" or "group_right" or "and" or "or" or "unless" or "atan2")
        {
            throw Error(t, "unexpected " + Describe(t));
        }

        return ParseSelector(name, t.Position);
    }

    private Aggregate ParseAggregation(Token op, AggregateOp kind)
    {
        IReadOnlyList<string>? grouping = null;
        var without = false;
        if (Peek.Kind == TokenKind.Identifier)
        {
            without = Is(Next(), "without");
            grouping = ParseLabelList();
        }

        Expect(TokenKind.LeftParen, "aggregation");
        if (Peek.Kind == TokenKind.RightParen)
        {
            throw Error(Peek, "no arguments for aggregate expression provided");
        }

        var args = new List<PromExpr> { ParseExpr(0) };
        while (Peek.Kind == TokenKind.Comma)
        {
            Next();
            args.Add(ParseExpr(0));
        }

        var withParam = kind is AggregateOp.Topk or AggregateOp.Bottomk or AggregateOp.Quantile or AggregateOp.CountValues;
        if (args.Count != (withParam ? 2 : 1))
        {
            throw Error(op, "wrong number of arguments for aggregate expression provided, expected " + (withParam ? "2" : "1") + ", got " + args.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var param = withParam ? args[0] : null;
        var expr = args[^1];
        Expect(TokenKind.RightParen, "aggregation");
        if (Is(Peek, "by") || Is(Peek, "without"))
        {
            if (grouping is not null)
            {
                throw Error(Peek, "aggregation must only contain one grouping clause");
            }

            without = Is(Next(), "without");
            grouping = ParseLabelList();
        }

        if (expr.Type != PromType.Vector)
        {
            throw Error(op, "expected type instant vector in aggregation expression, got " + TypeName(expr.Type));
        }

        if (param is not null)
        {
            var expected = kind == AggregateOp.CountValues ? PromType.String : PromType.Scalar;
            if (param.Type != expected)
            {
                throw PromQueryException.Parse(_query, param.Position, "expected type " + TypeName(expected) + " in aggregation parameter, got " + TypeName(param.Type));
            }
        }

        return Bounded(new Aggregate(op.Position, kind, expr, grouping ?? [], without, param));
    }

    private Call ParseCall(Token name)
    {
        if (!PromFunctions.TryGet(name.Text, out var function))
        {
            throw Error(name, "unknown function with name \"" + name.Text + "\"");
        }

        Expect(TokenKind.LeftParen, "function call");
        var args = new List<PromExpr>();
        if (Peek.Kind != TokenKind.RightParen)
        {
            args.Add(ParseExpr(0));
            while (Peek.Kind == TokenKind.Comma)
            {
                Next();
                args.Add(ParseExpr(0));
            }
        }

        Expect(TokenKind.RightParen, "function call");
        var declared = function.ArgTypes.Length;
        if (function.Variadic == 0 && args.Count != declared)
        {
            throw Error(name, "expected " + Count(declared) + " argument(s) in call to \"" + name.Text + "\", got " + Count(args.Count));
        }

        if (function.Variadic != 0 && args.Count < declared - 1)
        {
            throw Error(name, "expected at least " + Count(declared - 1) + " argument(s) in call to \"" + name.Text + "\", got " + Count(args.Count));
        }

        if (function.Variadic > 0 && args.Count > declared - 1 + function.Variadic)
        {
            throw Error(name, "expected at most " + Count(declared - 1 + function.Variadic) + " argument(s) in call to \"" + name.Text + "\", got " + Count(args.Count));
        }

        for (var i = 0; i < args.Count; i++)
        {
            var expected = function.ArgTypes[Math.Min(i, declared - 1)];
            if (args[i].Type != expected)
            {
                throw PromQueryException.Parse(_query, args[i].Position, "expected type " + TypeName(expected) + " in call to function \"" + name.Text + "\", got " + TypeName(args[i].Type));
            }
        }

        return Bounded(new Call(name.Position, name.Text, args, function.ReturnType));
    }

    private static string Count(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private List<string> ParseLabelList()
    {
        Expect(TokenKind.LeftParen, "grouping opts");
        var labels = new List<string>();
        while (Peek.Kind != TokenKind.RightParen)
        {
            var l = Peek;
            if (l.Kind != TokenKind.Identifier || l.Text.Contains(':', StringComparison.Ordinal))
            {
                throw Error(l, "unexpected " + Describe(l) + " in grouping opts, expected label");
            }

            Next();
            labels.Add(l.Text);
            if (Peek.Kind == TokenKind.Comma)
            {
                Next();
            }
            else if (Peek.Kind != TokenKind.RightParen)
            {
                throw Error(Peek, "unexpected " + Describe(Peek) + " in grouping opts, expected \",\" or \")\"");
            }
        }

        Next();
        return labels;
    }

    private VectorSelector ParseSelector(string? name, int position)
    {
        var matchers = new List<LabelMatcher>();
        if (name is not null)
        {
            matchers.Add(new LabelMatcher(LabelMatchType.Equal, Label.MetricNameLabel, name));
        }

        if (Peek.Kind == TokenKind.LeftBrace)
        {
            Next();
            while (Peek.Kind != TokenKind.RightBrace)
            {
                var label = Peek;
                if (label.Kind != TokenKind.Identifier || label.Text.Contains(':', StringComparison.Ordinal))
                {
                    throw Error(label, "unexpected " + Describe(label) + " in label matching, expected label");
                }

                Next();
                var op = Next();
                var type = op.Kind switch
                {
                    TokenKind.Assign => LabelMatchType.Equal,
                    TokenKind.Neq => LabelMatchType.NotEqual,
                    TokenKind.RegexEq => LabelMatchType.RegexMatch,
                    TokenKind.RegexNeq => LabelMatchType.RegexNoMatch,
                    _ => throw Error(op, "unexpected " + Describe(op) + " in label matching, expected one of \"=\", \"!=\", \"=~\", \"!~\""),
                };
                var value = Peek;
                if (value.Kind != TokenKind.String)
                {
                    throw Error(value, "unexpected " + Describe(value) + " in label matching, expected string");
                }

                Next();
                if (name is not null && label.Text == Label.MetricNameLabel)
                {
                    throw Error(label, "metric name must not be set twice: \"" + name + "\" or \"" + value.Text + "\"");
                }

                try
                {
                    matchers.Add(new LabelMatcher(type, label.Text, value.Text));
                }
                catch (ArgumentException ex)
                {
                    throw Error(value, "invalid regular expression \"" + value.Text + "\": " + ex.Message);
                }

                if (Peek.Kind == TokenKind.Comma)
                {
                    Next();
                }
                else if (Peek.Kind != TokenKind.RightBrace)
                {
                    throw Error(Peek, "unexpected " + Describe(Peek) + " in label matching, expected \",\" or \"}\"");
                }
            }

            Next();
        }

        var nonEmpty = false;
        foreach (var m in matchers)
        {
            if (!m.Matches(string.Empty))
            {
                nonEmpty = true;
                break;
            }
        }

        if (!nonEmpty)
        {
            throw PromQueryException.Parse(_query, position, "vector selector must contain at least one non-empty matcher");
        }

        return new VectorSelector(position, name, matchers);
    }

    internal static string TypeName(PromType type) => type switch
    {
        PromType.Scalar => "scalar",
        PromType.String => "string",
        PromType.Vector => "instant vector",
        _ => "range vector",
    };
}
