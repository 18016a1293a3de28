using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;

namespace Flotel.Store.Tests.Query.Prometheus;

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
        Aggregate a => a.Op.Keyword() + (a.Without ? " without" : " by") + "(" + string.Join(",", a.Grouping) + ")(" + (a.Param is null ? string.Empty : Show(a.Param) + ",") + Show(a.Expr) + ")",
        Unary u => "(-" + Show(u.Expr) + ")",
        Paren p => Show(p.Expr),
        Binary b => "(" + Show(b.Lhs) + " " + b.Op + (b.ReturnBool ? " bool" : string.Empty) + Matching(b) + " " + Show(b.Rhs) + ")",
        _ => "?",
    };

    private static string Matching(Binary b) =>
        (b.MatchingLabels is null ? string.Empty : (b.On ? " on" : " ignoring") + "(" + string.Join(",", b.MatchingLabels) + ")")
        + (b.Card is MatchCardinality.ManyToOne or MatchCardinality.OneToMany ? " " + b.Card + "(" + string.Join(",", b.Include) + ")" : string.Empty);

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
    [InlineData("a or b and c", "(a{} Or (b{} And c{}))")]
    [InlineData("a unless b or c", "((a{} Unless b{}) Or c{})")]
    [InlineData("a and b > 1", "(a{} And (b{} Gtr 1))")]
    [InlineData("a or b unless c and d", "(a{} Or ((b{} Unless c{}) And d{}))")]
    [InlineData("a and on (job) b", "(a{} And on(job) b{})")]
    [InlineData("a unless ignoring (x, y) b", "(a{} Unless ignoring(x,y) b{})")]
    [InlineData("a * on (instance) group_left (version) b", "(a{} Mul on(instance) ManyToOne(version) b{})")]
    [InlineData("a / ignoring (le) group_right b", "(a{} Div ignoring(le) OneToMany() b{})")]
    [InlineData("a > bool on (x) group_left () b", "(a{} Gtr bool on(x) ManyToOne() b{})")]
    [InlineData("topk(3, x)", "topk by()(3,x{})")]
    [InlineData("bottomk by (job) (1, x)", "bottomk by(job)(1,x{})")]
    [InlineData("quantile(0.9, x) without (a)", "quantile without(a)(0.9,x{})")]
    [InlineData("count_values(\"v\", x)", "count_values by()(\"v\",x{})")]
    [InlineData("group(x)", "group by()(x{})")]
    [InlineData("round(x, 0.5) + time()", "(round(x{},0.5) Add time())")]
    [InlineData("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")", "label_join(x{},\"d\",\",\",\"a\",\"b\",\"c\")")]
    [InlineData("histogram_quantile(0.9, rate(x_bucket[5m]))", "histogram_quantile(0.9,rate(x_bucket{}[300000]))")]
    [InlineData("quantile_over_time(0.5, x[1m])", "quantile_over_time(0.5,x{}[60000])")]
    [InlineData("group", "group{}")]
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
    [InlineData("x[5m][10m:1m]", "1:6: parse error: subquery is only allowed on instant vector, got range vector instead")]
    [InlineData("x @ 100 @ 200", "1:9: parse error: @ <timestamp> may not be set multiple times")]
    [InlineData("x @ Inf", "1:5: parse error: timestamp out of bounds for @ modifier: +Inf")]
    [InlineData("(x) @ 100", "1:5: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery")]
    [InlineData("x offset 5m [1m]", "1:13: parse error: no offset or @ modifiers allowed before range")]
    [InlineData("1 and 2", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression")]
    [InlineData("a or on () 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression")]
    [InlineData("a and on (x) group_left b", "1:1: parse error: no grouping allowed for \"and\" operation")]
    [InlineData("a * on (x) group_left (x) b", "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once")]
    [InlineData("a * group_left b", "1:5: parse error: unexpected identifier \"group_left\"")]
    [InlineData("a and bool b", "1:3: parse error: bool modifier can only be used on comparison operators")]
    [InlineData("1 * on (x) a", "1:1: parse error: vector matching only allowed between instant vectors")]
    [InlineData("x[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types")]
    [InlineData("topk(x, y)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector")]
    [InlineData("count_values(1, x)", "1:14: parse error: expected type string in aggregation parameter, got scalar")]
    [InlineData("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1")]
    [InlineData("sum(1, x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2")]
    [InlineData("abs(x[5m])", "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector")]
    [InlineData("clamp(x, 1)", "1:1: parse error: expected 3 argument(s) in call to \"clamp\", got 2")]
    [InlineData("round()", "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0")]
    [InlineData("round(x, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3")]
    [InlineData("label_join(x, \"a\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2")]
    [InlineData("label_replace(x, \"a\", \"b\", \"c\", 1)", "1:33: parse error: expected type string in call to function \"label_replace\", got scalar")]
    [InlineData("histogram_quantile(x, y)", "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got instant vector")]
    [InlineData("quantile_over_time(x[5m], 0.5)", "1:20: parse error: expected type scalar in call to function \"quantile_over_time\", got range vector")]
    [InlineData("time(x)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1")]
    [InlineData("holt_winter(x[5m], 0.5, 0.5)", "1:1: parse error: unknown function with name \"holt_winter\"")]
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
