using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>Vector and matrix selectors, and the functions over range vectors (rollups).</summary>
public sealed partial class PromEngine
{
    private static void Prefetch(PromEvaluation ev, PromExpr expr, long startMs, long endMs)
    {
        switch (expr)
        {
            case VectorSelector vs:
                Fetch(ev, vs, LookbackMs, startMs, endMs);
                break;
            case MatrixSelector ms:
                Fetch(ev, ms.Selector, ms.RangeMs, startMs, endMs);
                break;
            case Call c:
                foreach (var a in c.Args)
                {
                    Prefetch(ev, a, startMs, endMs);
                }

                break;
            case Aggregate a:
                if (a.Param is not null)
                {
                    Prefetch(ev, a.Param, startMs, endMs);
                }

                Prefetch(ev, a.Expr, startMs, endMs);
                break;
            case Unary u:
                Prefetch(ev, u.Expr, startMs, endMs);
                break;
            case Paren p:
                Prefetch(ev, p.Expr, startMs, endMs);
                break;
            case Binary b:
                Prefetch(ev, b.Lhs, startMs, endMs);
                Prefetch(ev, b.Rhs, startMs, endMs);
                break;
        }
    }

    private static void Fetch(PromEvaluation ev, VectorSelector vs, long windowMs, long startMs, long endMs)
    {
        if (!ev.Data.ContainsKey(vs))
        {
            // Label order, as Prometheus's storage returns series: sort's ties and topk's ties depend on input order.
            var selected = new List<SeriesSamples>(ev.Store.Select(vs.Matchers, startMs - vs.OffsetMs - windowMs, endMs - vs.OffsetMs, ev.CancellationToken));
            selected.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
            ev.Data[vs] = selected;
            foreach (var series in selected)
            {
                ev.SamplesLoaded += series.Samples.Length;
            }
        }
    }

    private static List<VectorSample> SelectInstant(PromEvaluation ev, VectorSelector vs, long t)
    {
        var result = new List<VectorSample>();
        foreach (var (labels, value, _) in SelectInstantWithTime(ev, vs, t))
        {
            result.Add(new VectorSample(labels, value));
        }

        return result;
    }

    /// <summary>Each series' newest sample in the lookback window, with its timestamp (for <c>timestamp()</c>).</summary>
    private static List<(LabelSet Labels, double Value, long TimestampMs)> SelectInstantWithTime(PromEvaluation ev, VectorSelector vs, long t)
    {
        var refTime = t - vs.OffsetMs;
        var result = new List<(LabelSet, double, long)>();
        var data = ev.Data[vs];
        if (!ev.InstantCursors.TryGetValue(vs, out var cursors))
        {
            cursors = new int[data.Count];
            ev.InstantCursors[vs] = cursors;
        }

        for (var k = 0; k < data.Count; k++)
        {
            ev.CheckCanceled(k);
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

    private static List<SeriesSamples> SelectRange(PromEvaluation ev, MatrixSelector ms, long t)
    {
        var maxT = t - ms.Selector.OffsetMs;
        var minT = maxT - ms.RangeMs;
        var result = new List<SeriesSamples>();
        var data = ev.Data[ms.Selector];
        var cursors = Cursors(ev, ms, data.Count);
        for (var k = 0; k < data.Count; k++)
        {
            ev.CheckCanceled(k);
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
    private static int[] Cursors(PromEvaluation ev, MatrixSelector selector, int count)
    {
        if (!ev.RangeCursors.TryGetValue(selector, out var cursors))
        {
            cursors = new int[count];
            ev.RangeCursors[selector] = cursors;
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
    private static LabelSet[] NamesDropped(PromEvaluation ev, VectorSelector selector)
    {
        if (!ev.NamesDroppedLabels.TryGetValue(selector, out var names))
        {
            var data = ev.Data[selector];
            names = new LabelSet[data.Count];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = DropMetricName(data[i].Labels);
            }

            ev.NamesDroppedLabels[selector] = names;
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

    /// <summary>Functions over a range vector: one value per series from the samples in its window (none when too few).</summary>
    /// <remarks>
    /// The hot path of range queries (a panel over 1,000 series × 1,440 steps calls it 1.44 M times): each window is a
    /// span over the prefetched samples (copied only when it holds a stale marker) and the name-dropped label sets are
    /// made once per query, not per step.
    /// </remarks>
    private static List<VectorSample> EvalRangeFunction(PromEvaluation ev, Call call, int matrixArg, long t, bool keepName)
    {
        var ms = (MatrixSelector)UnwrapParens(call.Args[matrixArg]);
        var rangeEnd = t - ms.Selector.OffsetMs;
        var rangeStart = rangeEnd - ms.RangeMs;
        var scalar = call.Function is "quantile_over_time" or "predict_linear" ? EvalScalar(ev, call.Args[matrixArg == 0 ? 1 : 0], t) : double.NaN;
        var data = ev.Data[ms.Selector];
        var names = keepName || call.Function == "last_over_time" ? null : NamesDropped(ev, ms.Selector);
        var cursors = Cursors(ev, ms, data.Count);
        var result = new List<VectorSample>();
        for (var k = 0; k < data.Count; k++)
        {
            ev.CheckCanceled(k);
            var samples = Window(data[k].Samples, rangeStart, rangeEnd, ref cursors[k]);
            if (samples.IsEmpty)
            {
                continue;
            }

            double? value = call.Function switch
            {
                "rate" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: true, isRate: true),
                "increase" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: true, isRate: false),
                "delta" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: false, isRate: false),
                "irate" => InstantRate(samples),
                "idelta" => samples.Length < 2 ? null : samples[^1].Value - samples[^2].Value,
                "deriv" => samples.Length < 2 ? null : PromMath.LinearRegression(samples, samples[0].TimestampMs).Slope,
                "predict_linear" => samples.Length < 2 ? null : PredictLinear(samples, t, scalar),
                "changes" => CountChanges(samples, resets: false),
                "resets" => CountChanges(samples, resets: true),
                "avg_over_time" => AvgOverTime(samples),
                "min_over_time" => MinMaxOverTime(samples, max: false),
                "max_over_time" => MinMaxOverTime(samples, max: true),
                "sum_over_time" => SumOverTime(samples),
                "count_over_time" => samples.Length,
                "last_over_time" => samples[^1].Value,
                "present_over_time" => 1,
                "stdvar_over_time" => PromMath.Variance(samples),
                "stddev_over_time" => Math.Sqrt(PromMath.Variance(samples)),
                "quantile_over_time" => PromMath.Quantile(scalar, Values(samples)),
                _ => throw new InvalidOperationException("unknown function " + call.Function),
            };
            if (value is { } v)
            {
                result.Add(new VectorSample(names is null ? data[k].Labels : names[k], v));
            }
        }

        return result;
    }

    private static double PredictLinear(ReadOnlySpan<Sample> samples, long t, double seconds)
    {
        var (slope, intercept) = PromMath.LinearRegression(samples, t);
        return (slope * seconds) + intercept;
    }

    private static double CountChanges(ReadOnlySpan<Sample> samples, bool resets)
    {
        var count = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            var previous = samples[i - 1].Value;
            var current = samples[i].Value;
            if (resets ? current < previous : current != previous && !(double.IsNaN(current) && double.IsNaN(previous)))
            {
                count++;
            }
        }

        return count;
    }

    private static List<double> Values(ReadOnlySpan<Sample> samples)
    {
        var values = new List<double>(samples.Length);
        foreach (var s in samples)
        {
            values.Add(s.Value);
        }

        return values;
    }

    /// <summary>Prometheus's extrapolatedRate (promql/functions.go), for rate and increase.</summary>
    internal static double? ExtrapolatedRate(ReadOnlySpan<Sample> samples, long rangeStartMs, long rangeEndMs, bool isCounter, bool isRate)
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
    internal static double? InstantRate(ReadOnlySpan<Sample> samples)
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
    private static double AvgOverTime(ReadOnlySpan<Sample> samples)
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

    private static double SumOverTime(ReadOnlySpan<Sample> samples)
    {
        var sum = 0.0;
        foreach (var s in samples)
        {
            sum += s.Value;
        }

        return sum;
    }

    private static double MinMaxOverTime(ReadOnlySpan<Sample> samples, bool max)
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
}
