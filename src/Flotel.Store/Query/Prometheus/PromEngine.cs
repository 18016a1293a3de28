using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

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
/// <item>The <c>@</c> modifier evaluates its selector or subquery at a fixed time (<c>start()</c>/<c>end()</c>: the
/// query's bounds) instead of the step's; <c>offset</c> then counts back from there.</item>
/// <item>A subquery <c>expr[r:s]</c> evaluates expr at the multiples of s (from time 0) in [t − offset − r, t − offset],
/// as Prometheus aligns them, giving a range vector to the range-vector functions.</item>
/// </list>
/// Selectors are read from the store once per query for the whole evaluation range (raw chunks, decoded outside the
/// store's lock), then sliced per step; in a range query a range-vector function over a selector is computed series by
/// series for every step at once (<c>.Rollup</c>), and a bare one or an aggregation of one is answered from those columns.
/// A node evaluated only once (an instant query outside subqueries) decodes its selector series by series instead, and
/// an aggregation of such a node that keeps one number per group reads its selector from the store in batches of series
/// (<c>.Stream</c>), never holding the whole selection's labels and chunks.
/// Memory is bounded per query by <see cref="MaxSamples"/> (samples held, counted in <see cref="PromEvaluation.Hold"/>)
/// and <see cref="MaxSeries"/> (series per selector).
/// The engine holds only the store: everything that belongs to one query (its time range, what it read, its caches,
/// its cancellation) lives in a <see cref="PromEvaluation"/>, made by the <c>Instant</c> and <c>Range</c> entry points and
/// passed down the evaluation, as VictoriaMetrics passes its evalConfig. The code is split by expression kind:
/// this file (entry points, dispatch, label-set functions), <c>.Select</c> (selectors, subqueries, range-vector functions),
/// <c>.Rollup</c> (range queries of range-vector functions, per series), <c>.Aggregate</c>, <c>.Stream</c> (instant aggregations read
/// in batches), <c>.Binary</c> (operators) and <c>.Functions</c> (the other calls).
/// The cancellation token stops the query (client gone, time up: Prometheus's context): it is checked per
/// series read from the store, per step, and every <see cref="SeriesPerCancellationCheck"/> series in per-series loops,
/// and ends evaluation with an <see cref="OperationCanceledException"/>.
/// </summary>
/// <param name="store">The metrics the queries read.</param>
/// <param name="cancellationToken">Stops the queries this engine runs (each query can also be given its own).</param>
public sealed partial class PromEngine(MetricStore store, CancellationToken cancellationToken = default)
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

    /// <summary>
    /// Most step times one subquery window may hold (range / step): each is a full evaluation of the subquery's
    /// expression, and <c>x[30d:1ms]</c> would otherwise ask for 2.6 billion of them. The same bound as a range query's
    /// points (<see cref="MaxPointsPerSeries"/>); <c>[1d:10s]</c> and <c>[7d:1m]</c> fit.
    /// </summary>
    public const long MaxSubquerySteps = MaxPointsPerSeries;

    /// <summary>
    /// Most samples one subquery window may hold (steps × series): the window and its cached steps are kept in memory
    /// (about 40 bytes a sample, so 400 MB at the limit), where Prometheus bounds the same with --query.max-samples
    /// (50 million by default, for a server rather than a gateway beside other work).
    /// </summary>
    public const long MaxSubquerySamples = 10_000_000;

    /// <summary>Prometheus's <c>--query.max-samples</c> default.</summary>
    public const long DefaultMaxSamples = 50_000_000;

    /// <summary>
    /// Default of <see cref="MaxSeries"/>: twice the million series of a large fleet, so <c>count({__name__=~".+"})</c>
    /// over such a store still answers, while a selector over more series — which costs memory per series (its labels,
    /// its chunks) however few samples each holds, and which the sample limit alone lets through — is refused.
    /// </summary>
    public const int DefaultMaxSeries = 2_000_000;

    private long _samplesLoaded;

    private long _streamedBatches;

    /// <summary>
    /// Most samples one query may hold in memory at once (Prometheus's <c>--query.max-samples</c>), counted as Prometheus
    /// counts them: the samples read from the store (decoded for the whole query range; a rollup of an instant query
    /// decodes series by series and holds only its results), every cell of a range query's per-series rollup columns,
    /// every point of the answer as it accumulates, and every cached step of a subquery while it is in its window.
    /// Over it, the query fails with Prometheus's execution error (422).
    /// </summary>
    public long MaxSamples { get; init; } = DefaultMaxSamples;

    /// <summary>
    /// Most series one selector may read from the store; over it, the query fails with an execution error (422) before
    /// any chunk is copied.
    /// </summary>
    public int MaxSeries { get; init; } = DefaultMaxSeries;

    /// <summary>
    /// Series an instant aggregation reads, evaluates and folds at a time (<c>.Stream</c>); 0 reads the whole selection at
    /// once, as a range query does (the tests compare the two).
    /// </summary>
    internal int StreamBatchSeries { get; init; } = DefaultStreamBatchSeries;

    /// <summary>Samples the queries of this engine read from the store (their prefetched series), in total.</summary>
    public long SamplesLoaded => Interlocked.Read(ref _samplesLoaded);

    /// <summary>Batches of series the streamed aggregations of this engine's queries read from the store, in total.</summary>
    internal long StreamedBatches => Interlocked.Read(ref _streamedBatches);

    /// <summary>Evaluates <paramref name="expr"/> at <paramref name="timeMs"/>.</summary>
    public PromValue Instant(PromExpr expr, long timeMs) => Instant(expr, timeMs, cancellationToken);

    /// <summary>Evaluates <paramref name="expr"/> at <paramref name="timeMs"/>, stopped by <paramref name="cancellation"/>.</summary>
    public PromValue Instant(PromExpr expr, long timeMs, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var ev = new PromEvaluation(store, timeMs, timeMs, 0, cancellation)
        {
            MaxSamples = MaxSamples, MaxSeries = MaxSeries, StreamBatchSeries = StreamBatchSeries,
        };
        try
        {
            Prefetch(ev, expr, timeMs, timeMs, evaluatedOnce: true);
            return Eval(ev, expr, timeMs);
        }
        finally
        {
            Interlocked.Add(ref _samplesLoaded, ev.SamplesLoaded);
            Interlocked.Add(ref _streamedBatches, ev.StreamedBatches);
        }
    }

    /// <summary>Evaluates <paramref name="expr"/> at start, start + step, … ≤ end; series sorted by labels.</summary>
    public List<(LabelSet Labels, List<Sample> Points)> Range(PromExpr expr, long startMs, long endMs, long stepMs) =>
        Range(expr, startMs, endMs, stepMs, cancellationToken);

    /// <summary>As <see cref="Range(PromExpr, long, long, long)"/>, stopped by <paramref name="cancellation"/>.</summary>
    public List<(LabelSet Labels, List<Sample> Points)> Range(PromExpr expr, long startMs, long endMs, long stepMs, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var ev = new PromEvaluation(store, startMs, endMs, stepMs, cancellation)
        {
            MaxSamples = MaxSamples, MaxSeries = MaxSeries, StreamBatchSeries = StreamBatchSeries,
        };
        try
        {
            return RangeSteps(ev, expr);
        }
        finally
        {
            Interlocked.Add(ref _samplesLoaded, ev.SamplesLoaded);
            Interlocked.Add(ref _streamedBatches, ev.StreamedBatches);
        }
    }

    private static List<(LabelSet Labels, List<Sample> Points)> RangeSteps(PromEvaluation ev, PromExpr expr)
    {
        var (startMs, endMs, stepMs) = (ev.StartMs, ev.EndMs, ev.StepMs);
        if (expr.Type is not (PromType.Scalar or PromType.Vector))
        {
            throw new PromQueryException("invalid expression type \"" + PromParser.TypeName(expr.Type) + "\" for range query, must be Scalar or instant Vector");
        }

        Prefetch(ev, expr, startMs, endMs, evaluatedOnce: false);
        var direct = UnwrapParens(expr) switch
        {
            Call call => RangeOfRollup(ev, call),
            Aggregate agg => RangeOfAggregatedRollup(ev, agg),
            _ => null,
        };
        if (direct is not null)
        {
            return direct;
        }

        var series = new Dictionary<LabelSet, List<Sample>>();
        for (var t = startMs; t <= endMs; t += stepMs)
        {
            ev.CancellationToken.ThrowIfCancellationRequested();
            var value = Eval(ev, expr, t);
            if (value is ScalarValue s)
            {
                ev.Hold(1);
                Add(series, LabelSet.Empty, t, s.Value);
            }
            else
            {
                // The answer's points stay until it is written: they count against the limit as they accumulate.
                var samples = ((VectorValue)value).Samples;
                ev.Hold(samples.Count);
                foreach (var v in samples)
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
    public static int CompareLabels(LabelSet a, LabelSet b)
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

    private static PromValue Eval(PromEvaluation ev, PromExpr expr, long t) => expr switch
    {
        NumberLiteral n => new ScalarValue(n.Value),
        StringLiteral s => new StringValue(s.Value),
        Paren p => Eval(ev, p.Expr, t),
        VectorSelector vs => new VectorValue(SelectInstant(ev, vs, t)),
        MatrixSelector ms => new MatrixValue(SelectRange(ev, ms, t)),
        Subquery sq => new MatrixValue(SubqueryWindow(ev, sq, t, out _, out _)),
        Call c => EvalCall(ev, c, t),
        Aggregate a => EvalAggregate(ev, a, t),
        Unary u => EvalUnary(ev, u, t),
        Binary b => EvalBinary(ev, b, t),
        _ => throw new InvalidOperationException("unknown expression node " + expr.GetType().Name),
    };

    private static PromValue EvalUnary(PromEvaluation ev, Unary u, long t)
    {
        var v = Eval(ev, u.Expr, t);
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
    private static LabelSet Derived(PromEvaluation ev, PromExpr node, int kind, LabelSet labels)
    {
        if (ev.StepMs == 0 && ev.SubqueryDepth == 0)
        {
            // Evaluated once (an instant query): a cache would only keep an entry per input series until the query ends.
            return Derive(node, kind, labels);
        }

        if (!ev.DerivedLabels.TryGetValue((node, kind), out var cache))
        {
            cache = [];
            ev.DerivedLabels[(node, kind)] = cache;
        }

        if (!cache.TryGetValue(labels, out var derived))
        {
            derived = Derive(node, kind, labels);
            cache[labels] = derived;
        }

        return derived;
    }

    private static LabelSet Derive(PromExpr node, int kind, LabelSet labels) => kind switch
    {
        MatchSignature => Signature(labels, (Binary)node),
        LabelsWithoutName => DropMetricName(labels),
        GroupKey => GroupingLabels(labels, ((Aggregate)node).Grouping, ((Aggregate)node).Without),
        _ => OneToOneOutput(kind == OneToOneLabelsWithoutName ? DropMetricName(labels) : labels, (Binary)node),
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

    private static double EvalScalar(PromEvaluation ev, PromExpr expr, long t) => ((ScalarValue)Eval(ev, expr, t)).Value;

    private static List<VectorSample> EvalVector(PromEvaluation ev, PromExpr expr, long t) => ((VectorValue)Eval(ev, expr, t)).Samples;

    private static PromExpr UnwrapParens(PromExpr e)
    {
        while (e is Paren p)
        {
            e = p.Expr;
        }

        return e;
    }
}
