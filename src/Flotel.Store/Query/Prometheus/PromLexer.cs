using System.Globalization;
using System.Text;

namespace Flotel.Store.Query.Prometheus;

internal enum TokenKind
{
    Eof,
    Number,
    Duration,
    String,
    Identifier,
    LeftBrace,
    RightBrace,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Assign,
    EqlEql,
    Neq,
    RegexEq,
    RegexNeq,
    Lss,
    Gtr,
    Lte,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Colon,
    At,

    // The set operators: lexed as identifiers (they are valid label names), turned into these by the parser.
    And,
    Or,
    Unless,

    // atan2, a keyword operator lexed as an identifier like the set operators.
    Atan2,
}

/// <summary>One lexeme: kind, start offset in the query, text (string tokens: the unescaped value), number or duration (ms).</summary>
internal readonly record struct Token(TokenKind Kind, int Position, string Text, double Number = 0, long DurationMs = 0);

/// <summary>
/// PromQL lexer (the subset of prometheus/promql/parser/lex.go this engine understands): numbers (decimal, hex,
/// exponent), durations (<c>1h30m</c>, units ms s m h d w y), strings in <c>"</c>, <c>'</c> or backticks (Go escapes in
/// the first two, raw in the last), identifiers (metric names may hold <c>:</c>), operators and punctuation.
/// </summary>
internal static class PromLexer
{
    /// <summary>
    /// Longest duration, as Prometheus's (a Go <c>time.Duration</c>: 2^63 ns, about 292 years). Longer ones are an error
    /// there and here; unbounded, <c>up[99999999999999999999s]</c> overflowed and answered a 500.
    /// </summary>
    public const long MaxDurationMs = long.MaxValue / 1_000_000;

    public static List<Token> Tokenize(string query)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < query.Length && char.IsWhiteSpace(query[i]))
            {
                i++;
            }

            if (i < query.Length && query[i] == '#')
            {
                while (i < query.Length && query[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (i >= query.Length)
            {
                tokens.Add(new Token(TokenKind.Eof, i, string.Empty));
                return tokens;
            }

            var start = i;
            var c = query[i];
            var next = i + 1 < query.Length ? query[i + 1] : '\0';
            switch (c)
            {
                case '{': tokens.Add(new Token(TokenKind.LeftBrace, start, "{")); i++; continue;
                case '}': tokens.Add(new Token(TokenKind.RightBrace, start, "}")); i++; continue;
                case '(': tokens.Add(new Token(TokenKind.LeftParen, start, "(")); i++; continue;
                case ')': tokens.Add(new Token(TokenKind.RightParen, start, ")")); i++; continue;
                case '[': tokens.Add(new Token(TokenKind.LeftBracket, start, "[")); i++; continue;
                case ']': tokens.Add(new Token(TokenKind.RightBracket, start, "]")); i++; continue;
                case ',': tokens.Add(new Token(TokenKind.Comma, start, ",")); i++; continue;
                case ':': tokens.Add(new Token(TokenKind.Colon, start, ":")); i++; continue;
                case '@': tokens.Add(new Token(TokenKind.At, start, "@")); i++; continue;
                case '+': tokens.Add(new Token(TokenKind.Add, start, "+")); i++; continue;
                case '-': tokens.Add(new Token(TokenKind.Sub, start, "-")); i++; continue;
                case '*': tokens.Add(new Token(TokenKind.Mul, start, "*")); i++; continue;
                case '/': tokens.Add(new Token(TokenKind.Div, start, "/")); i++; continue;
                case '%': tokens.Add(new Token(TokenKind.Mod, start, "%")); i++; continue;
                case '^': tokens.Add(new Token(TokenKind.Pow, start, "^")); i++; continue;
                case '=':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.EqlEql, start, "==")); i += 2;
                    }
                    else if (next == '~')
                    {
                        tokens.Add(new Token(TokenKind.RegexEq, start, "=~")); i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Assign, start, "=")); i++;
                    }

                    continue;
                case '!':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Neq, start, "!=")); i += 2;
                    }
                    else if (next == '~')
                    {
                        tokens.Add(new Token(TokenKind.RegexNeq, start, "!~")); i += 2;
                    }
                    else
                    {
                        throw PromQueryException.Parse(query, start, "unexpected character after '!': '" + next + "'");
                    }

                    continue;
                case '<':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Lte, start, "<=")); i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Lss, start, "<")); i++;
                    }

                    continue;
                case '>':
                    if (next == '=')
                    {
                        tokens.Add(new Token(TokenKind.Gte, start, ">=")); i += 2;
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Gtr, start, ">")); i++;
                    }

                    continue;
                case '"' or '\'' or '`':
                    tokens.Add(new Token(TokenKind.String, start, ReadString(query, ref i)));
                    continue;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(next)))
            {
                tokens.Add(ReadNumberOrDuration(query, ref i));
                continue;
            }

            if (char.IsAsciiLetter(c) || c == '_')
            {
                while (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '_' || query[i] == ':'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, start, query[start..i]));
                continue;
            }

            throw PromQueryException.Parse(query, start, "unexpected character: '" + c + "'");
        }
    }

    private static string ReadString(string query, ref int i)
    {
        var start = i;
        var quote = query[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= query.Length)
            {
                throw PromQueryException.Parse(query, start, "unterminated quoted string");
            }

            var c = query[i++];
            if (c == quote)
            {
                return sb.ToString();
            }

            if (quote != '`' && c == '\n')
            {
                throw PromQueryException.Parse(query, start, "unterminated quoted string");
            }

            if (c != '\\' || quote == '`')
            {
                sb.Append(c);
                continue;
            }

            if (i >= query.Length)
            {
                throw PromQueryException.Parse(query, start, "unterminated quoted string");
            }

            var e = query[i++];
            switch (e)
            {
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '"' or '\'': sb.Append(e); break;
                case 'x':
                    sb.Append((char)ReadHex(query, ref i, 2, start));
                    break;
                case 'u':
                    sb.Append(CodePoint(query, ReadHex(query, ref i, 4, start), start));
                    break;
                case 'U':
                    sb.Append(CodePoint(query, ReadHex(query, ref i, 8, start), start));
                    break;
                default:
                    throw PromQueryException.Parse(query, i - 2, "unknown escape sequence '\\" + e + "'");
            }
        }
    }

    /// <summary>A <c>\u</c>/<c>\U</c> escape's character; a surrogate half or a value past U+10FFFF is a parse error, as in Go.</summary>
    private static string CodePoint(string query, int value, int start)
    {
        if (value is < 0 or > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        {
            throw PromQueryException.Parse(query, start, "invalid Unicode code point in escape sequence");
        }

        return char.ConvertFromUtf32(value);
    }

    private static int ReadHex(string query, ref int i, int digits, int start)
    {
        if (i + digits > query.Length || !int.TryParse(query.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
        {
            throw PromQueryException.Parse(query, start, "invalid escape sequence in string");
        }

        i += digits;
        return v;
    }

    private static Token ReadNumberOrDuration(string query, ref int i)
    {
        var start = i;
        if (query[i] == '0' && i + 1 < query.Length && (query[i + 1] is 'x' or 'X'))
        {
            i += 2;
            while (i < query.Length && char.IsAsciiHexDigit(query[i]))
            {
                i++;
            }

            var hex = query.AsSpan(start + 2, i - start - 2);
            if (hex.IsEmpty || !long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hv))
            {
                throw PromQueryException.Parse(query, start, "bad number: \"" + query[start..i] + "\"");
            }

            return new Token(TokenKind.Number, start, query[start..i], hv);
        }

        // A duration is digits followed by a unit, possibly repeated (1h30m).
        var j = i;
        while (j < query.Length && char.IsAsciiDigit(query[j]))
        {
            j++;
        }

        if (j > i && j < query.Length && IsUnitStart(query, j))
        {
            long total = 0;
            var k = i;
            var lastUnit = long.MaxValue;
            while (k < query.Length && char.IsAsciiDigit(query[k]))
            {
                var d = k;
                while (k < query.Length && char.IsAsciiDigit(query[k]))
                {
                    k++;
                }

                var parsed = long.TryParse(query.AsSpan(d, k - d), NumberStyles.None, CultureInfo.InvariantCulture, out var n);
                var unit = ReadUnit(query, ref k);
                if (unit == 0 || unit >= lastUnit)
                {
                    throw PromQueryException.Parse(query, start, "bad duration syntax: \"" + query[start..k] + "\"");
                }

                lastUnit = unit;
                if (!parsed || n > (MaxDurationMs - total) / unit)
                {
                    throw PromQueryException.Parse(query, start, "duration out of range: \"" + query[start..k] + "\"");
                }

                total += n * unit;
            }

            i = k;
            if (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '_'))
            {
                throw PromQueryException.Parse(query, start, "bad duration syntax: \"" + query[start..(i + 1)] + "\"");
            }

            return new Token(TokenKind.Duration, start, query[start..i], DurationMs: total);
        }

        while (i < query.Length && (char.IsAsciiDigit(query[i]) || query[i] == '.'))
        {
            i++;
        }

        if (i < query.Length && (query[i] is 'e' or 'E'))
        {
            var k = i + 1;
            if (k < query.Length && (query[k] is '+' or '-'))
            {
                k++;
            }

            if (k < query.Length && char.IsAsciiDigit(query[k]))
            {
                i = k;
                while (i < query.Length && char.IsAsciiDigit(query[i]))
                {
                    i++;
                }
            }
        }

        var text = query[start..i];
        // A literal past double's range is an error, as Go's ParseFloat makes it in Prometheus (.NET gives ±Inf).
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsInfinity(value)
            || (i < query.Length && (char.IsAsciiLetter(query[i]) || query[i] == '_')))
        {
            throw PromQueryException.Parse(query, start, "bad number or duration syntax: \"" + text + "\"");
        }

        return new Token(TokenKind.Number, start, text, value);
    }

    private static bool IsUnitStart(string query, int j) => query[j] is 's' or 'm' or 'h' or 'd' or 'w' or 'y';

    private static long ReadUnit(string query, ref int k)
    {
        if (k >= query.Length)
        {
            return 0;
        }

        switch (query[k])
        {
            case 'm' when k + 1 < query.Length && query[k + 1] == 's':
                k += 2;
                return 1;
            case 's': k++; return 1000;
            case 'm': k++; return 60_000;
            case 'h': k++; return 3_600_000;
            case 'd': k++; return 86_400_000;
            case 'w': k++; return 604_800_000;
            case 'y': k++; return 31_536_000_000;
            default: return 0;
        }
    }
}
