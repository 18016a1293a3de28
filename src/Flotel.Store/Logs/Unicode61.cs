using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Logs;

/// <summary>
/// The tokens FTS5's <c>unicode61</c> tokenizer (its defaults: <c>remove_diacritics=1</c>, token characters
/// <c>L* N* Co</c>) makes of a text, computed in .NET so that a phrase can be checked on a message after a full-text
/// index without positions (<c>detail=none</c>) found the rows holding all its tokens.
/// </summary>
/// <remarks>
/// unicode61 decides per code point: a code point is a separator or a token character, and a token character is folded
/// (lower case, diacritics removed) to one code point or to none. The answers are not derived from .NET's Unicode data,
/// whose version and folding differ from the tables compiled into SQLite: they are read from the linked SQLite itself,
/// once per process, by indexing every code point of the Basic Multilingual Plane between two <c>q</c>s in an in-memory
/// FTS5 table and reading the tokens back (<c>fts5vocab</c>, <c>instance</c>): <c>q·q</c> as one token says "token
/// character" and gives its folding, two tokens <c>q</c> say "separator". Code points above U+FFFF are asked the same
/// way the first time a text holds them. So a phrase matches after this check exactly the rows it matched when FTS5
/// kept positions.
/// </remarks>
internal static class Unicode61
{
    private const int Separator = -1;

    // Code points of the BMP indexed per calibration row (about 4 KiB of text each).
    private const int CalibrationRow = 1024;

    // Code points above the BMP asked so far; a text can only add as many as Unicode has.
    private static readonly ConcurrentDictionary<int, int> Supplementary = new();
    private static readonly Lazy<int[]> Bmp = new(CalibrateBmp);
    private static readonly object AskLock = new();

    /// <summary>
    /// Replaces the contents of <paramref name="into"/> with the folded tokens of <paramref name="text"/> and, when
    /// <paramref name="sources"/> is given, the span of <paramref name="text"/> each came from.
    /// </summary>
    public static void Tokenize(ReadOnlySpan<char> text, Tokens into, List<(int Start, int Length)>? sources = null)
    {
        int[] bmp = Bmp.Value;
        into.Clear();
        sources?.Clear();
        int tokenStart = -1;
        int sourceStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            int width = 1;
            int code = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                code = char.ConvertToUtf32(text[i], text[i + 1]);
                width = 2;
            }

            int fold = code < 0x10000 ? bmp[code] : Supplementary.GetOrAdd(code, Ask);
            if (fold == Separator)
            {
                End(into, sources, ref tokenStart, sourceStart, i);
            }
            else
            {
                if (tokenStart < 0)
                {
                    tokenStart = into.Length;
                    sourceStart = i;
                }

                if (fold > 0)
                {
                    into.Append(fold);
                }
            }

            i += width;
        }

        End(into, sources, ref tokenStart, sourceStart, text.Length);
    }

    /// <summary>
    /// unicode61's answer for each ASCII byte, from the same table as <see cref="Tokenize"/>: 0 for a separator, else
    /// the ASCII character it folds to; null when some ASCII token character folds to nothing or to more than ASCII (no
    /// SQLite does that, but then ASCII text gets no shortcut).
    /// </summary>
    public static byte[]? AsciiFolds => AsciiTable.Value;

    private static readonly Lazy<byte[]?> AsciiTable = new(() =>
    {
        int[] bmp = Bmp.Value;
        var folds = new byte[128];
        for (int c = 1; c < 128; c++)
        {
            if (bmp[c] == Separator)
            {
                continue;
            }

            if (bmp[c] is <= 0 or >= 128)
            {
                return null;
            }

            folds[c] = (byte)bmp[c];
        }

        return folds;
    });

    /// <summary>The folded tokens of <paramref name="text"/>, each with the span of the text it came from.</summary>
    public static List<(string Token, int Start, int Length)> Split(string text)
    {
        var tokens = new Tokens();
        var sources = new List<(int Start, int Length)>();
        Tokenize(text, tokens, sources);
        var result = new List<(string, int, int)>(tokens.Count);
        for (int t = 0; t < tokens.Count; t++)
        {
            result.Add((tokens[t].ToString(), sources[t].Start, sources[t].Length));
        }

        return result;
    }

    private static void End(Tokens into, List<(int Start, int Length)>? sources, ref int tokenStart, int sourceStart, int end)
    {
        // A token of characters that all fold to nothing is no token: FTS5 skips empty tokens.
        if (tokenStart >= 0 && into.Length > tokenStart)
        {
            into.Close(tokenStart);
            sources?.Add((sourceStart, end - sourceStart));
        }

        tokenStart = -1;
    }

    /// <summary>A text's folded tokens, kept in one reused buffer.</summary>
    internal sealed class Tokens
    {
        private char[] _chars = new char[256];
        private (int Start, int Length)[] _tokens = new (int, int)[64];

        public int Count { get; private set; }

        public int Length { get; private set; }

        public ReadOnlySpan<char> this[int index] => _chars.AsSpan(_tokens[index].Start, _tokens[index].Length);

        public void Clear() => (Count, Length) = (0, 0);

        public void Append(int code)
        {
            if (Length + 2 > _chars.Length)
            {
                Array.Resize(ref _chars, _chars.Length * 2);
            }

            if (code < 0x10000)
            {
                _chars[Length++] = (char)code;
            }
            else
            {
                Length += new Rune(code).EncodeToUtf16(_chars.AsSpan(Length));
            }
        }

        public void Close(int start)
        {
            if (Count == _tokens.Length)
            {
                Array.Resize(ref _tokens, _tokens.Length * 2);
            }

            _tokens[Count++] = (start, Length - start);
        }
    }

    private static int Ask(int code) => Calibrate([code])[0];

    private static int[] CalibrateBmp()
    {
        // U+0000 is not asked (the provider ends a bound text there); like every ASCII character that is not a letter or a
        // digit it separates tokens.
        int[] codes = [.. Enumerable.Range(1, 0xFFFF).Where(c => c is < 0xD800 or > 0xDFFF)];
        int[] folds = Calibrate(codes);
        var table = new int[0x10000];
        Array.Fill(table, Separator); // lone surrogates: a .NET string that holds one is refused before it is stored
        for (int k = 0; k < codes.Length; k++)
        {
            table[codes[k]] = folds[k];
        }

        return table;
    }

    // Indexes "q{c}q" for each code point and reads the tokens back in order (see the remarks); the answers in the
    // order of the code points.
    private static int[] Calibrate(int[] codeList)
    {
        lock (AskLock)
        {
            var result = new int[codeList.Length];
            using var connection = new SqliteConnection("Data Source=:memory:");
            connection.Open();
            using (SqliteCommand create = connection.CreateCommand())
            {
                create.CommandText = "CREATE VIRTUAL TABLE t USING fts5(m); CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')";
                _ = create.ExecuteNonQuery();
            }

            using (SqliteTransaction tx = connection.BeginTransaction())
            using (SqliteCommand insert = connection.CreateCommand())
            {
                insert.Transaction = tx;
                insert.CommandText = "INSERT INTO t(rowid, m) VALUES ($r, $m)";
                SqliteParameter row = insert.Parameters.Add("$r", SqliteType.Integer);
                SqliteParameter text = insert.Parameters.Add("$m", SqliteType.Text);
                for (int start = 0; start < codeList.Length; start += CalibrationRow)
                {
                    var line = new StringBuilder();
                    foreach (int code in codeList.AsSpan(start, Math.Min(CalibrationRow, codeList.Length - start)))
                    {
                        _ = line.Append('q').Append(char.ConvertFromUtf32(code)).Append("q ");
                    }

                    row.Value = start;
                    text.Value = line.ToString();
                    _ = insert.ExecuteNonQuery();
                }

                tx.Commit();
            }

            using SqliteCommand read = connection.CreateCommand();
            read.CommandText = "SELECT doc, term FROM v ORDER BY doc, offset";
            using SqliteDataReader reader = read.ExecuteReader();
            var terms = new List<string>();
            long doc = -1;
            void Assign()
            {
                if (doc < 0)
                {
                    return;
                }

                int next = 0;
                for (int k = (int)doc; k < Math.Min(codeList.Length, (int)doc + CalibrationRow); k++)
                {
                    result[k] = next < terms.Count && terms[next].Length > 1 ? FoldOf(terms[next++], codeList[k]) : SeparatorAt(terms, ref next, codeList[k]);
                }
            }

            while (reader.Read())
            {
                if (reader.GetInt64(0) != doc)
                {
                    Assign();
                    doc = reader.GetInt64(0);
                    terms.Clear();
                }

                terms.Add(reader.GetString(1));
            }

            Assign();
            return result;
        }
    }

    // "q{fold}q": the code point is a token character folded to what lies between the q's (nothing, or one code point).
    private static int FoldOf(string term, int code)
    {
        string inner = term[1..^1];
        if (inner.Length == 0)
        {
            return 0;
        }

        Rune fold = Rune.GetRuneAt(inner, 0);
        return fold.Utf16SequenceLength == inner.Length && term[0] == 'q' && term[^1] == 'q'
            ? fold.Value
            : throw new InvalidOperationException(
                $"SQLite's unicode61 tokenizer folded U+{code.ToString("X4", CultureInfo.InvariantCulture)} to [{inner}], not one code point");
    }

    // "q", "q": the code point separates tokens.
    private static int SeparatorAt(List<string> terms, ref int next, int code)
    {
        if (next + 1 < terms.Count && terms[next] == "q" && terms[next + 1] == "q")
        {
            next += 2;
            return Separator;
        }

        throw new InvalidOperationException(
            $"SQLite's unicode61 tokenizer gave unexpected tokens around U+{code.ToString("X4", CultureInfo.InvariantCulture)}");
    }
}
