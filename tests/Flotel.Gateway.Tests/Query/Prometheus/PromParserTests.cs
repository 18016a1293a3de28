using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Store.Metrics;

namespace Flotel.Gateway.Tests.Query.Prometheus;

public sealed class PromParserTests
{
    /// <summary>Renders the tree with explicit parentheses so precedence is visible.</summary>
    private static string Show(PromExpr e) => e switch
    {
        NumberLiteral n => n.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        StringLiteral s => "\"" + s.Value + "\"",
        VectorSelector v => (v.Name ?? string.Empty) + "{" + string.Join(",", v.Matchers.Where(m => m.Name != "__name__" || v.Name is null)) + "}" + (v.OffsetMs != 0 ? " offset " + v.OffsetMs : string.Empty),
        MatrixSelector m => Show(m.Selector) + "[" + m.RangeMs + "]",
        Call c => c.Function + "(" + string.Join(",", c.Args.Select(Show)) + ")",
        Aggregate a => a.Op + (a.Without ? " without" : " by") + "(" + string.Join(",", a.Grouping) + ")(" + Show(a.Expr) + ")",
        Unary u => "(-" + Show(u.Expr) + ")",
        Paren p => Show(p.Expr),
        Binary b => "(" + Show(b.Lhs) + " " + b.Op + (b.ReturnBool ? " bool" : string.Empty) + " " + Show(b.Rhs) + ")",
        _ => "?",
    };

    [Theory]
    [InlineData("1 + 2 * 3", "(1 Add (2 Mul 3))")]
    [InlineData("1 * 2 + 3", "((1 Mul 2) Add 3)")]
    [InlineData("2 ^ 3 ^ 2", "(2 Pow (3 Pow 2))")]
    [InlineData("1 - 2 - 3", "((1 Sub 2) Sub 3)")]
    [InlineData("-a ^ 2", "(-(a{} Pow 2))")]
    [InlineData("-a * 2", "((-a{}) Mul 2)")]
    [InlineData("a > 1 + 2", "(a{} Gtr (1 Add 2))")]
    [InlineData("a > bool 1", "(a{} Gtr bool 1)")]
    [InlineData("10 % 3 / 2", "((10 Mod 3) Div 2)")]
    [InlineData("(1 + 2) * 3", "((1 Add 2) Mul 3)")]
    [InlineData("sum by (job) (rate(x[5m]))", "sum by(job)(rate(x{}[300000]))")]
    [InlineData("sum(rate(x[5m])) by (job)", "sum by(job)(rate(x{}[300000]))")]
    [InlineData("avg without (a, b) (x)", "avg without(a,b)(x{})")]
    [InlineData("x offset 1h30m", "x{} offset 5400000")]
    [InlineData("rate(x[1m] offset 5m)", "rate(x{} offset 300000[60000])")]
    [InlineData("{__name__=~\"a.*\", job!=\"x\"}", "{__name__=~\"a.*\",job!=\"x\"}")]
    [InlineData("0x1F + 1e3 + .5 + Inf", "(((31 Add 1000) Add 0.5) Add Infinity)")]
    [InlineData("'single' ", "\"single\"")]
    [InlineData("`raw\\n`", "\"raw\\n\"")]
    public void Parse_ValidQuery_BuildsTreeWithPrometheusPrecedence(string query, string expected)
    {
        Assert.Equal(expected, Show(PromParser.Parse(query)));
    }

    [Theory]
    [InlineData("", "1:1: parse error: no expression found in input")]
    [InlineData("rate(x)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector")]
    [InlineData("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher")]
    [InlineData("x{a=\"\"}", "")]
    [InlineData("{a=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher")]
    [InlineData("1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier")]
    [InlineData("foo{bar=\"baz\"", "1:14: parse error: unexpected end of input in label matching, expected \",\" or \"}\"")]
    [InlineData("x offset 5m offset 1m", "1:13: parse error: offset may not be set multiple times")]
    [InlineData("nosuch(x[5m])", "1:1: parse error: unknown function with name \"nosuch\"")]
    [InlineData("sum(x[5m])", "1:1: parse error: expected type instant vector in aggregation expression, got range vector")]
    [InlineData("x[5m][1m]", "1:6: parse error: ranges only allowed for vector selectors")]
    [InlineData("x +", "1:4: parse error: unexpected end of input")]
    [InlineData("x[5m:1m]", "1:5: parse error: subqueries are not supported")]
    [InlineData("a and b", "1:3: parse error: set operator \"and\" is not supported")]
    [InlineData("x{a=~\"(\"}", "1:6: parse error: invalid regular expression")]
    [InlineData("\"unterminated", "1:1: parse error: unterminated quoted string")]
    [InlineData("x[5x]", "1:3: parse error: bad number or duration syntax: \"5\"")]
    public void Parse_InvalidQuery_FailsWithPositionedMessage(string query, string expectedPrefix)
    {
        if (expectedPrefix.Length == 0)
        {
            // x{a=""} is valid: the metric name matcher is non-empty.
            Assert.IsType<VectorSelector>(PromParser.Parse(query));
            return;
        }

        var ex = Assert.Throws<PromQueryException>(() => PromParser.Parse(query));
        Assert.Equal("bad_data", ex.ErrorType);
        Assert.Equal(400, ex.HttpStatusCode);
        Assert.StartsWith(expectedPrefix, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RegexMatcher_IsFullyAnchored()
    {
        var selector = Assert.IsType<VectorSelector>(PromParser.Parse("x{job=~\"api|db\"}"));
        var m = selector.Matchers.Single(m => m.Name == "job");
        Assert.Equal(LabelMatchType.RegexMatch, m.Type);
        Assert.True(m.Matches("api"));
        Assert.True(m.Matches("db"));
        Assert.False(m.Matches("api2"));
        Assert.False(m.Matches("xdb"));
    }
}
