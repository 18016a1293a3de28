using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>
/// Queries built to crash or stall the evaluator: each is refused with bad_data (or execution) or answered, never a
/// stack overflow, a backtracking regex or an unexpected exception.
/// </summary>
public sealed class PromHostileQueryTests : IDisposable
{
    private const int Deep = 100_000;

    private readonly StoreFixture _fixture = new();
    private readonly MetricStore _store;

    public PromHostileQueryTests() => _store = _fixture.Open();

    public void Dispose()
    {
        _store.Dispose();
        _fixture.Dispose();
    }

    private static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    public static TheoryData<string, string> DeepQueries => new()
    {
        { "unary minus", Repeat("-", Deep) + "1" },
        { "unary plus and minus", Repeat("+-", Deep / 2) + "up" },
        { "parentheses", Repeat("(", Deep) + "1" + Repeat(")", Deep) },
        { "unclosed parentheses", Repeat("(", Deep) },
        { "function calls", Repeat("abs(", Deep) + "vector(1)" + Repeat(")", Deep) },
        { "aggregations", Repeat("sum(", Deep) + "up" + Repeat(")", Deep) },
        { "power chain (right-associative)", Repeat("2^", Deep) + "1" },
        { "addition chain (left-associative)", "1" + Repeat("+1", Deep) },
        { "set operator chain", "up" + Repeat(" or up", Deep) },
        { "comparison chain", "up" + Repeat(" > bool 1", Deep) },
    };

    [Theory]
    [MemberData(nameof(DeepQueries))]
    public void Parse_NestingFarPastTheLimit_IsBadDataNotAStackOverflow(string kind, string query)
    {
        var ex = Assert.Throws<PromQueryException>(() => PromParser.Parse(query));
        Assert.True(ex.ErrorType == "bad_data" && ex.Message.Contains("nested too deeply", StringComparison.Ordinal), kind + ": " + ex.Message);
    }

    [Fact]
    public void Parse_AdditionChainAtTheLimit_Evaluates()
    {
        var expr = PromParser.Parse("1" + Repeat("+1", PromParser.MaxDepth - 1));
        Assert.Equal(PromParser.MaxDepth, expr.Height);
        var value = Assert.IsType<ScalarValue>(new PromEngine(_store).Instant(expr, 0));
        Assert.Equal(PromParser.MaxDepth, value.Value);
        Assert.Throws<PromQueryException>(() => PromParser.Parse("1" + Repeat("+1", PromParser.MaxDepth)));
    }

    [Fact]
    public void Parse_ParenthesesJustUnderTheLimit_Parse() =>
        Assert.IsType<Paren>(PromParser.Parse(Repeat("(", PromParser.MaxDepth - 1) + "1" + Repeat(")", PromParser.MaxDepth - 1)));

    [Fact]
    public void Parse_MegabyteTokens_LexInOnePass()
    {
        var value = new string('a', 1_000_000);
        var selector = Assert.IsType<VectorSelector>(PromParser.Parse("x{l=\"" + value + "\"}"));
        Assert.Equal(value, selector.Matchers[1].Value);
        Assert.IsType<VectorSelector>(PromParser.Parse("a" + new string('_', 1_000_000)));
        Assert.IsType<NumberLiteral>(PromParser.Parse(new string('1', 300) + "." + new string('1', 1_000_000)));
    }

    [Fact]
    public void Parse_OnAndGroupLeftWithThirtyThousandLabels_ChecksOverlapInOnePass()
    {
        // Each group_left label was looked up in the on(…) list: 30,000 × 30,000 string comparisons.
        var on = string.Join(",", Enumerable.Range(0, 30_000).Select(i => "o" + i));
        var include = string.Join(",", Enumerable.Range(0, 30_000).Select(i => "g" + i));
        var binary = Assert.IsType<Binary>(PromParser.Parse("up + on(" + on + ") group_left(" + include + ") up"));
        Assert.Equal(30_000, binary.Include.Count);
        var ex = Assert.Throws<PromQueryException>(() => PromParser.Parse("up + on(" + on + ") group_left(" + include + ",o29999) up"));
        Assert.Contains("must not occur in ON and GROUP clause at once", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("(a)\\\\1", "backreference")]
    [InlineData("(?=a)a", "lookahead")]
    [InlineData("a(?<=a)", "lookbehind")]
    [InlineData("(?>a+)b", "atomic group")]
    [InlineData("(?(a)a|b)", "conditional")]
    [InlineData("(a{1000}){1000}", "repetition expanding past the automaton limit")]
    public void Selector_RegexNeedingBacktracking_IsRefusedAsBadData(string pattern, string construct)
    {
        var ex = Assert.Throws<PromQueryException>(() => PromParser.Parse("up{job=~\"" + pattern + "\"}"));
        Assert.Equal("bad_data", ex.ErrorType);
        Assert.Contains("not supported", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new LabelMatcher(LabelMatchType.RegexNoMatch, "job", pattern.Replace("\\\\", "\\", StringComparison.Ordinal)));
        _ = construct;
    }

    [Fact]
    public void Selector_InvalidRegex_IsBadData()
    {
        var ex = Assert.Throws<PromQueryException>(() => PromParser.Parse("up{job=~\"(\"}"));
        Assert.Equal("bad_data", ex.ErrorType);
    }

    [Fact]
    public void LabelMatcher_GrafanaMultiValueOfTenThousandHosts_MatchesExactlyThoseHosts()
    {
        // Grafana escapes metacharacters in each value and joins them with '|'.
        var hosts = Enumerable.Range(0, 10_000).Select(i => "host-" + i + ".example.com:9100").ToList();
        var pattern = string.Join("|", hosts.Select(h => h.Replace(".", "\\.", StringComparison.Ordinal)));
        var matcher = new LabelMatcher(LabelMatchType.RegexMatch, "instance", pattern);
        Assert.True(matcher.Matches("host-0.example.com:9100"));
        Assert.True(matcher.Matches("host-9999.example.com:9100"));
        Assert.False(matcher.Matches("host-0xexample.com:9100"));
        Assert.False(matcher.Matches("host-10000.example.com:9100"));
        Assert.False(matcher.Matches("host-0.example.com:9100\n"));
        Assert.True(new LabelMatcher(LabelMatchType.RegexNoMatch, "instance", pattern).Matches("other"));
        Assert.True(new LabelMatcher(LabelMatchType.RegexMatch, "instance", "a||b").Matches(string.Empty));
    }

    [Theory]
    [InlineData("a|b.c", "bxc", true)]
    [InlineData("a|b\\d", "b1", true)]
    [InlineData("a|(b)", "b", true)]
    [InlineData("a|b*", "bbb", true)]
    [InlineData("a|b\\.c", "bxc", false)]
    [InlineData("a\\|b", "a|b", true)]
    [InlineData("a\\|b", "a", false)]
    public void LabelMatcher_LiteralsAndMetacharacters_MatchAsARegex(string pattern, string value, bool expected) =>
        Assert.Equal(expected, new LabelMatcher(LabelMatchType.RegexMatch, "l", pattern).Matches(value));

    [Fact]
    public void LabelMatcher_CatastrophicPatternOnLongValue_MatchesInLinearTime()
    {
        var matcher = new LabelMatcher(LabelMatchType.RegexMatch, "a", "(a|aa)+b");
        Assert.False(matcher.Matches(new string('a', 100_000)));
        Assert.True(matcher.Matches(new string('a', 100_000) + "b"));
    }

    [Fact]
    public void LabelReplace_BackreferencePattern_IsAnExecutionErrorSayingWhy()
    {
        var ex = Assert.Throws<PromQueryException>(() =>
            new PromEngine(_store).Instant(PromParser.Parse("label_replace(vector(1), \"a\", \"x\", \"b\", \"(x)\\\\1\")"), 0));
        Assert.Equal("execution", ex.ErrorType);
        Assert.Contains("not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelReplace_CatastrophicPatternOverThreeThousandSteps_Answers()
    {
        var query = "label_replace(label_replace(vector(1),\"a\",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"\",\"\"),\"b\",\"x\",\"a\",\"(a|aa)+b\")";
        var result = new PromEngine(_store).Range(PromParser.Parse(query), 0, 2_999_000, 1_000);
        var (labels, points) = Assert.Single(result);
        Assert.Equal(3_000, points.Count);
        Assert.False(labels.TryGetValue("b", out _));

        // The same regex still captures: $1 comes from the non-backtracking engine's groups.
        result = new PromEngine(_store).Range(PromParser.Parse(query.Replace("(a|aa)+b", "(a+)", StringComparison.Ordinal).Replace("\"x\"", "\"$1\"", StringComparison.Ordinal)), 0, 2_000, 1_000);
        Assert.Equal("aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Assert.Single(result).Labels.TryGetValue("b", out var b) ? b : null);
    }

    [Theory]
    [InlineData("count_values(\"version\", vector(1))")]
    [InlineData("count_values((\"version\"), vector(1))")]
    [InlineData("count_values(((\"version\")), vector(1))")]
    public void CountValues_LabelInParentheses_CountsLikeAPlainString(string query)
    {
        var sample = Assert.Single(Assert.IsType<VectorValue>(new PromEngine(_store).Instant(PromParser.Parse(query), 0)).Samples);
        Assert.Equal("1", sample.Labels.TryGetValue("version", out var v) ? v : null);
        Assert.Equal(1, sample.Value);
    }

    [Theory]
    [InlineData("max_over_time(vector(1)[1m:10s] @ 9223372036854774)")]
    [InlineData("max_over_time(vector(1)[1m:1s] @ -9223372036854774)")]
    [InlineData("max_over_time(vector(1)[1m:1s] @ 9223372036854774 offset -1w)")]
    [InlineData("x @ -9223372036854774 offset 1w")]
    [InlineData("rate(x[1w] @ 9223372036854774)")]
    public void AtModifier_AtTheEndsOfTheTimeLine_Answers(string query)
    {
        // A subquery's steps near long.MaxValue milliseconds used to be counted by adding the step until past the end.
        Assert.IsType<VectorValue>(new PromEngine(_store).Instant(PromParser.Parse(query), 0));
    }
}
