using Flotel.Gateway.Store.Metrics;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>
/// Evaluates parsed PromQL over a <see cref="MetricStore"/> with Prometheus 2.x semantics:
/// <list type="bullet">
/// <item>An instant selector at time t takes each series' newest sample in [t − offset − 5m, t − offset]
/// (lookback delta, both ends inclusive as in 2.x); a stale marker there means "no value".</item>
/// <item>A range selector <c>[r]</c> takes the samples in [t − offset − r, t − offset], stale markers dropped.</item>
/// <item><c>rate</c>/<c>increase</c> use Prometheus's extrapolated rate (promql/functions.go extrapolatedRate):
/// counter resets add the pre-reset value; the sampled interval is extended towards each range boundary by the
/// gap to it when that gap is under 1.1 × the average sample interval, else by half an interval, and towards
/// the start no further than where the counter would have been zero.</item>
/// <item>Functions (except <c>last_over_time</c>), arithmetic and <c>bool</c> comparisons drop <c>__name__</c>.</item>
/// </list>
/// Selectors are read from the store once per query for the whole evaluation range, then sliced per step.
/// </summary>
internal sealed class PromEngine(MetricStore store)
{
    /// <summary>Prometheus's default lookback delta (--query.lookback-delta).</summary>
    public const long LookbackMs = 5 * 60 * 1000;

    /// <summary>Most points per series a range query may produce (Prometheus's API limit).</summary>
    public const long MaxPointsPerSeries = 11_000;

    private readonly Dictionary<VectorSelector, IReadOnlyList<SeriesSamples>> _data = [];

    /// <summary>Evaluates <paramref name="expr"/> at <paramref name="timeMs"/>.</summary>
    public PromValue Instant(PromExpr expr, long timeMs)
    {
        ArgumentNullException.ThrowIfNull(expr);
        Prefetch(expr, timeMs, timeMs);
        return Eval(expr, timeMs);
    }

    /// <summary>Evaluates <paramref name="expr"/> at start, start + step, … ≤ end; series sorted by labels.</summary>
    public List<(LabelSet Labels, List<Sample> Points)> Range(PromExpr expr, long startMs, long endMs, long stepMs)
    {
        ArgumentNullException.ThrowIfNull(expr);
        if (expr.Type is not (PromType.Scalar or PromType.Vector))
        {
            throw new PromQueryException("invalid expression type \"" + PromParser.TypeName(expr.Type) + "\" for range query, must be Scalar or instant Vector");
        }

        Prefetch(expr, startMs, endMs);
        var series = new Dictionary<LabelSet, List<Sample>>();
        for (var t = startMs; t <= endMs; t += stepMs)
        {
            var value = Eval(expr, t);
            if (value is ScalarValue s)
            {
                Add(series, LabelSet.Empty, t, s.Value);
            }
            else
            {
                foreach (var v in ((VectorValue)value).Samples)
                {
                    Add(series, v.Labels, t, v.Value);
                }
            }
        }

        var result = new List<(LabelSet, List<Sample>)>(series.Count);
        foreach (var kv in series)
        {
            result.Add((kv.Key, kv.Value));
        }

        result.Sort(static (a, b) => CompareLabels(a.Item1, b.Item1));
        return result;
    }

    private static void Add(Dictionary<LabelSet, List<Sample>> series, LabelSet labels, long t, double v)
    {
        if (!series.TryGetValue(labels, out var list))
        {
            list = [];
            series[labels] = list;
        }

        list.Add(new Sample(t, v));
    }

    /// <summary>Prometheus's labels.Compare: label by label, name then value, shorter set first.</summary>
    internal static int CompareLabels(LabelSet a, LabelSet b)
    {
        var n = Math.Min(a.Count, b.Count);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(a[i].Name, b[i].Name);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a[i].Value, b[i].Value);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Count.CompareTo(b.Count);
    }

    private void Prefetch(PromExpr expr, long startMs, long endMs)
    {
        switch (expr)
        {
            case VectorSelector vs:
                Fetch(vs, LookbackMs, startMs, endMs);
                break;
            case MatrixSelector ms:
                Fetch(ms.Selector, ms.RangeMs, startMs, endMs);
                break;
            case Call c:
                foreach (var a in c.Args)
                {
                    Prefetch(a, startMs, endMs);
                }

                break;
            case Aggregate a:
                Prefetch(a.Expr, startMs, endMs);
                break;
            case Unary u:
                Prefetch(u.Expr, startMs, endMs);
                break;
            case Paren p:
                Prefetch(p.Expr, startMs, endMs);
                break;
            case Binary b:
                Prefetch(b.Lhs, startMs, endMs);
                Prefetch(b.Rhs, startMs, endMs);
                break;
        }
    }

    private void Fetch(VectorSelector vs, long windowMs, long startMs, long endMs)
    {
        if (!_data.ContainsKey(vs))
        {
            _data[vs] = store.Select(vs.Matchers, startMs - vs.OffsetMs - windowMs, endMs - vs.OffsetMs);
        }
    }

    private PromValue Eval(PromExpr expr, long t) => expr switch
    {
        NumberLiteral n => new ScalarValue(n.Value),
        StringLiteral s => new StringValue(s.Value),
        Paren p => Eval(p.Expr, t),
        VectorSelector vs => new VectorValue(SelectInstant(vs, t)),
        MatrixSelector ms => new MatrixValue(SelectRange(ms, t)),
        Call c => EvalCall(c, t),
        Aggregate a => EvalAggregate(a, t),
        Unary u => EvalUnary(u, t),
        Binary b => EvalBinary(b, t),
        _ => throw new InvalidOperationException("unknown expression node " + expr.GetType().Name),
    };

    private List<VectorSample> SelectInstant(VectorSelector vs, long t)
    {
        var refTime = t - vs.OffsetMs;
        var result = new List<VectorSample>();
        foreach (var series in _data[vs])
        {
            var i = UpperBound(series.Samples, refTime) - 1;
            if (i < 0)
            {
                continue;
            }

            var s = series.Samples[i];
            if (s.TimestampMs < refTime - LookbackMs || s.IsStaleMarker)
            {
                continue;
            }

            result.Add(new VectorSample(series.Labels, s.Value));
        }

        return result;
    }

    private List<SeriesSamples> SelectRange(MatrixSelector ms, long t)
    {
        var maxT = t - ms.Selector.OffsetMs;
        var minT = maxT - ms.RangeMs;
        var result = new List<SeriesSamples>();
        foreach (var series in _data[ms.Selector])
        {
            var from = LowerBound(series.Samples, minT);
            var to = UpperBound(series.Samples, maxT);
            if (from >= to)
            {
                continue;
            }

            var points = new List<Sample>(to - from);
            for (var i = from; i < to; i++)
            {
                if (!series.Samples[i].IsStaleMarker)
                {
                    points.Add(series.Samples[i]);
                }
            }

            if (points.Count > 0)
            {
                result.Add(new SeriesSamples(series.Labels, [.. points]));
            }
        }

        return result;
    }

    /// <summary>First index with timestamp ≥ <paramref name="t"/>.</summary>
    private static int LowerBound(Sample[] samples, long t)
    {
        int lo = 0, hi = samples.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (samples[mid].TimestampMs < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>First index with timestamp &gt; <paramref name="t"/>.</summary>
    private static int UpperBound(Sample[] samples, long t)
    {
        int lo = 0, hi = samples.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (samples[mid].TimestampMs <= t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <param name="keepName">
    /// Keep <c>__name__</c> (and so skip the duplicate check) because an enclosing aggregation groups without it —
    /// Prometheus 3's delayed name removal: <c>sum by (job) (rate({job="x"}[1m]))</c> over series that differ only by
    /// name gives the same answer as if the names were dropped first, instead of Prometheus 2's "same labelset" error.
    /// </param>
    private VectorValue EvalCall(Call call, long t, bool keepName = false)
    {
        var ms = (MatrixSelector)UnwrapParens(call.Args[0]);
        var windows = SelectRange(ms, t);
        var rangeEnd = t - ms.Selector.OffsetMs;
        var rangeStart = rangeEnd - ms.RangeMs;
        var result = new List<VectorSample>();
        foreach (var w in windows)
        {
            double? value = call.Function switch
            {
                "rate" => ExtrapolatedRate(w.Samples, rangeStart, rangeEnd, isCounter: true, isRate: true),
                "increase" => ExtrapolatedRate(w.Samples, rangeStart, rangeEnd, isCounter: true, isRate: false),
                "irate" => InstantRate(w.Samples),
                "avg_over_time" => AvgOverTime(w.Samples),
                "min_over_time" => MinMaxOverTime(w.Samples, max: false),
                "max_over_time" => MinMaxOverTime(w.Samples, max: true),
                "sum_over_time" => SumOverTime(w.Samples),
                "count_over_time" => w.Samples.Length,
                "last_over_time" => w.Samples[^1].Value,
                _ => throw new InvalidOperationException("unknown function " + call.Function),
            };
            if (value is { } v)
            {
                var labels = keepName || call.Function == "last_over_time" ? w.Labels : DropMetricName(w.Labels);
                result.Add(new VectorSample(labels, v));
            }
        }

        if (!keepName)
        {
            CheckUniqueLabels(result);
        }

        return new VectorValue(result);
    }

    private static PromExpr UnwrapParens(PromExpr e)
    {
        while (e is Paren p)
        {
            e = p.Expr;
        }

        return e;
    }

    /// <summary>Prometheus's extrapolatedRate (promql/functions.go), for rate and increase.</summary>
    internal static double? ExtrapolatedRate(Sample[] samples, long rangeStartMs, long rangeEndMs, bool isCounter, bool isRate)
    {
        if (samples.Length < 2)
        {
            return null;
        }

        var first = samples[0];
        var last = samples[^1];
        var result = last.Value - first.Value;
        if (isCounter)
        {
            // A drop means the counter restarted from zero: the value before the drop was lost from the difference.
            var previous = 0.0;
            foreach (var s in samples)
            {
                if (s.Value < previous)
                {
                    result += previous;
                }

                previous = s.Value;
            }
        }

        var durationToStart = (first.TimestampMs - rangeStartMs) / 1000.0;
        var durationToEnd = (rangeEndMs - last.TimestampMs) / 1000.0;
        var sampledInterval = (last.TimestampMs - first.TimestampMs) / 1000.0;
        var averageInterval = sampledInterval / (samples.Length - 1);
        if (isCounter && result > 0 && first.Value >= 0)
        {
            // A counter cannot go below zero: do not extrapolate to before the time it would have been zero.
            var durationToZero = sampledInterval * (first.Value / result);
            if (durationToZero < durationToStart)
            {
                durationToStart = durationToZero;
            }
        }

        var threshold = averageInterval * 1.1;
        var extrapolateTo = sampledInterval;
        extrapolateTo += durationToStart < threshold ? durationToStart : averageInterval / 2;
        extrapolateTo += durationToEnd < threshold ? durationToEnd : averageInterval / 2;
        result *= extrapolateTo / sampledInterval;
        if (isRate)
        {
            result /= (rangeEndMs - rangeStartMs) / 1000.0;
        }

        return result;
    }

    /// <summary>irate: per-second rate between the last two samples (a drop counts as a reset from zero).</summary>
    internal static double? InstantRate(Sample[] samples)
    {
        if (samples.Length < 2)
        {
            return null;
        }

        var last = samples[^1];
        var previous = samples[^2];
        var result = last.Value < previous.Value ? last.Value : last.Value - previous.Value;
        var interval = last.TimestampMs - previous.TimestampMs;
        if (interval == 0)
        {
            return null;
        }

        return result / (interval / 1000.0);
    }

    /// <summary>Incremental mean as Prometheus 2.42 computes it (avoids overflow; infinities handled apart).</summary>
    private static double AvgOverTime(Sample[] samples)
    {
        double mean = 0, count = 0;
        foreach (var s in samples)
        {
            count++;
            if (double.IsInfinity(mean))
            {
                if (double.IsInfinity(s.Value) && (mean > 0) == (s.Value > 0))
                {
                    continue;
                }

                if (!double.IsInfinity(s.Value) && !double.IsNaN(s.Value))
                {
                    continue;
                }
            }

            mean += (s.Value / count) - (mean / count);
        }

        return mean;
    }

    private static double SumOverTime(Sample[] samples)
    {
        var sum = 0.0;
        foreach (var s in samples)
        {
            sum += s.Value;
        }

        return sum;
    }

    private static double MinMaxOverTime(Sample[] samples, bool max)
    {
        var result = samples[0].Value;
        foreach (var s in samples)
        {
            if ((max ? s.Value > result : s.Value < result) || double.IsNaN(result))
            {
                result = s.Value;
            }
        }

        return result;
    }

    private sealed class Group(LabelSet labels, double first)
    {
        public LabelSet Labels = labels;
        public double Value = first;
        public double Mean = first;
        public double Count = 1;
    }

    private VectorValue EvalAggregate(Aggregate agg, long t)
    {
        // Grouping that never looks at __name__ makes keeping it until here invisible in the result (see EvalCall).
        var input = UnwrapParens(agg.Expr) is Call call && !agg.Grouping.Contains(Label.MetricNameLabel)
            ? EvalCall(call, t, keepName: true).Samples
            : ((VectorValue)Eval(agg.Expr, t)).Samples;
        var groups = new Dictionary<LabelSet, Group>();
        var order = new List<Group>();
        foreach (var s in input)
        {
            var key = GroupingLabels(s.Labels, agg.Grouping, agg.Without);
            if (!groups.TryGetValue(key, out var g))
            {
                g = new Group(key, s.Value);
                groups[key] = g;
                order.Add(g);
                continue;
            }

            g.Count++;
            switch (agg.Op)
            {
                case "sum":
                    g.Value += s.Value;
                    break;
                case "avg":
                    if (double.IsInfinity(g.Mean))
                    {
                        if (double.IsInfinity(s.Value) && (g.Mean > 0) == (s.Value > 0))
                        {
                            break;
                        }

                        if (!double.IsInfinity(s.Value) && !double.IsNaN(s.Value))
                        {
                            break;
                        }
                    }

                    g.Mean += (s.Value / g.Count) - (g.Mean / g.Count);
                    break;
                case "min":
                    if (g.Value > s.Value || double.IsNaN(g.Value))
                    {
                        g.Value = s.Value;
                    }

                    break;
                case "max":
                    if (g.Value < s.Value || double.IsNaN(g.Value))
                    {
                        g.Value = s.Value;
                    }

                    break;
            }
        }

        var result = new List<VectorSample>(order.Count);
        foreach (var g in order)
        {
            var value = agg.Op switch
            {
                "avg" => g.Mean,
                "count" => g.Count,
                _ => g.Value,
            };
            result.Add(new VectorSample(g.Labels, value));
        }

        return new VectorValue(result);
    }

    private static LabelSet GroupingLabels(LabelSet labels, IReadOnlyList<string> grouping, bool without)
    {
        var kept = new List<Label>(labels.Count);
        foreach (var l in labels)
        {
            var listed = false;
            foreach (var g in grouping)
            {
                if (string.Equals(g, l.Name, StringComparison.Ordinal))
                {
                    listed = true;
                    break;
                }
            }

            var keep = without ? !listed && l.Name != Label.MetricNameLabel : listed;
            if (keep)
            {
                kept.Add(l);
            }
        }

        return LabelSet.UnsafeFromSorted([.. kept]);
    }

    private PromValue EvalUnary(Unary u, long t)
    {
        var v = Eval(u.Expr, t);
        if (v is ScalarValue s)
        {
            return new ScalarValue(-s.Value);
        }

        var samples = ((VectorValue)v).Samples;
        var result = new List<VectorSample>(samples.Count);
        foreach (var x in samples)
        {
            result.Add(new VectorSample(DropMetricName(x.Labels), -x.Value));
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    private PromValue EvalBinary(Binary b, long t)
    {
        var lhs = Eval(b.Lhs, t);
        var rhs = Eval(b.Rhs, t);
        if (lhs is ScalarValue ls && rhs is ScalarValue rs)
        {
            var (value, keep) = Apply(b.Op, ls.Value, rs.Value);
            return new ScalarValue(b.IsComparison ? (keep ? 1 : 0) : value);
        }

        var dropName = !b.IsComparison || b.ReturnBool;
        var result = new List<VectorSample>();
        if (lhs is VectorValue lv && rhs is VectorValue rv)
        {
            VectorVector(b, lv.Samples, rv.Samples, dropName, result);
        }
        else
        {
            var vectorOnLeft = lhs is VectorValue;
            var vector = vectorOnLeft ? ((VectorValue)lhs).Samples : ((VectorValue)rhs).Samples;
            var scalar = vectorOnLeft ? ((ScalarValue)rhs).Value : ((ScalarValue)lhs).Value;
            foreach (var s in vector)
            {
                var (value, keep) = vectorOnLeft ? Apply(b.Op, s.Value, scalar) : Apply(b.Op, scalar, s.Value);
                if (b.IsComparison)
                {
                    // The vector element's value is the output of a filter, whichever side it is on.
                    value = s.Value;
                }

                if (b.ReturnBool)
                {
                    value = keep ? 1 : 0;
                    keep = true;
                }

                if (keep)
                {
                    result.Add(new VectorSample(dropName ? DropMetricName(s.Labels) : s.Labels, value));
                }
            }
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    private static void VectorVector(Binary b, List<VectorSample> lhs, List<VectorSample> rhs, bool dropName, List<VectorSample> result)
    {
        var right = new Dictionary<LabelSet, VectorSample>();
        foreach (var r in rhs)
        {
            var sig = Signature(r.Labels, b);
            if (!right.TryAdd(sig, r))
            {
                throw PromQueryException.Execution("found duplicate series for the match group " + sig + " on the right hand-side of the operation: [" + r.Labels + ", " + right[sig].Labels + "];many-to-many matching not allowed: matching labels must be unique on one side");
            }
        }

        var matched = new HashSet<LabelSet>();
        foreach (var l in lhs)
        {
            var sig = Signature(l.Labels, b);
            if (!right.TryGetValue(sig, out var r))
            {
                continue;
            }

            if (!matched.Add(sig))
            {
                throw PromQueryException.Execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
            }

            var (value, keep) = Apply(b.Op, l.Value, r.Value);
            if (b.ReturnBool)
            {
                value = keep ? 1 : 0;
                keep = true;
            }

            if (!keep)
            {
                continue;
            }

            var labels = dropName ? DropMetricName(l.Labels) : l.Labels;
            if (b.MatchingLabels is not null)
            {
                labels = b.On ? Keep(labels, b.MatchingLabels) : Remove(labels, b.MatchingLabels);
            }

            result.Add(new VectorSample(labels, value));
        }
    }

    private static LabelSet Signature(LabelSet labels, Binary b)
    {
        if (b.MatchingLabels is null)
        {
            return DropMetricName(labels);
        }

        return b.On ? Keep(labels, b.MatchingLabels) : Remove(DropMetricName(labels), b.MatchingLabels);
    }

    private static LabelSet Keep(LabelSet labels, IReadOnlyList<string> names) => GroupingLabels(labels, names, without: false);

    private static LabelSet Remove(LabelSet labels, IReadOnlyList<string> names)
    {
        var kept = new List<Label>(labels.Count);
        foreach (var l in labels)
        {
            var listed = false;
            foreach (var n in names)
            {
                listed |= string.Equals(n, l.Name, StringComparison.Ordinal);
            }

            if (!listed)
            {
                kept.Add(l);
            }
        }

        return LabelSet.UnsafeFromSorted([.. kept]);
    }

    /// <summary>Arithmetic result, or for a comparison (lhs, whether it holds) — Prometheus's vectorElemBinop.</summary>
    private static (double Value, bool Keep) Apply(TokenKind op, double l, double r) => op switch
    {
        TokenKind.Add => (l + r, true),
        TokenKind.Sub => (l - r, true),
        TokenKind.Mul => (l * r, true),
        TokenKind.Div => (l / r, true),
        TokenKind.Mod => (l % r, true), // C# % on doubles is Go's math.Mod: the sign of the dividend
        TokenKind.Pow => (Math.Pow(l, r), true),
        TokenKind.EqlEql => (l, l == r),
        TokenKind.Neq => (l, l != r),
        TokenKind.Gtr => (l, l > r),
        TokenKind.Lss => (l, l < r),
        TokenKind.Gte => (l, l >= r),
        TokenKind.Lte => (l, l <= r),
        _ => throw new InvalidOperationException("operator " + op + " is not a binary operator"),
    };

    internal static LabelSet DropMetricName(LabelSet labels)
    {
        if (!labels.TryGetValue(Label.MetricNameLabel, out _))
        {
            return labels;
        }

        var kept = new Label[labels.Count - 1];
        var i = 0;
        foreach (var l in labels)
        {
            if (l.Name != Label.MetricNameLabel)
            {
                kept[i++] = l;
            }
        }

        return LabelSet.UnsafeFromSorted(kept);
    }

    private static void CheckUniqueLabels(List<VectorSample> samples)
    {
        if (samples.Count < 2)
        {
            return;
        }

        var seen = new HashSet<LabelSet>();
        foreach (var s in samples)
        {
            if (!seen.Add(s.Labels))
            {
                throw PromQueryException.Execution("vector cannot contain metrics with the same labelset");
            }
        }
    }
}
