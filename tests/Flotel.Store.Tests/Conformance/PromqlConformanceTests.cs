using System.Globalization;
using System.Text;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;
using Flotel.Store.Tests.Metrics;

namespace Flotel.Store.Tests.Conformance;

/// <summary>
/// Prometheus's own PromQL engine tests (<c>Conformance/promql/*.test</c>, see the README there) run through
/// <see cref="PromParser"/> and <see cref="PromEngine"/> over a real <see cref="MetricStore"/>, one case per
/// <c>eval</c> named by file and line. Each eval is checked as Prometheus's promql/test.go checks it: the instant
/// query's answer against the expected elements (label sets exactly, values within a relative 1e-6, NaN equal to NaN,
/// order only for <c>eval_ordered</c>), then the same query as a range query from t − 1m to t + 1m by 1m, whose
/// points at t must give the same answer; then, unless the query uses a function that depends on the evaluation time,
/// again with <c>@ t</c> on every selector and outermost subquery, evaluated at other times (test.go's
/// atModifierTestCases). <c>eval_fail</c> must end in a query error, not in any other exception. Range evals
/// (<c>eval range from … to … step …</c>, in later corpora) must give exactly the expected series and points.
/// Evals over native histograms (<c>{{…}}</c> samples) are left out: the store keeps float samples only.
/// </summary>
public sealed class PromqlConformanceTests(PromqlConformanceTests.Stores stores) : IClassFixture<PromqlConformanceTests.Stores>
{
    private const double Epsilon = 0.000001;

    private static readonly double MinNormal = BitConverter.Int64BitsToDouble(0x0010000000000000);

    private static readonly Lazy<Dictionary<string, PromqlTestScript>> Scripts = new(LoadScripts);

    internal static string Directory => Path.Combine(AppContext.BaseDirectory, "Conformance", "promql");

    public static TheoryData<string> Evals()
    {
        var data = new TheoryData<string>();
        foreach (var script in Scripts.Value.Values.OrderBy(s => s.File, StringComparer.Ordinal))
        {
            foreach (var (eval, _) in script.Evals)
            {
                if (!eval.UsesNativeHistograms)
                {
                    data.Add(eval.File + ":" + eval.Line.ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        return data;
    }

    [Fact]
    public void Corpus_IsPresent_AndEveryEvalIsRun()
    {
        var all = Scripts.Value.Values.Sum(s => s.Evals.Count);
        Assert.True(all > 500, "expected the Prometheus corpus (over 500 evals), found " + all);
        Assert.Equal(all, Evals().Count + Scripts.Value.Values.Sum(s => s.Evals.Count(e => e.Eval.UsesNativeHistograms)));
    }

    [Fact]
    public void PinnedAt_SetsAtOnSelectorsAndOutermostSubqueries_AndRefusesTimeDependentFunctions()
    {
        var pinned = Assert.IsType<Binary>(PinnedAt("rate(x[5m]) + y @ 7 + max_over_time(z[1m:10s])", 1000));
        var left = Assert.IsType<Binary>(pinned.Lhs);
        var rate = Assert.IsType<Call>(left.Lhs);
        Assert.Equal(new PromAt(PromAtKind.Time, 1000), Assert.IsType<MatrixSelector>(rate.Args[0]).Selector.At);
        Assert.Equal(new PromAt(PromAtKind.Time, 7000), Assert.IsType<VectorSelector>(left.Rhs).At);
        var subquery = Assert.IsType<Subquery>(Assert.IsType<Call>(pinned.Rhs).Args[0]);
        Assert.Equal(new PromAt(PromAtKind.Time, 1000), subquery.At);
        Assert.Null(Assert.IsType<VectorSelector>(subquery.Expr).At);

        Assert.Null(PinnedAt("timestamp(x)", 1000));
        Assert.Null(PinnedAt("x + time()", 1000));
        Assert.NotNull(PinnedAt("sum_over_time(vector(time())[1m:10s])", 1000));
    }

    [Theory]
    [MemberData(nameof(Evals))]
    public void Eval_MatchesPrometheus(string evalCase)
    {
        var colon = evalCase.LastIndexOf(':');
        var script = Scripts.Value[evalCase[..colon]];
        var line = int.Parse(evalCase[(colon + 1)..], CultureInfo.InvariantCulture);
        var (eval, commandIndex) = script.Evals.Single(e => e.Eval.Line == line);
        var store = stores.At(script, commandIndex);
        var engine = new PromEngine(store);

        if (eval.Range is { } queryRange)
        {
            CheckRange(eval, engine, queryRange);
            return;
        }

        // test.go runs the query as written, then (when that is sound) with @ t on every selector and outermost
        // subquery, evaluated at other times: the answer must not change.
        RunInstant(eval, engine, PromParser.Parse, eval.TimeMs);
        var ts = eval.TimeMs;
        long[] otherTimes = ts == 0 ? [0, 10, 100, 1000, 10000, 100000] : [-10 * ts, 0, ts / 5, ts, 10 * ts];
        if (PinnedAt(eval.Query, ts) is not null)
        {
            foreach (var time in otherTimes)
            {
                RunInstant(eval, engine, query => PinnedAt(query, ts)!, time);
            }
        }
    }

    private static void RunInstant(PromqlEval eval, PromEngine engine, Func<string, PromExpr> parse, long timeMs)
    {
        PromValue result;
        PromExpr expr;
        try
        {
            expr = parse(eval.Query);
            result = engine.Instant(expr, timeMs);
        }
        catch (PromQueryException e) when (eval.Fail)
        {
            CheckFailure(eval, e);
            return;
        }

        var mode = timeMs == eval.TimeMs ? string.Empty : " (with @ " + eval.TimeMs + "ms, at " + timeMs + "ms)";
        Assert.False(eval.Fail, "expected an error evaluating " + eval.Query + mode + " but got none");
        Check(eval, result, "instant" + mode);
        if (eval.Ordered)
        {
            return; // ordering is not defined for range queries (test.go)
        }

        var range = engine.Range(expr, timeMs - 60_000, timeMs + 60_000, 60_000);
        var atT = new List<VectorSample>();
        foreach (var (labels, points) in range)
        {
            foreach (var p in points)
            {
                if (p.TimestampMs == timeMs)
                {
                    atT.Add(new VectorSample(labels, p.Value));
                    break;
                }
            }
        }

        Check(eval, result is ScalarValue ? new ScalarValue(atT[0].Value) : new VectorValue(atT), "range" + mode);
    }

    /// <summary>
    /// test.go's atModifierTestCases: <paramref name="query"/> with <c>@ timeMs</c> set on every selector and subquery
    /// that has none and is not inside a subquery (whose own @ then decides), or null when a function whose answer
    /// depends on the evaluation time or on sample timestamps (engine.go's AtModifierUnsafeFunctions) is outside
    /// any subquery.
    /// </summary>
    internal static PromExpr? PinnedAt(string query, long timeMs)
    {
        var expr = PromParser.Parse(query);
        var at = new PromAt(PromAtKind.Time, timeMs);
        return Pin(expr) ? expr : null;

        bool Pin(PromExpr e)
        {
            switch (e)
            {
                case VectorSelector vs:
                    vs.At ??= at;
                    return true;
                case MatrixSelector ms:
                    ms.Selector.At ??= at;
                    return true;
                case Subquery sq:
                    sq.At ??= at;
                    return true;
                case Call c:
                    return c.Function is not ("days_in_month" or "day_of_month" or "day_of_week" or "day_of_year" or "hour" or "minute"
                        or "month" or "year" or "predict_linear" or "time" or "timestamp") & c.Args.Aggregate(true, (ok, a) => Pin(a) & ok);
                case Aggregate a:
                    return (a.Param is null || Pin(a.Param)) & Pin(a.Expr);
                case Unary u:
                    return Pin(u.Expr);
                case Paren p:
                    return Pin(p.Expr);
                case Binary b:
                    return Pin(b.Lhs) & Pin(b.Rhs);
                default:
                    return true;
            }
        }
    }

    private static void CheckFailure(PromqlEval eval, PromQueryException e)
    {
        Assert.NotEmpty(e.Message);
        if (eval.FailMessage is not null)
        {
            Assert.Equal(eval.FailMessage, e.Message);
        }

        if (eval.FailRegexp is not null)
        {
            Assert.Matches(eval.FailRegexp, e.Message);
        }
    }

    /// <summary>A range eval (later Prometheus versions): every expected series with exactly its points, nothing else.</summary>
    private static void CheckRange(PromqlEval eval, PromEngine engine, (long StartMs, long EndMs, long StepMs) range)
    {
        List<(LabelSet Labels, List<Sample> Points)> result;
        try
        {
            result = engine.Range(PromParser.Parse(eval.Query), range.StartMs, range.EndMs, range.StepMs);
        }
        catch (PromQueryException e) when (eval.Fail)
        {
            CheckFailure(eval, e);
            return;
        }

        Assert.False(eval.Fail, "expected an error evaluating " + eval.Query + " but got none");
        var expected = eval.ExpectedSeries.ToDictionary(x => x.Labels, x => x.Samples);
        foreach (var (labels, points) in result)
        {
            Assert.True(expected.TryGetValue(labels, out var want), "unexpected series " + labels + " in the range result of " + eval.Query);
            Assert.True(want!.Count == points.Count, "series " + labels + ": expected " + want.Count + " points, got " + points.Count);
            for (var i = 0; i < points.Count; i++)
            {
                Assert.True(want[i].TimestampMs == points[i].TimestampMs && AlmostEqual(want[i].Value, points[i].Value), "series " + labels + ": expected " + want[i] + ", got " + points[i]);
            }
        }

        Assert.Equal(expected.Count, result.Count);
    }

    private static void Check(PromqlEval eval, PromValue result, string mode)
    {
        var error = Compare(eval, result);
        if (error is not null)
        {
            Assert.Fail(mode + " query " + eval.Query + " at " + eval.TimeMs + "ms: " + error);
        }
    }

    /// <summary>test.go's compareResult: null when the answer matches.</summary>
    private static string? Compare(PromqlEval eval, PromValue result)
    {
        switch (result)
        {
            case ScalarValue s:
                if (eval.ExpectedScalar is not { } expected)
                {
                    return "got scalar " + Format(s.Value) + ", expected a vector";
                }

                return AlmostEqual(expected, s.Value) ? null : "expected scalar " + Format(expected) + " but got " + Format(s.Value);
            case VectorValue v:
                if (eval.ExpectedScalar is not null && eval.Expected.Count == 0)
                {
                    return "got a vector, expected scalar " + Format(eval.ExpectedScalar.Value);
                }

                var expectedByLabels = new Dictionary<LabelSet, (int Position, double Value)>();
                for (var i = 0; i < eval.Expected.Count; i++)
                {
                    expectedByLabels[eval.Expected[i].Labels] = (i, eval.Expected[i].Value);
                }

                var seen = new HashSet<LabelSet>();
                for (var pos = 0; pos < v.Samples.Count; pos++)
                {
                    var sample = v.Samples[pos];
                    if (!expectedByLabels.TryGetValue(sample.Labels, out var exp))
                    {
                        return "unexpected element " + sample.Labels + " " + Format(sample.Value) + " in result" + Describe(v);
                    }

                    if (eval.Ordered && exp.Position != pos)
                    {
                        return "expected " + sample.Labels + " at position " + (exp.Position + 1) + " but it was at " + (pos + 1) + Describe(v);
                    }

                    if (!AlmostEqual(exp.Value, sample.Value))
                    {
                        return "expected " + Format(exp.Value) + " for " + sample.Labels + " but got " + Format(sample.Value);
                    }

                    seen.Add(sample.Labels);
                }

                foreach (var (labels, value) in eval.Expected)
                {
                    if (!seen.Contains(labels))
                    {
                        return "expected element " + labels + " " + Format(value) + " not found" + Describe(v);
                    }
                }

                return null;
            default:
                return "unexpected result type " + result.Type;
        }
    }

    private static string Describe(VectorValue v)
    {
        var sb = new StringBuilder("; result:");
        foreach (var s in v.Samples.Take(20))
        {
            sb.Append(' ').Append(s.Labels).Append('=').Append(Format(s.Value));
        }

        return sb.ToString();
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>test.go's almostEqual.</summary>
    internal static bool AlmostEqual(double a, double b)
    {
        if (double.IsNaN(a) && double.IsNaN(b))
        {
            return true;
        }

        if (a == b)
        {
            return true;
        }

        var diff = Math.Abs(a - b);
        if (a == 0 || b == 0 || diff < MinNormal)
        {
            return diff < Epsilon * MinNormal;
        }

        return diff / (Math.Abs(a) + Math.Abs(b)) < Epsilon;
    }

    private static Dictionary<string, PromqlTestScript> LoadScripts()
    {
        var scripts = new Dictionary<string, PromqlTestScript>(StringComparer.Ordinal);
        foreach (var path in System.IO.Directory.GetFiles(Directory, "*.test"))
        {
            var name = Path.GetFileName(path);
            scripts[name] = PromqlTestScript.Parse(name, File.ReadAllText(path));
        }

        return scripts;
    }

    /// <summary>
    /// One store per distinct data state of a file (the loads since the last clear before an eval), made on first use
    /// and kept until the class's cases are done: xunit runs theory cases in no particular order, and the evals after
    /// one load share its store.
    /// </summary>
    public sealed class Stores : IDisposable
    {
        private readonly Dictionary<(string File, int CommandIndex), (StoreFixture Fixture, MetricStore Store)> _open = [];

        internal MetricStore At(PromqlTestScript script, int commandIndex)
        {
            lock (_open)
            {
                if (_open.TryGetValue((script.File, commandIndex), out var open))
                {
                    return open.Store;
                }

                var first = commandIndex;
                while (first > 0 && script.Commands[first - 1] is not null)
                {
                    first--;
                }

                var fixture = new StoreFixture();
                var store = fixture.Open();
                for (var i = first; i < commandIndex; i++)
                {
                    foreach (var series in script.Commands[i]!.Value.Series)
                    {
                        store.Append(series.Labels, series.Samples.ToArray());
                    }
                }

                _open[(script.File, commandIndex)] = (fixture, store);
                return store;
            }
        }

        public void Dispose()
        {
            foreach (var (fixture, store) in _open.Values)
            {
                store.Dispose();
                fixture.Dispose();
            }

            _open.Clear();
        }
    }
}
