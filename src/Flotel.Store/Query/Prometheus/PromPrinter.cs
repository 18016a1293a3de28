using System.Globalization;
using System.Text;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// Writes a parsed expression back as PromQL text (<c>/api/v1/format_query</c>), in the spelling of Prometheus 2.x's
/// <c>String()</c> methods (promql/parser/printer.go): <c>sum by (job) (rate(x[5m]))</c>, matchers without spaces
/// (<c>x{a="b",c!~"d"}</c>), binary operators between single spaces (<c>x + on (a) group_left (b) y</c>), durations
/// as <c>1h30m</c>, numbers as Go's <c>'g'</c> format, strings as Go's <c>%q</c>. Checked against a running
/// Prometheus 2.42 (tests/Flotel.IntegrationTests/Prometheus/PromApiSurfaceTests.cs).
/// Invariant (tested over many expressions): parsing the text gives back the same tree. Parentheses are nodes of the
/// tree, so nothing is added or dropped: an expression is printed in the order its parser built it. Prometheus
/// additionally splits expressions longer than 100 characters over indented lines; this printer keeps one line.
/// Recursion is bounded by the parser's <see cref="PromParser.MaxDepth"/> (the tree is never deeper).
/// </summary>
public static class PromPrinter
{
    /// <summary>The expression as one line of PromQL.</summary>
    public static string Format(PromExpr expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var sb = new StringBuilder();
        Write(sb, expr);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, PromExpr expr)
    {
        switch (expr)
        {
            case NumberLiteral n:
                sb.Append(FormatNumber(n.Value));
                break;
            case StringLiteral s:
                AppendQuoted(sb, s.Value);
                break;
            case VectorSelector v:
                WriteSelector(sb, v);
                WriteOffset(sb, v.OffsetMs);
                break;
            case MatrixSelector m:
                WriteSelector(sb, m.Selector);
                sb.Append('[').Append(FormatDuration(m.RangeMs)).Append(']');
                WriteOffset(sb, m.Selector.OffsetMs);
                break;
            case Call c:
                sb.Append(c.Function).Append('(');
                for (var i = 0; i < c.Args.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Write(sb, c.Args[i]);
                }

                sb.Append(')');
                break;
            case Aggregate a:
                sb.Append(a.Op);
                if (a.Without || a.Grouping.Count > 0)
                {
                    sb.Append(a.Without ? " without (" : " by (");
                    AppendLabels(sb, a.Grouping);
                    sb.Append(") ");
                }

                sb.Append('(');
                if (a.Param is not null)
                {
                    Write(sb, a.Param);
                    sb.Append(", ");
                }

                Write(sb, a.Expr);
                sb.Append(')');
                break;
            case Unary u:
                sb.Append('-');
                Write(sb, u.Expr);
                break;
            case Paren p:
                sb.Append('(');
                Write(sb, p.Expr);
                sb.Append(')');
                break;
            case Binary b:
                WriteBinary(sb, b);
                break;
            default:
                throw new ArgumentException("unknown expression node " + expr.GetType().Name, nameof(expr));
        }
    }

    private static void WriteBinary(StringBuilder sb, Binary b)
    {
        Write(sb, b.Lhs);
        sb.Append(' ').Append(OperatorText(b.Op));
        if (b.ReturnBool)
        {
            sb.Append(" bool");
        }

        // ignoring() with no labels and no group modifier is the default matching; Prometheus prints nothing for it.
        var grouped = b.Card is MatchCardinality.ManyToOne or MatchCardinality.OneToMany;
        if (b.MatchingLabels is { } matching && (b.On || matching.Count > 0 || grouped))
        {
            sb.Append(b.On ? " on (" : " ignoring (");
            AppendLabels(sb, matching);
            sb.Append(')');
            if (grouped)
            {
                sb.Append(b.Card == MatchCardinality.ManyToOne ? " group_left (" : " group_right (");
                AppendLabels(sb, b.Include);
                sb.Append(')');
            }
        }

        sb.Append(' ');
        Write(sb, b.Rhs);
    }

    private static string OperatorText(TokenKind op) => op switch
    {
        TokenKind.Add => "+",
        TokenKind.Sub => "-",
        TokenKind.Mul => "*",
        TokenKind.Div => "/",
        TokenKind.Mod => "%",
        TokenKind.Pow => "^",
        TokenKind.EqlEql => "==",
        TokenKind.Neq => "!=",
        TokenKind.Lss => "<",
        TokenKind.Gtr => ">",
        TokenKind.Lte => "<=",
        TokenKind.Gte => ">=",
        TokenKind.And => "and",
        TokenKind.Or => "or",
        TokenKind.Unless => "unless",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "not a binary operator"),
    };

    private static void AppendLabels(StringBuilder sb, IReadOnlyList<string> labels)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(labels[i]);
        }
    }

    private static void WriteSelector(StringBuilder sb, VectorSelector v)
    {
        // The parser puts the name's own __name__="…" matcher first; it is the name, not one of the braces' matchers.
        var skip = v.Name is not null ? 1 : 0;
        if (v.Name is not null)
        {
            sb.Append(v.Name);
            if (v.Matchers.Count == 1)
            {
                return;
            }
        }

        sb.Append('{');
        for (var i = skip; i < v.Matchers.Count; i++)
        {
            if (i > skip)
            {
                sb.Append(',');
            }

            var m = v.Matchers[i];
            sb.Append(m.Name).Append(m.Type switch
            {
                LabelMatchType.Equal => "=",
                LabelMatchType.NotEqual => "!=",
                LabelMatchType.RegexMatch => "=~",
                _ => "!~",
            });
            AppendQuoted(sb, m.Value);
        }

        sb.Append('}');
    }

    private static void WriteOffset(StringBuilder sb, long offsetMs)
    {
        if (offsetMs > 0)
        {
            sb.Append(" offset ").Append(FormatDuration(offsetMs));
        }
        else if (offsetMs < 0)
        {
            sb.Append(" offset -").Append(FormatDuration(-offsetMs));
        }
    }

    /// <summary>
    /// Prometheus's model.Duration text: each non-zero unit from days down to milliseconds (<c>1h30m</c>), years and
    /// weeks only when they divide the whole duration (<c>90d</c>, not <c>12w6d</c>); 0 is <c>0s</c>.
    /// </summary>
    public static string FormatDuration(long ms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ms);
        if (ms == 0)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        ReadOnlySpan<(long Unit, string Name, bool Exact)> units =
        [
            (31_536_000_000, "y", true), (604_800_000, "w", true), (86_400_000, "d", false), (3_600_000, "h", false), (60_000, "m", false),
            (1000, "s", false), (1, "ms", false),
        ];
        foreach (var (unit, name, exact) in units)
        {
            if (exact && ms % unit != 0)
            {
                continue;
            }

            var n = ms / unit;
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(name);
                ms -= n * unit;
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Go's <c>strconv.FormatFloat(v, 'g', -1, 64)</c>, as Prometheus 2.42's printer writes numbers: the shortest
    /// digits that round-trip, in exponent form (<c>1e+06</c>, <c>1e-05</c>) when the decimal exponent is below -4 or
    /// at least 6 (Go's threshold for the shortest precision); <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.
    /// </summary>
    public static string FormatNumber(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        // "R" gives the shortest round-trip digits (as Go's -1 precision), sometimes in exponent form: take its digits
        // and decimal exponent, then lay them out as Go does.
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        var body = negative ? r[1..] : r;
        var e = body.IndexOf('E', StringComparison.Ordinal);
        var mantissa = e < 0 ? body : body[..e];
        var shift = e < 0 ? 0 : int.Parse(body.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot < 0 ? mantissa : mantissa[..dot];
        var fracPart = dot < 0 ? string.Empty : mantissa[(dot + 1)..];
        var all = (intPart + fracPart).TrimStart('0');
        if (all.Length == 0)
        {
            return negative ? "-0" : "0";
        }

        var leadingZeros = (intPart + fracPart).Length - all.Length;
        var exponent = intPart.Length - 1 - leadingZeros + shift;
        var digits = all.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        var sb = new StringBuilder();
        if (negative)
        {
            sb.Append('-');
        }

        if (exponent < -4 || exponent >= 6)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            sb.Append('e').Append(exponent < 0 ? '-' : '+');
            var abs = Math.Abs(exponent);
            sb.Append(abs < 10 ? "0" : string.Empty).Append(abs.ToString(CultureInfo.InvariantCulture));
        }
        else if (exponent < 0)
        {
            sb.Append("0.").Append('0', -exponent - 1).Append(digits);
        }
        else if (digits.Length <= exponent + 1)
        {
            sb.Append(digits).Append('0', exponent + 1 - digits.Length);
        }
        else
        {
            sb.Append(digits, 0, exponent + 1).Append('.').Append(digits, exponent + 1, digits.Length - exponent - 1);
        }

        return sb.ToString();
    }

    /// <summary>Go's <c>strconv.Quote</c>: double quotes; <c>\"</c>, <c>\\</c>, the C escapes, <c>\x</c>/<c>\u</c> for other control characters.</summary>
    public static void AppendQuoted(StringBuilder sb, string value)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(value);
        sb.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (c < 0x20 || c == 0x7F)
                    {
                        sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\ufeff')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
