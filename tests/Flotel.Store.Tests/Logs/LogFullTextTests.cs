using System.Text.Json.Nodes;
using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// Full-text search in the compact layout (FTS5 without positions, phrases checked on the message; see
/// <see cref="LogFullText"/>) against the layout with positions it replaces.
/// </summary>
public sealed class LogFullTextTests
{
    private static readonly DateTime May12 = new(2022, 5, 12, 20, 0, 0, DateTimeKind.Utc);
    private const string OldIndex = "logstash-2022.05.12";
    private const string NewIndex = "logstash-2022.05.13";

    // Messages chosen for what a phrase check could get wrong: order, gaps, repeated tokens, punctuation, case,
    // diacritics (precomposed and combining), letters .NET and SQLite classify differently, non-BMP code points.
    private static readonly string[] Corpus =
    [
        "request completed in 5ms", "completed request", "Request-Completed!", "REQUEST  completed twice: request completed",
        "request, completed", "request x completed", "requests completed", "request completedness",
        "Café crème brûlée", "cafe creme brulee", "CAFÉ CRÈME", "caf\u00e9 cre\u0300me", "cafe\u0301 cre\u0300me", "naïve façade", "ǅungla ǆ",
        "straße STRASSE", "İstanbul ıstanbul ISTANBUL", "Ω omega ω", "ｆｕｌｌ ｗｉｄｔｈ", "日本語 テキスト", "x²y ½ half", "x y",
        "𐐀𐐨 deseret 𐐨𐐀", "emoji 😀 smile", "emoji smile", "a_b c-d", "don't stop", "don t stop", "tab\tsep new\nline",
        "a a a b", "a a b a b", "b a", "the the the end", "1.2.3.4 port 22", "error 500 error 500", "500 error",
        "New message at: Thu May 12 20:22:01 UTC 2022", "new message", "message new at", "ǲ dz DZ", "ﬁle ﬂow file flow",
        "Ǆ", "ⅰⅱ roman", "ⓐⓑ circled", "١٢٣ arabic digits", "ß", "ς σ Σ", "\u0130\u0307 dotted", "ŉ apostrophe",
    ];

    private static readonly LogQuery[] Queries =
    [
        new PhraseQuery("message", "request completed"), new PhraseQuery("message", "completed request"),
        new PhraseQuery("message", "REQUEST-completed"), new PhraseQuery("message", "request x completed"),
        new PhraseQuery("message", "café crème"), new PhraseQuery("message", "cafe creme"), new PhraseQuery("message", "CAFE CREME BRULEE"),
        new PhraseQuery("message", "cafe\u0301 cre\u0300me"), new PhraseQuery("message", "naive facade"), new PhraseQuery("message", "straße strasse"),
        new PhraseQuery("message", "istanbul ıstanbul"), new PhraseQuery("message", "i̇stanbul"), new PhraseQuery("message", "omega ω"),
        new PhraseQuery("message", "full width"), new PhraseQuery("message", "ｆｕｌｌ ｗｉｄｔｈ"), new PhraseQuery("message", "日本語 テキスト"),
        new PhraseQuery("message", "x y"), new PhraseQuery("message", "x²y"), new PhraseQuery("message", "½ half"),
        new PhraseQuery("message", "𐐨𐐨 deseret"), new PhraseQuery("message", "deseret 𐐀𐐨"), new PhraseQuery("message", "emoji smile"),
        new PhraseQuery("message", "emoji 😀 smile"), new PhraseQuery("message", "a b c d"), new PhraseQuery("message", "don t stop"),
        new PhraseQuery("message", "tab sep new line"), new PhraseQuery("message", "a a b"), new PhraseQuery("message", "a b a"),
        new PhraseQuery("message", "a a a"), new PhraseQuery("message", "a a a a"), new PhraseQuery("message", "b a b"),
        new PhraseQuery("message", "the the end"), new PhraseQuery("message", "3 4 port"), new PhraseQuery("message", "500 error"),
        new PhraseQuery("message", "error 500 error"), new PhraseQuery("message", "New message at"), new PhraseQuery("message", "dz dz"),
        new PhraseQuery("message", "file flow"), new PhraseQuery("message", "ⅰⅱ roman"), new PhraseQuery("message", "σ σ σ"),
        new PhraseQuery("message", "ς σ"), new PhraseQuery("message", "!!! ..."), new PhraseQuery("message", "\u0307 dotted"),
        new PrefixQuery("message", "request comp"), new PrefixQuery("message", "comp"), new PrefixQuery("message", "caf"),
        new PrefixQuery("message", "cafe cr"), new PrefixQuery("message", "a a"), new PrefixQuery("message", "new message a"),
        new PrefixQuery("message", "𐐨"), new PrefixQuery("message", "e"), new PrefixQuery("message", "x²"),
        new TermsQuery("message", ["request completed", "café", "b a b"]), new TermsQuery("message", ["a b", "ω"]),
        new TermsQuery("message", ["completed request"]), new MatchQuery("message", "request-completed", true),
        new MatchQuery("message", "brûlée creme", false), new MatchQuery("message", "x²y", true), new MatchQuery("message", "ǅungla", false),
        new BoolQuery([new PhraseQuery("message", "request completed")], [], [new PhraseQuery("message", "completed twice")], [], null),
        new BoolQuery([], [], [], [new PhraseQuery("message", "a b"), new PhraseQuery("message", "emoji smile")], null),
    ];

    private static string Scalar(string databasePath, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
    }

    // One store with the corpus twice: in an index made with the full-text table of the previous release (positions)
    // and in one the store makes now (compact).
    private static async Task<TestLogStore> BothLayoutsAsync()
    {
        TestLogStore t = TestLogStore.WithPreviousLayoutIndex(OldIndex);
        var events = new List<LogEvent>();
        for (int day = 0; day < 2; day++)
        {
            for (int i = 0; i < Corpus.Length; i++)
            {
                events.Add(TestLogStore.Event(May12.AddDays(day).AddSeconds(i), Corpus[i]));
            }
        }

        await t.Store.WriteAsync(events);
        return t;
    }

    private static (long Total, List<string> Messages) Find(LogStore store, string index, LogQuery query)
    {
        LogSearchResult result = store.Search(new LogSearch([index], query, [new LogSort("@timestamp", true)], 0, 1000), countOnly: false);
        return (result.Total, [.. result.Hits.Select(h => JsonNode.Parse(h.Source)!["message"]!.GetValue<string>())]);
    }

    [Fact]
    public async Task Search_TrickyPhrasesPrefixesAndTerms_CompactLayoutMatchesTheSameRowsAsPositions()
    {
        using TestLogStore t = await BothLayoutsAsync();
        string db = t.Options.DatabasePath;
        Assert.DoesNotContain("detail=none", Scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'fts_1'"), StringComparison.Ordinal);
        Assert.Contains("detail=none", Scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'fts_2'"), StringComparison.Ordinal);

        int matched = 0;
        foreach (LogQuery query in Queries)
        {
            (long oldTotal, List<string> oldMessages) = Find(t.Store, OldIndex, query);
            (long newTotal, List<string> newMessages) = Find(t.Store, NewIndex, query);
            Assert.True(oldTotal == newTotal, $"{query}: {oldTotal} rows with positions, {newTotal} without");
            Assert.Equal(oldMessages, newMessages);
            matched += oldMessages.Count;
        }

        // The corpus is not vacuous: most queries match something, and order matters for the phrases.
        Assert.True(matched > Queries.Length, $"only {matched} matches over {Queries.Length} queries");
    }

    [Fact]
    public async Task Search_CompactIndexWithBlocksOfThePreviousLayout_MatchesTheSameRowsAsPositions()
    {
        using TestLogStore t = await BothLayoutsAsync();
        t.RewriteBlocksInPreviousLayout(2);
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddDays(1).AddHours(2), "request completed after the upgrade")]);
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddHours(2), "request completed after the upgrade")]);

        // The index now holds blocks of both layouts; the phrase check reads each as it is.
        foreach (LogQuery query in Queries)
        {
            (long oldTotal, List<string> oldMessages) = Find(t.Store, OldIndex, query);
            (long newTotal, List<string> newMessages) = Find(t.Store, NewIndex, query);
            Assert.True(oldTotal == newTotal, $"{query}: {oldTotal} rows with positions, {newTotal} without");
            Assert.Equal(oldMessages, newMessages);
        }

        Assert.Equal(5, Find(t.Store, NewIndex, new PhraseQuery("message", "request completed")).Total);
    }

    [Fact]
    public void Checker_AsciiMessages_AnswersAsTheTokenizedCheck()
    {
        // Short words, case, digits and the separators most likely to be got wrong, in random messages and phrases: the
        // check on an ASCII message (folded bytes compared in place) must agree with tokenizing the same message.
        string[] words = ["a", "ab", "abc", "A", "AB", "b", "ba", "1", "12", "a1", "x_y", "don't", "e-mail", "ab.c", "~", "$5", "é"];
        string[] separators = [" ", "  ", ",", ".", "-", "_", ":", "/", "\t", "\"", "\\"];
        var random = new Random(11);
        var ascii = new LogFullText.Checker();
        var tokenized = new LogFullText.Checker();
        int matched = 0;
        for (int round = 0; round < 3000; round++)
        {
            var message = new System.Text.StringBuilder();
            var used = new List<string>();
            for (int k = random.Next(1, 9); k > 0; k--)
            {
                used.Add(words[random.Next(words.Length)]);
                message.Append(used[^1]).Append(separators[random.Next(separators.Length)]);
            }

            // Half the phrases are words of the message in a row (most of them match), half any words.
            string[] phraseWords = RandomPhrase(random, used, words);
            bool prefix = random.Next(4) == 0;
            LogFullText.Condition? condition = LogFullText.Compile([LogAnalyzer.Tokenize(string.Join(' ', phraseWords))], true, prefix);
            if (condition?.Check is not { } check)
            {
                continue;
            }

            byte[] checkUtf8 = System.Text.Encoding.UTF8.GetBytes(check);
            byte[] source = System.Text.Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["message"] = message.ToString() }.ToJsonString());
            Assert.True(SourceFieldsMessage(source, out int at, out int length));
            bool expected = tokenized.Matches(source, checkUtf8);
            Assert.True(expected == ascii.MatchesMessage(source.AsSpan(at, length), checkUtf8),
                $"[{message}] / [{string.Join(' ', phraseWords)}] prefix {prefix}");
            matched += expected ? 1 : 0;
        }

        Assert.True(matched > 500, $"only {matched} matches");
    }

    [Fact]
    public void Checker_EscapedMessages_AnswersAsTheTokenizedCheck()
    {
        // Messages as JSON strings with escapes: any character may come as \uXXXX (letters inside a token too), controls and
        // quotes as their short escapes, some non-ASCII text (decoded and tokenized, not compared in place). The check on
        // the escaped text of a block's messages section must agree with tokenizing the message of the whole source.
        string[] words = ["a", "ab", "abc", "A", "AB", "b", "1", "a1", "x_y", "don't", @"\u00e9t\u00e9", @"Ab\u0043", @"\u0041b", @"\ud83d\ude00"];
        string[] separators = [" ", ",", @"\\", @"\""", @"\n", @"\r\n", @"\t", @"\b", @"\f", @"\/", @"\u0001", @"\u001f", @"\u0020", @"\u002e", @"\u00a0"];
        var random = new Random(12);
        var escaped = new LogFullText.Checker();
        var tokenized = new LogFullText.Checker();
        int matched = 0;
        for (int round = 0; round < 3000; round++)
        {
            var message = new System.Text.StringBuilder();
            var used = new List<string>();
            for (int k = random.Next(1, 9); k > 0; k--)
            {
                used.Add(words[random.Next(words.Length)]);
                message.Append(random.Next(4) == 0 ? separators[random.Next(separators.Length)] : string.Empty)
                    .Append(used[^1]).Append(separators[random.Next(separators.Length)]);
            }

            // The phrase is the message's own words (unescaped) in a row, or any words.
            string[] phraseWords = RandomPhrase(random, used, words);
            string phrase = System.Text.Json.JsonSerializer.Deserialize<string>("\"" + string.Join(' ', phraseWords) + "\"")!;
            bool prefix = random.Next(4) == 0;
            LogFullText.Condition? condition = LogFullText.Compile([LogAnalyzer.Tokenize(phrase)], true, prefix);
            if (condition?.Check is not { } check)
            {
                continue;
            }

            byte[] checkUtf8 = System.Text.Encoding.UTF8.GetBytes(check);
            string text = message.ToString();
            byte[] source = System.Text.Encoding.UTF8.GetBytes("{\"message\":\"" + text + "\"}");
            bool expected = tokenized.Matches(source, checkUtf8);
            Assert.True(expected == escaped.MatchesMessage(System.Text.Encoding.UTF8.GetBytes(text), checkUtf8), $"[{text}] / [{phrase}] prefix {prefix}");
            matched += expected ? 1 : 0;
        }

        Assert.True(matched > 300, $"only {matched} matches");
    }

    // Two or three words: half the time the message's own words in a row (when it has enough), otherwise any of words.
    private static string[] RandomPhrase(Random random, List<string> used, string[] words)
    {
        int count = random.Next(2, 4);
        int first = random.Next(Math.Max(1, used.Count - count + 1));
        return random.Next(2) == 0 && used.Count >= count
            ? [.. used.Skip(first).Take(count)]
            : [.. Enumerable.Range(0, count).Select(_ => words[random.Next(words.Length)])];
    }

    private static bool SourceFieldsMessage(byte[] source, out int at, out int length) => SourceFields.TryFindMessage(source, out at, out length);

    [Fact]
    public async Task Search_PhraseInCompactLayout_CountsAndAggregatesOnlyRowsWithTheTokensInOrder()
    {
        using TestLogStore t = await BothLayoutsAsync();

        // "b a" and "a b" share their tokens; only the order tells them apart, and only the check sees order.
        List<string> ab = Find(t.Store, NewIndex, new PhraseQuery("message", "a b")).Messages;
        List<string> ba = Find(t.Store, NewIndex, new PhraseQuery("message", "b a")).Messages;
        Assert.Contains("a a a b", ab);
        Assert.DoesNotContain("b a", ab);
        Assert.Contains("b a", ba);
        Assert.DoesNotContain("a a a b", ba);
        Assert.Equal(["request, completed", "REQUEST  completed twice: request completed", "Request-Completed!", "request completed in 5ms"],
            Find(t.Store, NewIndex, new PhraseQuery("message", "request completed")).Messages);
        LogSearchResult counted = t.Store.Search(new LogSearch([NewIndex], new PhraseQuery("message", "completed request"), [], 0, 0), countOnly: true);
        Assert.Equal(1, counted.Total);
    }

    [Fact]
    public async Task Search_PhraseOfThousandsOfTokens_AnswersInBothLayouts()
    {
        using TestLogStore t = await BothLayoutsAsync();
        string words = string.Join(' ', Enumerable.Range(0, 5000).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddHours(1), words), TestLogStore.Event(May12.AddDays(1).AddHours(1), words)]);

        Assert.Equal(1, Find(t.Store, OldIndex, new PhraseQuery("message", words)).Total);
        Assert.Equal(1, Find(t.Store, NewIndex, new PhraseQuery("message", words)).Total);
        Assert.Equal(0, Find(t.Store, NewIndex, new PhraseQuery("message", "w1 " + words)).Total);
        Assert.Equal(1, Find(t.Store, NewIndex, new PrefixQuery("message", words[..^2])).Total);
    }

    [Fact]
    public void Tokenize_EveryCorpusText_GivesTheTokensSqliteUnicode61Gives()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using (SqliteCommand create = connection.CreateCommand())
        {
            create.CommandText = "CREATE VIRTUAL TABLE t USING fts5(m); CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')";
            _ = create.ExecuteNonQuery();
        }

        var random = new Random(7);
        var texts = new List<string>(Corpus);
        for (int i = 0; i < 200; i++)
        {
            // Random runs over the ranges with diacritics, case pairs, marks and surrogate pairs.
            var text = new System.Text.StringBuilder();
            for (int k = 0; k < 40; k++)
            {
                int code = random.Next(6) switch
                {
                    0 => random.Next(0x20, 0x7F),
                    1 => random.Next(0xC0, 0x250),
                    2 => random.Next(0x300, 0x370),
                    3 => random.Next(0x370, 0x530),
                    4 => random.Next(0x1E00, 0x2200),
                    _ => random.Next(0x10400, 0x10480),
                };
                text.Append(char.ConvertFromUtf32(code));
            }

            texts.Add(text.ToString());
        }

        for (int i = 0; i < texts.Count; i++)
        {
            using SqliteCommand insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO t(rowid, m) VALUES ($r, $m)";
            _ = insert.Parameters.AddWithValue("$r", i);
            _ = insert.Parameters.AddWithValue("$m", texts[i]);
            _ = insert.ExecuteNonQuery();
        }

        for (int i = 0; i < texts.Count; i++)
        {
            var expected = new List<string>();
            using SqliteCommand read = connection.CreateCommand();
            read.CommandText = "SELECT term FROM v WHERE doc = $r ORDER BY offset";
            _ = read.Parameters.AddWithValue("$r", i);
            using (SqliteDataReader reader = read.ExecuteReader())
            {
                while (reader.Read())
                {
                    expected.Add(reader.GetString(0));
                }
            }

            Assert.Equal(expected, Unicode61.Split(texts[i]).Select(t => t.Token));
        }
    }

    [Fact]
    public async Task Open_IndexWithPositions_KeepsItsLayoutAndNewIndicesAreCompact()
    {
        using TestLogStore t = await BothLayoutsAsync();
        t.Reopen();
        await t.Store.WriteAsync([TestLogStore.Event(May12.AddDays(2), "request completed later")]);
        string db = t.Options.DatabasePath;

        Assert.DoesNotContain("detail=none", Scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'fts_1'"), StringComparison.Ordinal);
        Assert.Contains("detail=none", Scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'fts_3'"), StringComparison.Ordinal);
        LogSearchResult all = t.Store.Search(
            new LogSearch([.. t.Store.ListIndices().Select(i => i.Name)], new PhraseQuery("message", "request completed"), [], 0, 100), countOnly: false);
        Assert.Equal(9, all.Total);
    }
}
