using System.Buffers;
using Flotel.Model.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// Range queries over range-vector functions computed series by series (a rollup per series, as VictoriaMetrics
/// evaluates them) instead of step by step: for <c>rate(x[5m])</c> over a 24 h panel the engine otherwise visits
/// every series at every step (1,000 × 1,441), building a vector per step. Here each series' window slides over its
/// decoded samples once, every step's value lands in a column, and the per-step evaluation, the answer and the
/// enclosing aggregation read the columns.
/// <para>
/// Same results bit for bit: each window is the same span <see cref="Window"/> gives and goes through the same
/// <see cref="Rollup"/>; only counter-reset accounting is skipped for series that never decrease (it adds nothing
/// there), and avg_over_time advances four windows at once with each window's own arithmetic. Aggregations consume the columns series by series, so each step's values are combined in the same order
/// (series sorted by labels) as the step-by-step evaluation combines them.
/// </para>
/// </summary>
public sealed partial class PromEngine
{
    /// <summary>
    /// Most group × step cells the aggregation fast path keeps (four doubles each: 64 MB at the limit); a larger
    /// aggregation (<c>sum by (series)</c> over many series) is evaluated step by step.
    /// </summary>
    internal const long MaxAggregationCells = 2_000_000;

    /// <summary>
    /// Most series × step cells of one call's columns (9 bytes each: 144 MB at the limit); a call over more (say
    /// <c>sum(rate(x[5m]))</c> over 100,000 series at 11,000 steps) is evaluated step by step.
    /// </summary>
    internal const long MaxColumnCells = 16_000_000;

    /// <summary>Windows (series × steps) above which columns are computed on every core.</summary>
    private const long ParallelRollupWindows = 100_000;

    /// <summary>Every step's value of one range-vector function call, per series of its selector (index = series).</summary>
    internal sealed class RollupColumns(double[][] values, bool[][] present)
    {
        public double[][] Values { get; } = values;

        public bool[][] Present { get; } = present;
    }

    /// <summary>The range-vector functions computed as columns: one matrix argument, no other (scalar) parameters.</summary>
    private static bool IsColumnRollup(string function) => function is "rate" or "increase" or "delta" or "irate" or "idelta"
        or "deriv" or "changes" or "resets" or "avg_over_time" or "min_over_time" or "max_over_time" or "sum_over_time"
        or "count_over_time" or "last_over_time" or "present_over_time" or "stdvar_over_time" or "stddev_over_time";

    /// <summary>
    /// The columns of <paramref name="call"/> (computed on first use), or null when it is not evaluated that way: not a
    /// range query's own steps (instant query, inside a subquery), a function with parameters, a subquery or an
    /// <c>@</c> selector as argument.
    /// </summary>
    private static RollupColumns? Columns(PromEvaluation ev, Call call)
    {
        if (ev.StepMs <= 0 || ev.SubqueryDepth > 0 || !IsColumnRollup(call.Function) || call.Args.Count != 1
            || UnwrapParens(call.Args[0]) is not MatrixSelector { Selector.At: null } ms)
        {
            return null;
        }

        if (ev.Rollups.TryGetValue(call, out var columns))
        {
            return columns;
        }

        var chunks = ev.Chunks[ms.Selector];
        var stepCount = ((ev.EndMs - ev.StartMs) / ev.StepMs) + 1;
        if (stepCount > MaxColumnCells || chunks.Count * stepCount > MaxColumnCells)
        {
            return null;
        }

        var steps = (int)stepCount;

        // Every cell is a point held for the rest of the query (Prometheus counts the points of a range result so).
        ev.Hold(chunks.Count * stepCount);

        // Decoded already (another node reads the same selector) or now, series by series into a reused buffer.
        var data = ev.Data.GetValueOrDefault(ms.Selector);
        var values = new double[chunks.Count][];
        var present = new bool[chunks.Count][];
        var firstEnd = ev.StartMs - ms.Selector.OffsetMs;
        var function = call.Function;
        void One(int k, ref Sample[]? buffer)
        {
            values[k] = new double[steps];
            present[k] = new bool[steps];
            ReadOnlySpan<Sample> samples;
            if (data is not null)
            {
                samples = data[k].Samples;
            }
            else
            {
                var max = chunks[k].MaxSamples;
                if (buffer is null || buffer.Length < max)
                {
                    if (buffer is not null)
                    {
                        ArrayPool<Sample>.Shared.Return(buffer);
                    }

                    buffer = ArrayPool<Sample>.Shared.Rent(max);
                }

                samples = buffer.AsSpan(0, chunks[k].DecodeInto(buffer));
            }

            RollupSeries(function, samples, firstEnd, ev.StepMs, ms.RangeMs, values[k], present[k]);
        }

        if ((long)chunks.Count * steps >= ParallelRollupWindows && chunks.Count > 1 && Environment.ProcessorCount > 1)
        {
            try
            {
                Parallel.For(
                    0,
                    chunks.Count,
                    new ParallelOptions { CancellationToken = ev.CancellationToken },
                    () => (Sample[]?)null,
                    (k, _, buffer) =>
                    {
                        One(k, ref buffer);
                        return buffer;
                    },
                    buffer =>
                    {
                        if (buffer is not null)
                        {
                            ArrayPool<Sample>.Shared.Return(buffer);
                        }
                    });
            }
            catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
            {
                // The exception a series raised (a corrupt chunk), as the sequential loop would throw it.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
            }
        }
        else
        {
            Sample[]? buffer = null;
            try
            {
                for (var k = 0; k < chunks.Count; k++)
                {
                    ev.CancellationToken.ThrowIfCancellationRequested();
                    One(k, ref buffer);
                }
            }
            finally
            {
                if (buffer is not null)
                {
                    ArrayPool<Sample>.Shared.Return(buffer);
                }
            }
        }

        columns = new RollupColumns(values, present);
        ev.Rollups[call] = columns;
        return columns;
    }

    /// <summary>Index of <paramref name="t"/> among the range query's steps, or −1 when it is not one of them.</summary>
    private static int StepIndex(PromEvaluation ev, long t)
    {
        if (t < ev.StartMs || t > ev.EndMs || (t - ev.StartMs) % ev.StepMs != 0)
        {
            return -1;
        }

        return (int)((t - ev.StartMs) / ev.StepMs);
    }

    /// <summary>
    /// One series' value at every step: the window (rangeEnd − range, rangeEnd] of step i ends at
    /// <paramref name="firstEnd"/> + i × <paramref name="stepMs"/>. Both window ends move forward only, so each is
    /// found by a short scan from the previous step's.
    /// </summary>
    internal static void RollupSeries(string function, ReadOnlySpan<Sample> samples, long firstEnd, long stepMs, long rangeMs, double[] values, bool[] present)
    {
        var stale = false;
        foreach (var s in samples)
        {
            stale |= s.IsStaleMarker;
        }

        if (function == "avg_over_time" && !stale)
        {
            AvgOverTimeSeries(samples, firstEnd, stepMs, rangeMs, values, present);
            return;
        }

        var counter = function is "rate" or "increase";
        var noResets = counter && !stale && NeverDecreases(samples);
        int fromCursor = 0, toCursor = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var rangeEnd = firstEnd + (i * stepMs);
            var rangeStart = rangeEnd - rangeMs;
            ReadOnlySpan<Sample> window;
            if (stale)
            {
                window = Window(samples, rangeStart, rangeEnd, ref fromCursor);
            }
            else
            {
                // Without stale markers Window's span is [first at or after start, first after end).
                var from = LastAtOrBefore(samples, rangeStart - 1, ref fromCursor) + 1;
                var to = LastAtOrBefore(samples, rangeEnd, ref toCursor) + 1;
                window = to > from ? samples.Slice(from, to - from) : [];
            }

            if (window.IsEmpty)
            {
                continue;
            }

            var v = noResets
                ? ExtrapolatedRate(window, rangeStart, rangeEnd, isCounter: true, isRate: function == "rate", noResets: true)
                : Rollup(function, window, rangeStart, rangeEnd, rangeEnd, double.NaN, double.NaN);
            if (v is { } value)
            {
                values[i] = value;
                present[i] = true;
            }
        }
    }

    /// <summary>
    /// avg_over_time of every step, four windows at a time. Its incremental mean divides twice per sample and each
    /// sample's mean waits for the previous one (a chain of divisions, ~40 per 10-minute window); four windows advanced
    /// in lockstep are four independent chains the processor overlaps. Each chain does exactly
    /// <see cref="AvgOverTimeFrom"/>'s arithmetic in its order, so the values are the same bit for bit; a window whose
    /// mean becomes infinite (where that function special-cases) is computed by it from the start.
    /// </summary>
    private static void AvgOverTimeSeries(ReadOnlySpan<Sample> samples, long firstEnd, long stepMs, long rangeMs, double[] values, bool[] present)
    {
        var steps = values.Length;
        var from = new int[steps];
        var length = new int[steps];
        int fromCursor = 0, toCursor = 0;
        for (var i = 0; i < steps; i++)
        {
            var rangeEnd = firstEnd + (i * stepMs);
            from[i] = LastAtOrBefore(samples, rangeEnd - rangeMs - 1, ref fromCursor) + 1;
            length[i] = Math.Max(0, LastAtOrBefore(samples, rangeEnd, ref toCursor) + 1 - from[i]);
            present[i] = length[i] > 0;
        }

        var i0 = 0;
        for (; i0 + 4 <= steps; i0 += 4)
        {
            int f0 = from[i0], f1 = from[i0 + 1], f2 = from[i0 + 2], f3 = from[i0 + 3];
            var common = Math.Min(Math.Min(length[i0], length[i0 + 1]), Math.Min(length[i0 + 2], length[i0 + 3]));
            double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
            var j = 0;
            for (; j < common; j++)
            {
                if (!double.IsFinite(m0 + m1 + m2 + m3) && (double.IsInfinity(m0) || double.IsInfinity(m1) || double.IsInfinity(m2) || double.IsInfinity(m3)))
                {
                    break;
                }

                double count = j + 1;
                m0 += (samples[f0 + j].Value / count) - (m0 / count);
                m1 += (samples[f1 + j].Value / count) - (m1 / count);
                m2 += (samples[f2 + j].Value / count) - (m2 / count);
                m3 += (samples[f3 + j].Value / count) - (m3 / count);
            }

            var infinite = j < common;
            Span<double> means = [m0, m1, m2, m3];
            for (var lane = 0; lane < 4; lane++)
            {
                var i = i0 + lane;
                if (length[i] > 0)
                {
                    var window = samples.Slice(from[i], length[i]);
                    values[i] = infinite ? AvgOverTime(window) : AvgOverTimeFrom(window, j, means[lane]);
                }
            }
        }

        for (; i0 < steps; i0++)
        {
            if (length[i0] > 0)
            {
                values[i0] = AvgOverTime(samples.Slice(from[i0], length[i0]));
            }
        }
    }

    /// <summary>
    /// True when no sample is below zero or below the one before it: then a window's counter-reset loop in
    /// <see cref="ExtrapolatedRate"/> (which starts from 0 and compares neighbours) never adds anything.
    /// </summary>
    private static bool NeverDecreases(ReadOnlySpan<Sample> samples)
    {
        var previous = 0.0;
        foreach (var s in samples)
        {
            if (s.Value < previous)
            {
                return false;
            }

            previous = s.Value;
        }

        return true;
    }

    /// <summary>A range query of a bare range-vector function: its series straight from the columns, or null.</summary>
    private static List<(LabelSet Labels, List<Sample> Points)>? RangeOfRollup(PromEvaluation ev, Call call)
    {
        if (Columns(ev, call) is not { } columns)
        {
            return null;
        }

        var labels = OutputLabels(ev, call, keepName: false);
        if (labels is null)
        {
            return null;
        }

        var result = new List<(LabelSet, List<Sample>)>();
        for (var k = 0; k < labels.Length; k++)
        {
            ev.CheckCanceled(k);
            List<Sample>? points = null;
            var values = columns.Values[k];
            var present = columns.Present[k];
            for (var i = 0; i < values.Length; i++)
            {
                if (present[i])
                {
                    (points ??= []).Add(new Sample(ev.StartMs + (i * ev.StepMs), values[i]));
                }
            }

            if (points is not null)
            {
                result.Add((labels[k], points));
            }
        }

        result.Sort(static (a, b) => CompareLabels(a.Item1, b.Item1));
        return result;
    }

    /// <summary>
    /// The labels each series of the call's selector has in its output vector, or null when two would be equal (the
    /// step-by-step evaluation then reports the duplicate at the step where both have a value).
    /// </summary>
    private static LabelSet[]? OutputLabels(PromEvaluation ev, Call call, bool keepName)
    {
        var selector = ((MatrixSelector)UnwrapParens(call.Args[0])).Selector;
        var data = ev.Chunks[selector];
        if (keepName || call.Function == "last_over_time")
        {
            var kept = new LabelSet[data.Count];
            for (var k = 0; k < kept.Length; k++)
            {
                kept[k] = data[k].Labels;
            }

            return kept;
        }

        var names = NamesDropped(ev, selector);
        var seen = new HashSet<LabelSet>(names.Length);
        foreach (var l in names)
        {
            if (!seen.Add(l))
            {
                return null;
            }
        }

        return names;
    }

    /// <summary>
    /// A range query of an aggregation (not <c>quantile</c>, <c>count_values</c>; <c>topk</c>/<c>bottomk</c> with a
    /// literal k) over a range-vector function, from the columns, or null when it does not apply.
    /// </summary>
    private static List<(LabelSet Labels, List<Sample> Points)>? RangeOfAggregatedRollup(PromEvaluation ev, Aggregate agg)
    {
        if (agg.Op is AggregateOp.Quantile or AggregateOp.CountValues || UnwrapParens(agg.Expr) is not Call call)
        {
            return null;
        }

        var k = 0L;
        var heap = agg.Op is AggregateOp.Topk or AggregateOp.Bottomk;
        if (heap)
        {
            if (agg.Param is null || UnwrapParens(agg.Param) is not NumberLiteral literal)
            {
                return null;
            }

            var param = literal.Value;
            if (double.IsNaN(param) || param >= 9.2233720368547758E+18 || param < -9.2233720368547758E+18)
            {
                return null; // the step-by-step evaluation reports it
            }

            k = (long)param;
        }

        if (Columns(ev, call) is not { } columns)
        {
            return null;
        }

        // As EvalAggregate: the input keeps __name__ when the grouping can never see it.
        var keepName = PromFunctions.MapsSeriesDroppingName(call.Function) && OutputsGroupingLabelsOnly(agg.Op)
            && !agg.Grouping.Contains(Label.MetricNameLabel);
        var labels = OutputLabels(ev, call, keepName);
        if (labels is null)
        {
            return null;
        }

        var steps = (int)((ev.EndMs - ev.StartMs) / ev.StepMs) + 1;
        var groupOf = new int[labels.Length];
        var keys = new List<LabelSet>();
        var index = new Dictionary<LabelSet, int>();
        for (var s = 0; s < labels.Length; s++)
        {
            var key = Derived(ev, agg, GroupKey, labels[s]);
            if (!index.TryGetValue(key, out var g))
            {
                g = keys.Count;
                index[key] = g;
                keys.Add(key);
            }

            groupOf[s] = g;
        }

        var perCell = heap ? Math.Min(k, labels.Length) : 1;
        if ((long)keys.Count * steps * perCell > MaxAggregationCells)
        {
            return null;
        }

        return heap
            ? HeapColumns(ev, agg, k, columns, labels, groupOf, keys.Count, steps)
            : AggregateColumns(ev, agg.Op, columns, groupOf, keys, steps);
    }

    /// <summary>
    /// sum, avg, count, min, max, group, stddev, stdvar per group and step, fed series by series: each cell sees the
    /// series in the same order as EvalAggregate's loop over a step's vector, and does the same arithmetic.
    /// </summary>
    private static List<(LabelSet Labels, List<Sample> Points)> AggregateColumns(PromEvaluation ev, AggregateOp op, RollupColumns columns, int[] groupOf, List<LabelSet> keys, int steps)
    {
        var cells = keys.Count * steps;
        ev.Hold(cells);
        var count = new double[cells];
        var value = new double[cells];
        var mean = new double[cells];
        var squared = new double[cells];
        for (var s = 0; s < groupOf.Length; s++)
        {
            ev.CheckCanceled(s);
            var values = columns.Values[s];
            var present = columns.Present[s];
            var row = groupOf[s] * steps;
            for (var i = 0; i < steps; i++)
            {
                if (!present[i])
                {
                    continue;
                }

                var v = values[i];
                var c = row + i;
                if (count[c] == 0)
                {
                    count[c] = 1;
                    value[c] = v;
                    mean[c] = v;
                    continue;
                }

                var n = ++count[c];
                switch (op)
                {
                    case AggregateOp.Sum:
                        value[c] += v;
                        break;
                    case AggregateOp.Avg:
                        if (double.IsInfinity(mean[c]))
                        {
                            if (double.IsInfinity(v) && (mean[c] > 0) == (v > 0))
                            {
                                break;
                            }

                            if (!double.IsInfinity(v) && !double.IsNaN(v))
                            {
                                break;
                            }
                        }

                        mean[c] += (v / n) - (mean[c] / n);
                        break;
                    case AggregateOp.Min:
                        if (value[c] > v || double.IsNaN(value[c]))
                        {
                            value[c] = v;
                        }

                        break;
                    case AggregateOp.Max:
                        if (value[c] < v || double.IsNaN(value[c]))
                        {
                            value[c] = v;
                        }

                        break;
                    case AggregateOp.Stddev or AggregateOp.Stdvar:
                        var delta = v - mean[c];
                        mean[c] += delta / n;
                        squared[c] += delta * (v - mean[c]);
                        break;
                }
            }
        }

        var result = new List<(LabelSet, List<Sample>)>(keys.Count);
        for (var g = 0; g < keys.Count; g++)
        {
            var points = new List<Sample>();
            for (var i = 0; i < steps; i++)
            {
                var c = (g * steps) + i;
                if (count[c] == 0)
                {
                    continue;
                }

                var v = op switch
                {
                    AggregateOp.Avg => mean[c],
                    AggregateOp.Count => count[c],
                    AggregateOp.Group => 1,
                    AggregateOp.Stdvar => squared[c] / count[c],
                    AggregateOp.Stddev => Math.Sqrt(squared[c] / count[c]),
                    _ => value[c],
                };
                points.Add(new Sample(ev.StartMs + (i * ev.StepMs), v));
            }

            if (points.Count > 0)
            {
                result.Add((keys[g], points));
            }
        }

        result.Sort(static (a, b) => CompareLabels(a.Item1, b.Item1));
        return result;
    }

    /// <summary>topk/bottomk per group and step: the same heap, offered the series in the same order, as EvalAggregate.</summary>
    private static List<(LabelSet Labels, List<Sample> Points)> HeapColumns(PromEvaluation ev, Aggregate agg, long k, RollupColumns columns, LabelSet[] labels, int[] groupOf, int groups, int steps)
    {
        var series = new Dictionary<LabelSet, List<Sample>>();
        if (k >= 1)
        {
            Func<double, double, bool> less = agg.Op == AggregateOp.Topk ? PromHeap.TopkLess : PromHeap.BottomkLess;
            var heaps = new List<VectorSample>?[groups * steps];
            for (var s = 0; s < labels.Length; s++)
            {
                ev.CheckCanceled(s);
                var values = columns.Values[s];
                var present = columns.Present[s];
                var row = groupOf[s] * steps;
                for (var i = 0; i < steps; i++)
                {
                    if (!present[i])
                    {
                        continue;
                    }

                    var sample = new VectorSample(labels[s], values[i]);
                    if (heaps[row + i] is { } members)
                    {
                        PromHeap.Offer(members, sample, k, less);
                    }
                    else
                    {
                        heaps[row + i] = [sample];
                    }
                }
            }

            // Step by step, so each series' points come in time order.
            for (var i = 0; i < steps; i++)
            {
                var t = ev.StartMs + (i * ev.StepMs);
                for (var g = 0; g < groups; g++)
                {
                    if (heaps[(g * steps) + i] is { } members)
                    {
                        foreach (var m in members)
                        {
                            Add(series, m.Labels, t, m.Value);
                        }
                    }
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
}
