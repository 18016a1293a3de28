using System.Text.RegularExpressions;
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
/// <item>Functions (except <c>last_over_time</c>, <c>label_replace</c>, <c>label_join</c>, <c>sort</c>,
/// <c>sort_desc</c>), arithmetic and <c>bool</c> comparisons drop <c>__name__</c>; set operators, filters and
/// <c>topk</c>/<c>bottomk</c> keep it.</item>
/// <item>Vector matching: one-to-one, <c>group_left</c>/<c>group_right</c> and the set operators, with
/// Prometheus's execution errors when a match group is not unique where it must be.</item>
/// </list>
/// Selectors are read from the store once per query for the whole evaluation range, then sliced per step.
/// <paramref name="cancellationToken"/> stops the query (client gone, time up: Prometheus's context): it is checked per
/// series read from the store, per step, and every <see cref="SeriesPerCancellationCheck"/> series in per-series loops,
/// and ends evaluation with an <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed partial class PromEngine(MetricStore store, CancellationToken cancellationToken = default)
{
    /// <summary>Prometheus's default lookback delta (--query.lookback-delta).</summary>
    public const long LookbackMs = 5 * 60 * 1000;

    /// <summary>Most points per series a range query may produce (Prometheus's API limit).</summary>
    public const long MaxPointsPerSeries = 11_000;

    /// <summary>
    /// Series handled between two looks at the cancellation token in per-series loops: one look is a memory read, but
    /// these loops do a few nanoseconds per series, and 1,024 series take well under a millisecond.
    /// </summary>
    internal const int SeriesPerCancellationCheck = 1024;

    private readonly Dictionary<VectorSelector, IReadOnlyList<SeriesSamples>> _data = [];

    private readonly Dictionary<VectorSelector, LabelSet[]> _namesDropped = [];

    private readonly Dictionary<MatrixSelector, int[]> _cursors = [];

    private readonly Dictionary<VectorSelector, int[]> _instantCursors = [];

    private readonly Dictionary<(PromExpr Node, int Kind), Dictionary<LabelSet, LabelSet>> _derivedLabels = [];

    /// <summary>Each <c>label_replace</c> call's compiled regex, for this query (see <see cref="LabelReplaceRegex"/>).</summary>
    private readonly Dictionary<Call, (Regex Regex, Dictionary<string, int> GroupNames)> _labelReplaceRegexes = [];

    /// <summary>Samples the query read from the store (its prefetched series).</summary>
    public long SamplesLoaded { get; private set; }

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
            cancellationToken.ThrowIfCancellationRequested();
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
                if (a.Param is not null)
                {
                    Prefetch(a.Param, startMs, endMs);
                }

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
            // Label order, as Prometheus's storage returns series: sort's ties and topk's ties depend on input order.
            var selected = new List<SeriesSamples>(store.Select(vs.Matchers, startMs - vs.OffsetMs - windowMs, endMs - vs.OffsetMs, cancellationToken));
            selected.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
            _data[vs] = selected;
            foreach (var series in selected)
            {
                SamplesLoaded += series.Samples.Length;
            }
        }
    }

    /// <summary>Throws when the query was stopped, looking at the token once every <see cref="SeriesPerCancellationCheck"/> values of <paramref name="index"/>.</summary>
    private void CheckCanceled(int index)
    {
        if (index % SeriesPerCancellationCheck == 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
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
        var result = new List<VectorSample>();
        foreach (var (labels, value, _) in SelectInstantWithTime(vs, t))
        {
            result.Add(new VectorSample(labels, value));
        }

        return result;
    }

    /// <summary>Each series' newest sample in the lookback window, with its timestamp (for <c>timestamp()</c>).</summary>
    private List<(LabelSet Labels, double Value, long TimestampMs)> SelectInstantWithTime(VectorSelector vs, long t)
    {
        var refTime = t - vs.OffsetMs;
        var result = new List<(LabelSet, double, long)>();
        var data = _data[vs];
        if (!_instantCursors.TryGetValue(vs, out var cursors))
        {
            cursors = new int[data.Count];
            _instantCursors[vs] = cursors;
        }

        for (var k = 0; k < data.Count; k++)
        {
            CheckCanceled(k);
            var series = data[k];
            var i = LastAtOrBefore(series.Samples, refTime, ref cursors[k]);
            if (i < 0)
            {
                continue;
            }

            var s = series.Samples[i];
            if (s.TimestampMs < refTime - LookbackMs || s.IsStaleMarker)
            {
                continue;
            }

            result.Add((series.Labels, s.Value, s.TimestampMs));
        }

        return result;
    }

    private List<SeriesSamples> SelectRange(MatrixSelector ms, long t)
    {
        var maxT = t - ms.Selector.OffsetMs;
        var minT = maxT - ms.RangeMs;
        var result = new List<SeriesSamples>();
        var data = _data[ms.Selector];
        var cursors = Cursors(ms, data.Count);
        for (var k = 0; k < data.Count; k++)
        {
            CheckCanceled(k);
            var series = data[k];
            var window = Window(series.Samples, minT, maxT, ref cursors[k]);
            if (!window.IsEmpty)
            {
                result.Add(new SeriesSamples(series.Labels, window.ToArray()));
            }
        }

        return result;
    }

    /// <summary>
    /// The samples in [<paramref name="minT"/>, <paramref name="maxT"/>] without stale markers: a span over
    /// <paramref name="samples"/>, or a filtered copy when the window holds a stale marker. <paramref name="cursor"/> is
    /// <see cref="LastAtOrBefore"/>'s for the sample before the previous window of this series: a range query's windows
    /// move forward a few samples per step, so a short scan from there replaces most binary searches.
    /// </summary>
    internal static ReadOnlySpan<Sample> Window(Sample[] samples, long minT, long maxT, ref int cursor)
    {
        // Timestamps are whole milliseconds: the window starts after the last sample before minT.
        var from = LastAtOrBefore(samples, minT - 1, ref cursor) + 1;
        var to = from;
        var stale = false;
        while (to < samples.Length && samples[to].TimestampMs <= maxT)
        {
            stale |= samples[to].IsStaleMarker;
            to++;
        }

        var window = samples.AsSpan(from, to - from);
        if (!stale)
        {
            return window;
        }

        var kept = new List<Sample>(window.Length);
        foreach (var x in window)
        {
            if (!x.IsStaleMarker)
            {
                kept.Add(x);
            }
        }

        return kept.ToArray();
    }

    /// <summary>Where each series' previous window started, per matrix selector (see <see cref="Window"/>).</summary>
    private int[] Cursors(MatrixSelector selector, int count)
    {
        if (!_cursors.TryGetValue(selector, out var cursors))
        {
            cursors = new int[count];
            _cursors[selector] = cursors;
        }

        return cursors;
    }

    /// <summary>
    /// Index of the last sample at or before <paramref name="t"/> (−1 when none), found from <paramref name="cursor"/>
    /// (this series' answer at the previous step) by a short forward scan, or a binary search when it moved back or far.
    /// </summary>
    internal static int LastAtOrBefore(Sample[] samples, long t, ref int cursor)
    {
        var i = cursor;
        if (i >= samples.Length || (i >= 0 && samples[i].TimestampMs > t))
        {
            i = UpperBound(samples, t) - 1; // moved back
        }
        else
        {
            var limit = Math.Min(samples.Length - 1, i + 8);
            while (i < limit && samples[i + 1].TimestampMs <= t)
            {
                i++;
            }

            if (i == limit && i + 1 < samples.Length && samples[i + 1].TimestampMs <= t)
            {
                i = UpperBound(samples, t) - 1;
            }
        }

        cursor = i;
        return i;
    }

    /// <summary>The label sets of a selector's series without <c>__name__</c>, made once per query (index = series).</summary>
    private LabelSet[] NamesDropped(VectorSelector selector)
    {
        if (!_namesDropped.TryGetValue(selector, out var names))
        {
            var data = _data[selector];
            names = new LabelSet[data.Count];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = DropMetricName(data[i].Labels);
            }

            _namesDropped[selector] = names;
        }

        return names;
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

    private sealed class Group(LabelSet labels, double first)
    {
        public LabelSet Labels = labels;
        public double Value = first;
        public double Mean = first;
        public double Count = 1;

        /// <summary>Welford's running sum of squared deviations (stddev, stdvar).</summary>
        public double SquaredDeviations;

        /// <summary>The members, for the aggregations that need all of them (topk, bottomk, quantile).</summary>
        public List<VectorSample>? Members;
    }

    /// <summary>Aggregations whose result labels are only grouping labels, so input names are never visible.</summary>
    private static bool OutputsGroupingLabelsOnly(string op) => op is not ("topk" or "bottomk");

    private VectorValue EvalAggregate(Aggregate agg, long t)
    {
        // Grouping that never looks at __name__ makes keeping it until here invisible in the result (see EvalCall).
        var input = UnwrapParens(agg.Expr) is Call call && PromFunctions.MapsSeriesDroppingName(call.Function)
            && OutputsGroupingLabelsOnly(agg.Op) && !agg.Grouping.Contains(Label.MetricNameLabel)
            ? ((VectorValue)EvalCall(call, t, keepName: true)).Samples
            : ((VectorValue)Eval(agg.Expr, t)).Samples;
        // By type, not by node: count_values((("version")), …) has a string parameter inside parentheses.
        var param = agg.Param is null || agg.Param.Type == PromType.String ? double.NaN : EvalScalar(agg.Param, t);
        string? valueLabel = null;
        if (agg.Op == "count_values")
        {
            valueLabel = ((StringLiteral)UnwrapParens(agg.Param!)).Value;
            if (!IsValidLabelName(valueLabel))
            {
                throw PromQueryException.Execution("invalid label name \"" + valueLabel + "\"");
            }
        }

        var k = 0L;
        if (agg.Op is "topk" or "bottomk")
        {
            // Prometheus truncates k towards zero; k < 1 selects nothing.
            if (double.IsNaN(param) || param >= 9.2233720368547758E+18 || param < -9.2233720368547758E+18)
            {
                throw PromQueryException.Execution("Scalar value " + PromFormat.FormatFloat(param) + " overflows int64");
            }

            k = (long)param;
            if (k < 1)
            {
                return new VectorValue([]);
            }
        }

        var groups = new Dictionary<LabelSet, Group>();
        var order = new List<Group>();
        foreach (var s in input)
        {
            var labels = s.Labels;
            if (valueLabel is not null)
            {
                labels = WithLabel(labels, valueLabel, PromFormat.FormatFloat(s.Value));
            }

            var key = valueLabel is null
                ? Derived(agg, GroupKey, labels)
                : agg.Without ? GroupingLabels(labels, agg.Grouping, without: true) : GroupingLabels(labels, [.. agg.Grouping, valueLabel], without: false);

            if (!groups.TryGetValue(key, out var g))
            {
                g = new Group(key, s.Value);
                if (agg.Op is "topk" or "bottomk" or "quantile")
                {
                    g.Members = [s];
                }

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
                case "stddev" or "stdvar":
                    // Welford's online algorithm: population variance without a second pass.
                    var delta = s.Value - g.Mean;
                    g.Mean += delta / g.Count;
                    g.SquaredDeviations += delta * (s.Value - g.Mean);
                    break;
                case "topk":
                    PromHeap.Offer(g.Members!, s, k, PromHeap.TopkLess);
                    break;
                case "bottomk":
                    PromHeap.Offer(g.Members!, s, k, PromHeap.BottomkLess);
                    break;
                case "quantile":
                    g.Members!.Add(s);
                    break;
            }
        }

        var result = new List<VectorSample>(order.Count);
        foreach (var g in order)
        {
            switch (agg.Op)
            {
                case "topk" or "bottomk":
                    // Best first: descending for topk, ascending for bottomk (the order of an instant query's answer).
                    var members = g.Members!;
                    var sorted = new List<(VectorSample Sample, int Index)>(members.Count);
                    for (var i = 0; i < members.Count; i++)
                    {
                        sorted.Add((members[i], i));
                    }

                    var top = agg.Op == "topk";
                    sorted.Sort((a, b) =>
                    {
                        var c = top ? PromHeap.CompareForSort(b.Sample.Value, a.Sample.Value) : PromHeap.CompareForSort(a.Sample.Value, b.Sample.Value);
                        return c != 0 ? c : a.Index.CompareTo(b.Index);
                    });
                    foreach (var (sample, _) in sorted)
                    {
                        result.Add(sample);
                    }

                    continue;
                case "quantile":
                    var values = new List<double>(g.Members!.Count);
                    foreach (var m in g.Members)
                    {
                        values.Add(m.Value);
                    }

                    result.Add(new VectorSample(g.Labels, PromMath.Quantile(param, values)));
                    continue;
            }

            var value = agg.Op switch
            {
                "avg" => g.Mean,
                "count" or "count_values" => g.Count,
                "group" => 1,
                "stdvar" => g.SquaredDeviations / g.Count,
                "stddev" => Math.Sqrt(g.SquaredDeviations / g.Count),
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
            switch (b.Op)
            {
                case TokenKind.And or TokenKind.Unless:
                    SetFilter(b, lv.Samples, rv.Samples, keepMatched: b.Op == TokenKind.And, result);
                    break;
                case TokenKind.Or:
                    SetUnion(b, lv.Samples, rv.Samples, result);
                    break;
                default:
                    VectorVector(b, lv.Samples, rv.Samples, dropName, result);
                    break;
            }
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
                    result.Add(new VectorSample(dropName ? Derived(b, LabelsWithoutName, s.Labels) : s.Labels, value));
                }
            }
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    /// <summary><c>and</c> (elements of the left side with a match on the right) and <c>unless</c> (without one); labels and names kept.</summary>
    private void SetFilter(Binary b, List<VectorSample> lhs, List<VectorSample> rhs, bool keepMatched, List<VectorSample> result)
    {
        if (lhs.Count == 0 || rhs.Count == 0)
        {
            if (!keepMatched)
            {
                result.AddRange(lhs);
            }

            return;
        }

        var right = new HashSet<LabelSet>();
        foreach (var r in rhs)
        {
            right.Add(Derived(b, MatchSignature, r.Labels));
        }

        foreach (var l in lhs)
        {
            if (right.Contains(Derived(b, MatchSignature, l.Labels)) == keepMatched)
            {
                result.Add(l);
            }
        }
    }

    /// <summary><c>or</c>: every element of the left side, then those of the right side whose match group the left side lacks.</summary>
    private void SetUnion(Binary b, List<VectorSample> lhs, List<VectorSample> rhs, List<VectorSample> result)
    {
        var left = new HashSet<LabelSet>();
        foreach (var l in lhs)
        {
            left.Add(Derived(b, MatchSignature, l.Labels));
            result.Add(l);
        }

        foreach (var r in rhs)
        {
            if (!left.Contains(Derived(b, MatchSignature, r.Labels)))
            {
                result.Add(r);
            }
        }
    }

    /// <summary>
    /// Arithmetic and comparisons between two vectors. One-to-one by default; with <c>group_left</c> each element
    /// of the left ("many") side may match one element of the right ("one") side, and the labels listed in
    /// <c>group_left(…)</c> are copied from the "one" side; <c>group_right</c> is the mirror image. The "one" side
    /// must have a single element per match group (Prometheus's "many-to-many matching not allowed" error).
    /// </summary>
    private void VectorVector(Binary b, List<VectorSample> lhs, List<VectorSample> rhs, bool dropName, List<VectorSample> result)
    {
        if (lhs.Count == 0 || rhs.Count == 0)
        {
            return;
        }

        var swapped = b.Card == MatchCardinality.OneToMany;
        var many = swapped ? rhs : lhs;
        var one = swapped ? lhs : rhs;
        var oneSide = new Dictionary<LabelSet, VectorSample>();
        foreach (var r in one)
        {
            var sig = Derived(b, MatchSignature, r.Labels);
            if (!oneSide.TryAdd(sig, r))
            {
                throw PromQueryException.Execution("found duplicate series for the match group " + sig + " on the " + (swapped ? "left" : "right") + " hand-side of the operation: [" + r.Labels + ", " + oneSide[sig].Labels + "];many-to-many matching not allowed: matching labels must be unique on one side");
            }
        }

        var matched = new HashSet<LabelSet>();
        var produced = new HashSet<(LabelSet Group, LabelSet Labels)>();
        foreach (var m in many)
        {
            var sig = Derived(b, MatchSignature, m.Labels);
            if (!oneSide.TryGetValue(sig, out var o))
            {
                continue;
            }

            if (b.Card == MatchCardinality.OneToOne && !matched.Add(sig))
            {
                throw PromQueryException.Execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
            }

            var (value, keep) = swapped ? Apply(b.Op, o.Value, m.Value) : Apply(b.Op, m.Value, o.Value);
            if (b.ReturnBool)
            {
                value = keep ? 1 : 0;
                keep = true;
            }

            if (!keep)
            {
                continue;
            }

            LabelSet labels;
            if (b.Card == MatchCardinality.OneToOne)
            {
                labels = Derived(b, dropName ? OneToOneLabelsWithoutName : OneToOneLabels, m.Labels);
            }
            else
            {
                labels = dropName ? Derived(b, LabelsWithoutName, m.Labels) : m.Labels;
                foreach (var name in b.Include)
                {
                    labels = WithLabel(labels, name, o.Labels.TryGetValue(name, out var v) ? v : string.Empty);
                }

                if (!produced.Add((sig, labels)))
                {
                    throw PromQueryException.Execution("multiple matches for labels: grouping labels must ensure unique matches");
                }
            }

            result.Add(new VectorSample(labels, value));
        }
    }

    /// <summary>Returns <paramref name="labels"/> with <paramref name="name"/> set to <paramref name="value"/>, or removed when the value is empty (an empty label is no label).</summary>
    internal static LabelSet WithLabel(LabelSet labels, string name, string value)
    {
        var kept = new List<Label>(labels.Count + 1);
        foreach (var l in labels)
        {
            if (l.Name != name)
            {
                kept.Add(l);
            }
        }

        if (value.Length > 0)
        {
            kept.Add(new Label(name, value));
        }

        return new LabelSet(kept);
    }

    /// <summary>Prometheus's label name rule: <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</summary>
    internal static bool IsValidLabelName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    // What Derived computes from an input series' labels for a node (see there).
    private const int MatchSignature = 0;
    private const int LabelsWithoutName = 1;
    private const int OneToOneLabels = 2;
    private const int OneToOneLabelsWithoutName = 3;
    private const int GroupKey = 4;

    /// <summary>
    /// A label set derived from an input series' labels for an operator or aggregation — a match signature, output
    /// labels, a group key — made once per query: an input series has the same labels at every step, and these were
    /// per-step allocations (keyed by label values, so inputs rebuilt per step share entries and each cache is bounded
    /// by the distinct input series).
    /// </summary>
    private LabelSet Derived(PromExpr node, int kind, LabelSet labels)
    {
        if (!_derivedLabels.TryGetValue((node, kind), out var cache))
        {
            cache = [];
            _derivedLabels[(node, kind)] = cache;
        }

        if (!cache.TryGetValue(labels, out var derived))
        {
            derived = kind switch
            {
                MatchSignature => Signature(labels, (Binary)node),
                LabelsWithoutName => DropMetricName(labels),
                GroupKey => GroupingLabels(labels, ((Aggregate)node).Grouping, ((Aggregate)node).Without),
                _ => OneToOneOutput(kind == OneToOneLabelsWithoutName ? DropMetricName(labels) : labels, (Binary)node),
            };
            cache[labels] = derived;
        }

        return derived;
    }

    private static LabelSet OneToOneOutput(LabelSet labels, Binary b) =>
        b.MatchingLabels is null ? labels : b.On ? Keep(labels, b.MatchingLabels) : Remove(labels, b.MatchingLabels);

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
