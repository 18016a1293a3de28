using System.Text;
using System.Text.Json;

namespace Flotel.Store.Logs;

/// <summary>
/// Full-text conditions on <c>message</c> for both layouts of an index's FTS5 table (schema in <see cref="LogStore"/>):
/// with positions (<c>detail=full</c>, indices written before the compact layout) a phrase is an FTS5 phrase; without
/// (<c>detail=none</c>) FTS5 only knows which rows hold a token, so a phrase becomes "every token present" in FTS5 and
/// an exact check on the row's message (<c>flotel_phrase</c>) inside the same WHERE: counts, aggregations and sorting
/// see exactly the rows the phrase matches.
/// </summary>
/// <remarks>
/// A condition is a list of phrases, all or any of which must match; each phrase is the analyzed query tokens
/// (<see cref="LogAnalyzer"/>) as FTS5 read them before: each token a quoted string, so FTS5 tokenizes it again with
/// <c>unicode61</c> and the phrase is the concatenation of those tokens (a string with no token adds nothing; a phrase
/// with no token matches no row; a trailing <c>*</c> makes the last token a prefix). The compact form is built from
/// the same <c>unicode61</c> tokens (<see cref="Unicode61"/>), one quoted string each, so the two layouts match the
/// same rows.
/// </remarks>
internal static class LogFullText
{
    /// <summary>The SQL function choosing a layout's FTS5 expression: <c>flotel_fts('fts_N', positions, compact)</c>.</summary>
    public const string ExpressionFunction = "flotel_fts";

    /// <summary>The SQL function checking phrases on a row's message: <c>flotel_phrase('fts_N', rowid, source, check)</c>.</summary>
    public const string CheckFunction = "flotel_phrase";

    // The check's text: a mode line, then one line per phrase, "=" or "*" (last token a prefix), a tab, the folded
    // tokens separated by spaces. Space, tab and newline are unicode61 separators, so no token holds them.
    private const char All = '&';
    private const char Any = '|';

    /// <summary>An FTS5 condition in both layouts: the expressions and, when a phrase needs it, the check.</summary>
    public sealed record Condition(string Positions, string? Compact, string? Check);

    /// <summary>
    /// Compiles <paramref name="phrases"/> (each the analyzed tokens of one phrase) joined by AND
    /// (<paramref name="all"/>) or OR; <paramref name="prefix"/> makes the last token of the (single) phrase a prefix.
    /// Null when no phrase has a token (the condition matches no row).
    /// </summary>
    public static Condition? Compile(IReadOnlyList<IReadOnlyList<string>> phrases, bool all, bool prefix)
    {
        var positions = new List<string>(phrases.Count);
        var compact = new List<string>(phrases.Count);
        var check = new StringBuilder().Append(all ? All : Any);
        bool needsCheck = false;
        foreach (IReadOnlyList<string> phrase in phrases)
        {
            positions.Add(string.Join(" + ", phrase.Select(LogAnalyzer.Quote)) + (prefix ? " *" : string.Empty));
            var quoted = new List<string>();
            var folded = new List<string>();
            foreach (string token in phrase)
            {
                foreach ((string fold, int start, int length) in Unicode61.Split(token))
                {
                    quoted.Add(LogAnalyzer.Quote(token.Substring(start, length)));
                    folded.Add(fold);
                }
            }

            if (folded.Count == 0)
            {
                if (all)
                {
                    return null;
                }

                continue;
            }

            if (prefix)
            {
                quoted[^1] += " *";
            }

            compact.Add(quoted.Count == 1 ? quoted[0] : "(" + string.Join(" AND ", quoted) + ")");
            needsCheck |= folded.Count > 1;
            check.Append('\n').Append(prefix ? '*' : '=').Append('\t').AppendJoin(' ', folded);
        }

        if (compact.Count == 0)
        {
            return null;
        }

        string join = all ? " AND " : " OR ";
        string positionsText = string.Join(join, positions);
        string compactText = string.Join(join, compact);
        return new Condition(positionsText, compactText == positionsText ? null : compactText, needsCheck ? check.ToString() : null);
    }

    /// <summary>
    /// Checks a check text from <see cref="Compile"/> against one row's <c>_source</c>, on one connection at a time
    /// (a connection runs one statement step at a time; the parsed check and the buffers are reused across rows).
    /// </summary>
    internal sealed class Checker
    {
        private readonly Unicode61.Tokens _tokens = new();
        private readonly byte[]? _asciiFolds = Unicode61.AsciiFolds;
        private char[] _message = new char[1024];
        private byte[] _quoted = new byte[1024];
        private byte[] _unescaped = new byte[1024];
        private byte[] _text = [];
        private bool _all;
        private readonly List<Phrase> _phrases = [];

        /// <summary>Whether the row's message holds the phrases of <paramref name="check"/> (UTF-8, as SQL passes it).</summary>
        public bool Matches(ReadOnlySpan<byte> source, ReadOnlySpan<byte> check)
        {
            if (!check.SequenceEqual(_text))
            {
                Parse(check);
            }

            return TryReadMessage(source, out int length) && MatchesTokens(length);
        }

        /// <summary>
        /// Whether a message holds the phrases of <paramref name="check"/>, given as the contents of its JSON string (escapes
        /// kept, as a block's messages section holds it).
        /// </summary>
        public bool MatchesMessage(ReadOnlySpan<byte> message, ReadOnlySpan<byte> check)
        {
            if (!check.SequenceEqual(_text))
            {
                Parse(check);
            }

            if (message.IsEmpty)
            {
                return false;
            }

            int length;
            if (message.IndexOf((byte)'\\') < 0)
            {
                if (_asciiFolds is { } folds && System.Text.Ascii.IsValid(message))
                {
                    return MatchesAscii(message, folds);
                }

                length = Encoding.UTF8.GetCharCount(message);
                EnsureMessage(length);
                length = Encoding.UTF8.GetChars(message, _message);
            }
            else
            {
                // Unescaped with the JSON reader, as the whole source would be.
                if (_quoted.Length < message.Length + 2)
                {
                    _quoted = new byte[Math.Max(message.Length + 2, _quoted.Length * 2)];
                    _unescaped = new byte[_quoted.Length];
                }

                _quoted[0] = (byte)'"';
                message.CopyTo(_quoted.AsSpan(1));
                _quoted[message.Length + 1] = (byte)'"';
                try
                {
                    var reader = new Utf8JsonReader(_quoted.AsSpan(0, message.Length + 2));
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    // Escapes (quotes, backslashes, \n, \uXXXX) that leave ASCII text: the same in-place check as above
                    // (an unescaped string is never longer than its escaped form); anything else is tokenized.
                    if (_asciiFolds is { } asciiFolds && TryUnescapeAscii(reader, out int unescaped))
                    {
                        return unescaped > 0 && MatchesAscii(_unescaped.AsSpan(0, unescaped), asciiFolds);
                    }

                    EnsureMessage(message.Length);
                    length = reader.CopyString(_message);
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    return false;
                }
            }

            return length > 0 && MatchesTokens(length);
        }

        // The reader's string unescaped into _unescaped when it is ASCII text; false for anything else (the caller tokenizes).
        private bool TryUnescapeAscii(Utf8JsonReader reader, out int length)
        {
            try
            {
                length = reader.CopyString(_unescaped);
                return System.Text.Ascii.IsValid(_unescaped.AsSpan(0, length));
            }
            catch (InvalidOperationException)
            {
                length = 0;
                return false;
            }
        }

        private bool MatchesTokens(int length)
        {
            Unicode61.Tokenize(_message.AsSpan(0, length), _tokens);
            foreach (Phrase phrase in _phrases)
            {
                bool found = Contains(phrase.Tokens, phrase.Prefix);
                if (found != _all)
                {
                    return found;
                }
            }

            return _all;
        }

        // An ASCII message: unicode61 splits it at the bytes the table calls separators and folds each other byte to one
        // ASCII character, so a phrase is found by comparing folded bytes in place, without tokenizing.
        private bool MatchesAscii(ReadOnlySpan<byte> message, byte[] folds)
        {
            foreach (Phrase phrase in _phrases)
            {
                bool found = phrase.Ascii is { } tokens && ContainsAscii(message, tokens, phrase.Prefix, phrase.FirstBytes!, folds);
                if (found != _all)
                {
                    return found;
                }
            }

            return _all;
        }

        private static bool ContainsAscii(ReadOnlySpan<byte> text, byte[][] tokens, bool prefix, System.Buffers.SearchValues<byte> firstBytes, byte[] folds)
        {
            int from = 0;
            while (from < text.Length)
            {
                int found = text[from..].IndexOfAny(firstBytes);
                if (found < 0)
                {
                    return false;
                }

                int at = from + found;
                if ((at == 0 || folds[text[at - 1]] == 0) && PhraseAt(text, at, tokens, prefix, folds))
                {
                    return true;
                }

                from = at + 1;
            }

            return false;
        }

        // Whether the tokens start at `at` (a token start), one after the other with only separators between them.
        private static bool PhraseAt(ReadOnlySpan<byte> text, int at, byte[][] tokens, bool prefix, byte[] folds)
        {
            int i = at;
            for (int t = 0; t < tokens.Length; t++)
            {
                while (t > 0 && i < text.Length && folds[text[i]] == 0)
                {
                    i++;
                }

                byte[] token = tokens[t];
                if (i + token.Length > text.Length)
                {
                    return false;
                }

                for (int k = 0; k < token.Length; k++)
                {
                    if (folds[text[i + k]] != token[k])
                    {
                        return false;
                    }
                }

                i += token.Length;
                bool asPrefix = prefix && t == tokens.Length - 1;
                if (!asPrefix && i < text.Length && folds[text[i]] != 0)
                {
                    return false; // the text's token goes on: a longer token, not this one
                }
            }

            return true;
        }

        private void EnsureMessage(int length)
        {
            if (_message.Length < length)
            {
                _message = new char[Math.Max(length, _message.Length * 2)];
            }
        }

        private void Parse(ReadOnlySpan<byte> checkUtf8)
        {
            _phrases.Clear();
            _text = checkUtf8.ToArray();
            string[] lines = Encoding.UTF8.GetString(checkUtf8).Split('\n');
            _all = lines[0][0] == All;
            foreach (string line in lines.AsSpan(1))
            {
                string[] tokens = line[2..].Split(' ');
                byte[][]? ascii = _asciiFolds is { } folds ? AsciiTokens(tokens, folds) : null;
                System.Buffers.SearchValues<byte>? firstBytes = null;
                if (ascii is not null)
                {
                    var firsts = new List<byte>();
                    for (int b = 1; b < 128; b++)
                    {
                        if (_asciiFolds![b] == ascii[0][0])
                        {
                            firsts.Add((byte)b);
                        }
                    }

                    firstBytes = System.Buffers.SearchValues.Create([.. firsts]);
                }

                _phrases.Add(new Phrase(tokens, line[0] == '*', ascii, firstBytes));
            }
        }

        // The phrase's tokens as bytes when each is ASCII text that is its own folding (what an ASCII message can hold);
        // null when one is not: no ASCII message holds the phrase.
        private static byte[][]? AsciiTokens(string[] tokens, byte[] folds)
        {
            var bytes = new byte[tokens.Length][];
            for (int t = 0; t < tokens.Length; t++)
            {
                string token = tokens[t];
                if (token.Length == 0)
                {
                    return null;
                }

                bytes[t] = new byte[token.Length];
                for (int k = 0; k < token.Length; k++)
                {
                    if (token[k] >= 128 || folds[token[k]] != token[k])
                    {
                        return null;
                    }

                    bytes[t][k] = (byte)token[k];
                }
            }

            return bytes;
        }

        private sealed record Phrase(string[] Tokens, bool Prefix, byte[][]? Ascii, System.Buffers.SearchValues<byte>? FirstBytes);

        private bool Contains(string[] phrase, bool prefix)
        {
            for (int i = 0; i + phrase.Length <= _tokens.Count; i++)
            {
                int j = 0;
                while (j < phrase.Length && (prefix && j == phrase.Length - 1
                    ? _tokens[i + j].StartsWith(phrase[j], StringComparison.Ordinal)
                    : _tokens[i + j].SequenceEqual(phrase[j].AsSpan())))
                {
                    j++;
                }

                if (j == phrase.Length)
                {
                    return true;
                }
            }

            return false;
        }

        // The message as the writer indexed it (SourceFields): the last top-level "message", when it is a string.
        private bool TryReadMessage(ReadOnlySpan<byte> source, out int length)
        {
            length = -1;
            try
            {
                var reader = new Utf8JsonReader(source, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool message = reader.ValueTextEquals("message"u8);
                    _ = reader.Read();
                    if (message && reader.TokenType == JsonTokenType.String)
                    {
                        if (_message.Length < reader.ValueSpan.Length)
                        {
                            _message = new char[Math.Max(reader.ValueSpan.Length, _message.Length * 2)];
                        }

                        length = reader.CopyString(_message);
                    }
                    else
                    {
                        length = message ? -1 : length;
                        reader.Skip();
                    }
                }
            }
            catch (JsonException)
            {
                return false;
            }

            return length > 0;
        }
    }
}
