using Flotel.Store.Query.Prometheus;

namespace Flotel.Store.Tests.Query.Prometheus;

/// <summary>
/// <see cref="PromPrinter"/>: parsing the printed text gives back the same tree, over every construct the parser
/// accepts; the spelling is Prometheus 2.42's <c>format_query</c> for expressions under 100 characters.
/// </summary>
public sealed class PromPrinterTests
{
    public static TheoryData<string> Expressions => new()
    {
        "up", "{job=\"a\"}", "{__name__=~\"up|down\"}", "up{job=\"a\",instance!=\"b\",x=~\"c.*\",y!~\"d\"}", "up offset 5m",
        "up offset -1h30m", "up[5m]", "up[1h2m3s4ms] offset 1w", "rate(up[5m])", "sum(up)", "sum by (job) (up)",
        "sum without (job, instance) (up)", "sum without () (up)", "sum(up) by (job)", "topk(3, up)", "topk by (job) (3, up)",
        "count_values(\"v\", up)", "quantile(0.9, up)", "1", "-1", "1.5", "1e+21", "1e-05", "0.0001", "123456789012345678901",
        "0x1F", "Inf", "-Inf", "NaN", "+5", "- -5", "-(1)", "-up", "-up ^ 2", "2 ^ -1", "2 ^ 3 ^ 4", "(2 ^ 3) ^ 4", "1 + 2 * 3",
        "(1 + 2) * 3", "1 - 2 - 3", "1 - (2 - 3)", "up > bool 1", "1 == bool 1", "up and up", "up or up unless up",
        "up + on(job) up", "up + ignoring(instance) up", "up + on() up", "up * on(job) group_left(instance) up",
        "up * ignoring(x) group_right() up", "up * ignoring() group_left up", "up + ignoring() up", "up / on(job) group_right up",
        "\"a\\\"b\\\\c\\nd\\te\\u0001\"", "'single'", "`raw\\n`", "\"ünïcödé 😀\"", "time()", "vector(1)", "scalar(up)",
        "label_replace(up, \"a\", \"$1\", \"job\", \"(.*)\")", "label_join(up, \"a\", \",\", \"job\", \"instance\")",
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", "clamp(up, 0, 1)", "round(up, 0.5)",
        "absent(nonexistent{job=\"x\"})", "sort_desc(sum by (job) (rate(up[5m] offset 1d)))",
        "avg_over_time(up[1y2w3d])", "quantile_over_time(0.5, up[10m])", "predict_linear(up[1h], 3600)",
        "((up))", "sum(rate(a[5m])) / sum(rate(b[5m])) * 100 > 5", "up # a comment", "up:recorded:rule{a=\"b\"}",
        "count(up == 1) by (job) > bool 0 or vector(0)", "max(up) - min(up) % 2 ^ 2", "timestamp(up offset 1m)",
        "sum by (job) (up) + on(job) group_left() count by (job) (up)", "-(-(time()))", "1 < bool 2 > bool 0",
    };

    [Theory]
    [MemberData(nameof(Expressions))]
    public void Format_AnyExpression_ParsesBackToTheSameTree(string query)
    {
        var parsed = PromParser.Parse(query);
        var printed = PromPrinter.Format(parsed);
        var reparsed = PromParser.Parse(printed);
        AssertSameTree(parsed, reparsed, printed);
        Assert.Equal(printed, PromPrinter.Format(reparsed));
    }

    [Theory]
    [InlineData("sum(rate(up[5m]))by(job)", "sum by (job) (rate(up[5m]))")]
    [InlineData("foo{a=\"b\",c!~\"d\"} offset 5m", "foo{a=\"b\",c!~\"d\"} offset 5m")]
    [InlineData("up   +on (job)  group_left(x)up", "up + on (job) group_left (x) up")]
    [InlineData("topk(3,up)without(a)", "topk without (a) (3, up)")]
    [InlineData("1000000", "1e+06")]
    [InlineData("100000", "100000")]
    [InlineData("up[1y2w3d4h5m6s7ms]", "up[382d4h5m6s7ms]")]
    [InlineData("up[14d]", "up[2w]")]
    [InlineData("up[365d]", "up[1y]")]
    [InlineData("0.000001", "1e-06")]
    [InlineData("up[90s]", "up[1m30s]")]
    [InlineData("'it\\'s'", "\"it's\"")]
    [InlineData("`a\\b`", "\"a\\\\b\"")]
    public void Format_KnownExpression_IsSpelledAsPrometheus(string query, string expected)
    {
        Assert.Equal(expected, PromPrinter.Format(PromParser.Parse(query)));
    }

    [Fact]
    public void Format_DeepestAcceptedExpression_RoundTrips()
    {
        var query = new string('(', PromParser.MaxDepth - 1) + "1" + new string(')', PromParser.MaxDepth - 1);
        var printed = PromPrinter.Format(PromParser.Parse(query));
        Assert.Equal(query, printed);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1.0 / 3)]
    [InlineData(1e21)]
    [InlineData(9.999999999999999e20)]
    [InlineData(-2.5e-300)]
    [InlineData(double.MaxValue)]
    [InlineData(double.Epsilon)]
    [InlineData(-0.0)]
    [InlineData(123.456)]
    public void FormatNumber_AnyDouble_ParsesBackToTheSameValue(double value)
    {
        var text = PromPrinter.FormatNumber(value);
        var parsed = PromParser.Parse(text);
        var number = Assert.IsType<NumberLiteral>(parsed);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(number.Value));
    }

    [Fact]
    public void FormatNumber_RandomDoubles_ParseBackExactly()
    {
        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var value = BitConverter.Int64BitsToDouble(random.NextInt64());
            if (!double.IsFinite(value))
            {
                continue;
            }

            var parsed = Assert.IsType<NumberLiteral>(PromParser.Parse(PromPrinter.FormatNumber(value)));
            Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(parsed.Value));
        }
    }

    private static void AssertSameTree(PromExpr expected, PromExpr actual, string printed)
    {
        Assert.True(expected.GetType() == actual.GetType(), $"{printed}: {expected.GetType().Name} became {actual.GetType().Name}");
        switch (expected)
        {
            case NumberLiteral n:
                var other = (NumberLiteral)actual;
                Assert.True(n.Value.Equals(other.Value) && double.IsNegative(n.Value) == double.IsNegative(other.Value), printed);
                break;
            case StringLiteral s:
                Assert.Equal(s.Value, ((StringLiteral)actual).Value);
                break;
            case VectorSelector v:
                AssertSameSelector(v, (VectorSelector)actual, printed);
                break;
            case MatrixSelector m:
                Assert.Equal(m.RangeMs, ((MatrixSelector)actual).RangeMs);
                AssertSameSelector(m.Selector, ((MatrixSelector)actual).Selector, printed);
                break;
            case Call c:
                var call = (Call)actual;
                Assert.Equal(c.Function, call.Function);
                Assert.Equal(c.Args.Count, call.Args.Count);
                for (var i = 0; i < c.Args.Count; i++)
                {
                    AssertSameTree(c.Args[i], call.Args[i], printed);
                }

                break;
            case Aggregate a:
                var agg = (Aggregate)actual;
                Assert.Equal(a.Op, agg.Op);
                Assert.Equal(a.Without, agg.Without);
                Assert.Equal(a.Grouping, agg.Grouping);
                Assert.Equal(a.Param is null, agg.Param is null);
                if (a.Param is not null)
                {
                    AssertSameTree(a.Param, agg.Param!, printed);
                }

                AssertSameTree(a.Expr, agg.Expr, printed);
                break;
            case Unary u:
                AssertSameTree(u.Expr, ((Unary)actual).Expr, printed);
                break;
            case Paren p:
                AssertSameTree(p.Expr, ((Paren)actual).Expr, printed);
                break;
            case Binary b:
                var bin = (Binary)actual;
                Assert.Equal(b.Op, bin.Op);
                Assert.Equal(b.ReturnBool, bin.ReturnBool);
                Assert.Equal(b.Card, bin.Card);
                Assert.Equal(b.Include, bin.Include);
                // ignoring() with no labels and no group modifier is the default matching: printed as nothing.
                var defaultMatching = b.MatchingLabels is { Count: 0 } && !b.On && b.Card is MatchCardinality.OneToOne or MatchCardinality.ManyToMany;
                if (!defaultMatching)
                {
                    Assert.Equal(b.On, bin.On);
                    Assert.Equal(b.MatchingLabels, bin.MatchingLabels);
                }
                else
                {
                    Assert.True(bin.MatchingLabels is null or { Count: 0 } && !bin.On, printed);
                }

                AssertSameTree(b.Lhs, bin.Lhs, printed);
                AssertSameTree(b.Rhs, bin.Rhs, printed);
                break;
            default:
                Assert.Fail("unknown node " + expected.GetType().Name);
                break;
        }
    }

    private static void AssertSameSelector(VectorSelector expected, VectorSelector actual, string printed)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.OffsetMs, actual.OffsetMs);
        Assert.Equal(expected.Matchers.Count, actual.Matchers.Count);
        for (var i = 0; i < expected.Matchers.Count; i++)
        {
            Assert.True(expected.Matchers[i].Type == actual.Matchers[i].Type && expected.Matchers[i].Name == actual.Matchers[i].Name
                && expected.Matchers[i].Value == actual.Matchers[i].Value, printed + ": matcher " + i);
        }
    }
}
