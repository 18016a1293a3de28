using System.Buffers;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>Vector and matrix selectors, and the functions over range vectors (rollups).</summary>
public sealed partial class PromEngine
{
    /// <param name="evaluatedOnce">
    /// The nodes are evaluated once (an instant query, outside subqueries): an aggregation that streams its selector
    /// (<see cref="StreamsAggregate"/>) reads it itself, in batches, and is not fetched here.
    /// </param>
    private static void Prefetch(PromEvaluation ev, PromExpr expr, long startMs, long endMs, bool evaluatedOnce)
    {
        switch (expr)
        {
            case VectorSelector vs:
                Fetch(ev, vs, ev.LookbackMs, startMs, endMs);
                break;
            case Subquery sq:
                // Its expression is evaluated over [start − offset − range, end − offset], or around its @ time.
                var from = sq.At is null ? startMs : ev.TimeAt(sq.At, startMs);
                var to = sq.At is null ? endMs : ev.TimeAt(sq.At, endMs);
                Prefetch(ev, sq.Expr, from - sq.OffsetMs - sq.RangeMs, to - sq.OffsetMs, evaluatedOnce: false);
                break;
            case MatrixSelector ms:
                Fetch(ev, ms.Selector, ms.RangeMs, startMs, endMs);
                break;
            case Call c:
                foreach (var a in c.Args)
                {
                    Prefetch(ev, a, startMs, endMs, evaluatedOnce);
                }

                break;
            case Aggregate a:
                if (StreamsAggregate(ev, a, evaluatedOnce))
                {
                    break;
                }

                if (a.Param is not null)
                {
                    Prefetch(ev, a.Param, startMs, endMs, evaluatedOnce);
                }

                Prefetch(ev, a.Expr, startMs, endMs, evaluatedOnce);
                break;
            case Unary u:
                Prefetch(ev, u.Expr, startMs, endMs, evaluatedOnce);
                break;
            case Paren p:
                Prefetch(ev, p.Expr, startMs, endMs, evaluatedOnce);
                break;
            case Binary b:
                Prefetch(ev, b.Lhs, startMs, endMs, evaluatedOnce);
                Prefetch(ev, b.Rhs, startMs, endMs, evaluatedOnce);
                break;
        }
    }

    private static void Fetch(PromEvaluation ev, VectorSelector vs, long windowMs, long startMs, long endMs)
    {
        if (vs.At is not null)
        {
            startMs = endMs = ev.TimeAt(vs.At, startMs);
        }

        if (!ev.Chunks.ContainsKey(vs))
        {
            // Label order, as Prometheus's storage returns series: sort's ties and topk's ties depend on input order.
            var chunks = ev.Store.SelectChunks(vs.Matchers, startMs - vs.OffsetMs - windowMs, endMs - vs.OffsetMs, ev.MaxSeries, ev.CancellationToken)
                ?? throw PromQueryException.TooManySeries();
            var selected = new List<SeriesChunks>(chunks);
            selected.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
            ev.Chunks[vs] = selected;
            foreach (var series in selected)
            {
                ev.SamplesLoaded += series.MaxSamples;
            }
        }
    }

    /// <summary>
    /// A selector's series decoded, in label order (index = series in <see cref="PromEvaluation.Chunks"/>; a series
    /// without a sample in the range has an empty array), decoded on first use, on every core when large.
    /// </summary>
    private static IReadOnlyList<SeriesSamples> SeriesOf(PromEvaluation ev, VectorSelector vs)
    {
        if (ev.Data.TryGetValue(vs, out var data))
        {
            return data;
        }

        var chunks = ev.Chunks[vs];
        var decoded = new SeriesSamples[chunks.Count];
        long samples = 0;
        foreach (var c in chunks)
        {
            samples += c.MaxSamples;
        }

        if (samples >= MetricStore.ParallelDecodeSamples && chunks.Count > 1 && Environment.ProcessorCount > 1)
        {
            try
            {
                Parallel.For(0, chunks.Count, new ParallelOptions { CancellationToken = ev.CancellationToken }, k =>
                {
                    decoded[k] = new SeriesSamples(chunks[k].Labels, chunks[k].Decode());
                    ev.Hold(decoded[k].Samples.Length);
                });
            }
            catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
            }
        }
        else
        {
            for (var k = 0; k < chunks.Count; k++)
            {
                ev.CheckCanceled(k);
                decoded[k] = new SeriesSamples(chunks[k].Labels, chunks[k].Decode());
                ev.Hold(decoded[k].Samples.Length);
            }
        }

        ev.Data[vs] = decoded;
        return decoded;
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

    /// <summary>
    /// Whether the node being evaluated is evaluated only once in the query (an instant query, outside any subquery):
    /// then a selector it reads need not stay decoded for later steps, and is decoded series by series instead
    /// (<see cref="DecodeOne"/>), unless another node decoded it already.
    /// </summary>
    private static bool Streams(PromEvaluation ev, VectorSelector vs) => ev.StepMs == 0 && ev.SubqueryDepth == 0 && !ev.Data.ContainsKey(vs);

    /// <summary>
    /// One series' samples in its selector's range, decoded into <paramref name="buffer"/> (rented from the shared pool,
    /// replaced by a larger one when short; the caller returns it): an instant query over a million series then holds
    /// one series' samples at a time instead of every series' array at once.
    /// </summary>
    private static ReadOnlySpan<Sample> DecodeOne(SeriesChunks chunks, ref Sample[]? buffer)
    {
        if (buffer is null || buffer.Length < chunks.MaxSamples)
        {
            if (buffer is not null)
            {
                ArrayPool<Sample>.Shared.Return(buffer);
            }

            buffer = ArrayPool<Sample>.Shared.Rent(Math.Max(chunks.MaxSamples, 16));
        }

        return buffer.AsSpan(0, chunks.DecodeInto(buffer));
    }

    /// <summary>Each series' newest sample in the lookback window, with its timestamp (for <c>timestamp()</c>).</summary>
    private static List<(LabelSet Labels, double Value, long TimestampMs)> SelectInstantWithTime(PromEvaluation ev, VectorSelector vs, long t)
    {
        var refTime = ev.TimeAt(vs.At, t) - vs.OffsetMs;
        var result = new List<(LabelSet, double, long)>();
        if (Streams(ev, vs))
        {
            var chunks = ev.Chunks[vs];
            Sample[]? buffer = null;
            try
            {
                for (var k = 0; k < chunks.Count; k++)
                {
                    ev.CheckCanceled(k);
                    var samples = DecodeOne(chunks[k], ref buffer);
                    var cursor = 0;
                    var i = InstantSampleAt(samples, refTime, ev.LookbackMs, ref cursor);
                    if (i >= 0)
                    {
                        result.Add((chunks[k].Labels, samples[i].Value, samples[i].TimestampMs));
                    }
                }
            }
            finally
            {
                if (buffer is not null)
                {
                    ArrayPool<Sample>.Shared.Return(buffer);
                }
            }

            // The vector is held instead of the series' samples (Prometheus counts one sample per series selected).
            ev.Hold(result.Count);
            return result;
        }

        var data = SeriesOf(ev, vs);
        if (!ev.InstantCursors.TryGetValue(vs, out var cursors))
        {
            cursors = new int[data.Count];
            ev.InstantCursors[vs] = cursors;
        }

        for (var k = 0; k < data.Count; k++)
        {
            ev.CheckCanceled(k);
            var series = data[k];
            var i = InstantSampleAt(series.Samples, refTime, ev.LookbackMs, ref cursors[k]);
            if (i < 0)
            {
                continue;
            }

            var s = series.Samples[i];
            result.Add((series.Labels, s.Value, s.TimestampMs));
        }

        return result;
    }

    private static List<SeriesSamples> SelectRange(PromEvaluation ev, MatrixSelector ms, long t)
    {
        var maxT = ev.TimeAt(ms.Selector.At, t) - ms.Selector.OffsetMs;
        var minT = maxT - ms.RangeMs;
        var result = new List<SeriesSamples>();
        var data = SeriesOf(ev, ms.Selector);
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
    internal static ReadOnlySpan<Sample> Window(ReadOnlySpan<Sample> samples, long minT, long maxT, scoped ref int cursor)
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

        var window = samples.Slice(from, to - from);
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
    /// Index of a series' sample in an instant vector at <paramref name="t"/>: the last at or before it, unless older
    /// than <paramref name="lookbackMs"/> or a stale marker (−1 then, as when there is none).
    /// </summary>
    internal static int InstantSampleAt(ReadOnlySpan<Sample> samples, long t, long lookbackMs, ref int cursor)
    {
        var i = LastAtOrBefore(samples, t, ref cursor);
        return i >= 0 && samples[i].TimestampMs >= t - lookbackMs && !samples[i].IsStaleMarker ? i : -1;
    }

    /// <summary>
    /// Index of the last sample at or before <paramref name="t"/> (−1 when none), found from <paramref name="cursor"/>
    /// (this series' answer at the previous step) by a short forward scan, or a binary search when it moved back or far.
    /// </summary>
    internal static int LastAtOrBefore(ReadOnlySpan<Sample> samples, long t, ref int cursor)
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
            var data = ev.Chunks[selector];
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
    private static int UpperBound(ReadOnlySpan<Sample> samples, long t)
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

    /// <summary>
    /// Functions over a range vector (a matrix selector or a subquery): one value per series from the samples in its
    /// window (none when too few).
    /// </summary>
    /// <remarks>
    /// The hot path of range queries (a panel over 1,000 series × 1,440 steps calls it 1.44 M times): each window of a
    /// matrix selector is a span over the prefetched samples (copied only when it holds a stale marker) and the
    /// name-dropped label sets are made once per query, not per step.
    /// </remarks>
    private static List<VectorSample> EvalRangeFunction(PromEvaluation ev, Call call, int matrixArg, long t, bool keepName)
    {
        var function = call.Function;
        double a = double.NaN, b = double.NaN;
        switch (function)
        {
            case "quantile_over_time":
                a = EvalScalar(ev, call.Args[0], t);
                break;
            case "predict_linear":
                a = EvalScalar(ev, call.Args[1], t);
                break;
            case "holt_winters":
                a = EvalScalar(ev, call.Args[1], t);
                b = EvalScalar(ev, call.Args[2], t);
                if (a <= 0 || a >= 1)
                {
                    throw PromQueryException.Execution("invalid smoothing factor. Expected: 0 < sf < 1, got: " + PromFormat.FormatFloat(a));
                }

                if (b <= 0 || b >= 1)
                {
                    throw PromQueryException.Execution("invalid trend factor. Expected: 0 < tf < 1, got: " + PromFormat.FormatFloat(b));
                }

                break;
        }

        var dropName = !keepName && function != "last_over_time";
        var result = new List<VectorSample>();
        var arg = UnwrapParens(call.Args[matrixArg]);
        if (arg is MatrixSelector ms)
        {
            var rangeEnd = ev.TimeAt(ms.Selector.At, t) - ms.Selector.OffsetMs;
            var rangeStart = rangeEnd - ms.RangeMs;
            var names = dropName ? NamesDropped(ev, ms.Selector) : null;
            if (Columns(ev, call) is { } columns && StepIndex(ev, t) is var step and >= 0)
            {
                var chunks = ev.Chunks[ms.Selector];
                for (var k = 0; k < chunks.Count; k++)
                {
                    ev.CheckCanceled(k);
                    if (columns.Present[k][step])
                    {
                        result.Add(new VectorSample(names is null ? chunks[k].Labels : names[k], columns.Values[k][step]));
                    }
                }

                return result;
            }

            if (Streams(ev, ms.Selector))
            {
                RollupStreamed(ev, ms.Selector, function, names, rangeStart, rangeEnd, t, a, b, result);
            }
            else
            {
                RollupDecoded(ev, ms, function, names, rangeStart, rangeEnd, t, a, b, result);
            }
        }
        else
        {
            var sq = (Subquery)arg;
            var series = SubqueryWindow(ev, sq, t, out var rangeStart, out var rangeEnd);
            for (var k = 0; k < series.Count; k++)
            {
                ev.CheckCanceled(k);
                if (Rollup(function, series[k].Samples, rangeStart, rangeEnd, t, a, b) is { } v)
                {
                    result.Add(new VectorSample(dropName ? DropMetricName(series[k].Labels) : series[k].Labels, v));
                }
            }
        }

        if (function == "absent_over_time")
        {
            // One element when no series has a sample in the window, labelled from the selector's equality matchers.
            return result.Count > 0 ? [] : [new VectorSample(arg is MatrixSelector m ? AbsentLabels(m.Selector) : LabelSet.Empty, 1)];
        }

        return result;
    }

    /// <summary>A range-vector function over every series of a matrix selector, read from its decoded samples (see SeriesOf).</summary>
    private static void RollupDecoded(
        PromEvaluation ev, MatrixSelector ms, string function, LabelSet[]? names, long rangeStart, long rangeEnd, long t, double a, double b,
        List<VectorSample> result)
    {
        var data = SeriesOf(ev, ms.Selector);
        var cursors = Cursors(ev, ms, data.Count);
        for (var k = 0; k < data.Count; k++)
        {
            ev.CheckCanceled(k);
            var samples = Window(data[k].Samples, rangeStart, rangeEnd, ref cursors[k]);
            if (!samples.IsEmpty && Rollup(function, samples, rangeStart, rangeEnd, t, a, b) is { } v)
            {
                result.Add(new VectorSample(names is null ? data[k].Labels : names[k], v));
            }
        }
    }

    /// <summary>
    /// A range-vector function over every series of a selector evaluated once (<see cref="Streams"/>), each series decoded
    /// into one reused buffer: <c>sum(count_over_time({job=~".+"}[10m]))</c> over a million series held every series'
    /// samples decoded at once (16 bytes each) only to keep one number per series. The values and their order are the
    /// same: the same windows through the same <see cref="Rollup"/>.
    /// </summary>
    private static void RollupStreamed(
        PromEvaluation ev, VectorSelector selector, string function, LabelSet[]? names, long rangeStart, long rangeEnd, long t, double a, double b,
        List<VectorSample> result)
    {
        var chunks = ev.Chunks[selector];
        Sample[]? buffer = null;
        try
        {
            for (var k = 0; k < chunks.Count; k++)
            {
                ev.CheckCanceled(k);
                var cursor = 0;
                var samples = Window(DecodeOne(chunks[k], ref buffer), rangeStart, rangeEnd, ref cursor);
                if (!samples.IsEmpty && Rollup(function, samples, rangeStart, rangeEnd, t, a, b) is { } v)
                {
                    result.Add(new VectorSample(names is null ? chunks[k].Labels : names[k], v));
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<Sample>.Shared.Return(buffer);
            }
        }

        // Prometheus counts a series' window while the function reads it, then only its result.
        ev.Hold(result.Count);
    }

    /// <summary>One range-vector function over one series' window (not empty); null when it gives no value.</summary>
    private static double? Rollup(string function, ReadOnlySpan<Sample> samples, long rangeStart, long rangeEnd, long t, double a, double b) => function switch
    {
        "rate" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: true, isRate: true),
        "increase" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: true, isRate: false),
        "delta" => ExtrapolatedRate(samples, rangeStart, rangeEnd, isCounter: false, isRate: false),
        "irate" => InstantRate(samples),
        "idelta" => samples.Length < 2 ? null : samples[^1].Value - samples[^2].Value,
        "deriv" => samples.Length < 2 ? null : PromMath.LinearRegression(samples, samples[0].TimestampMs).Slope,
        "predict_linear" => samples.Length < 2 ? null : PredictLinear(samples, t, a),
        "holt_winters" => samples.Length < 2 ? null : HoltWinters(samples, a, b),
        "changes" => CountChanges(samples, resets: false),
        "resets" => CountChanges(samples, resets: true),
        "avg_over_time" => AvgOverTime(samples),
        "min_over_time" => MinMaxOverTime(samples, max: false),
        "max_over_time" => MinMaxOverTime(samples, max: true),
        "sum_over_time" => SumOverTime(samples),
        "count_over_time" => samples.Length,
        "last_over_time" => samples[^1].Value,
        "present_over_time" or "absent_over_time" => 1,
        "stdvar_over_time" => PromMath.Variance(samples),
        "stddev_over_time" => Math.Sqrt(PromMath.Variance(samples)),
        "quantile_over_time" => PromMath.Quantile(a, Values(samples)),
        _ => throw new InvalidOperationException("unknown function " + function),
    };

    /// <summary>
    /// Double exponential smoothing (Prometheus's holt_winters, promql/functions.go): level and trend smoothed by
    /// <paramref name="sf"/> and <paramref name="tf"/>, starting from the first value and the first difference.
    /// </summary>
    private static double HoltWinters(ReadOnlySpan<Sample> samples, double sf, double tf)
    {
        double s0 = 0, s1 = samples[0].Value, trend = samples[1].Value - samples[0].Value;
        for (var i = 1; i < samples.Length; i++)
        {
            // The trend is re-estimated from the previous two levels from the second step on.
            if (i > 1)
            {
                trend = (tf * (s1 - s0)) + ((1 - tf) * trend);
            }

            var level = (sf * samples[i].Value) + ((1 - sf) * (s1 + trend));
            s0 = s1;
            s1 = level;
        }

        return s1;
    }

    /// <summary>
    /// A subquery's range vector at <paramref name="t"/>: its expression evaluated at every multiple of its step in
    /// [end − range, end] (end = t or its @ time, minus its offset), one series per label set, sorted by labels.
    /// Results per step time are kept while they stay in the window, so a range query evaluates each step time once.
    /// </summary>
    private static List<SeriesSamples> SubqueryWindow(PromEvaluation ev, Subquery sq, long t, out long rangeStart, out long rangeEnd)
    {
        rangeEnd = ev.TimeAt(sq.At, t) - sq.OffsetMs;
        rangeStart = rangeEnd - sq.RangeMs;
        var step = sq.StepMs > 0 ? sq.StepMs : ev.DefaultSubqueryStepMs;
        if (sq.RangeMs / step > MaxSubquerySteps)
        {
            throw PromQueryException.Execution("subquery of range " + sq.RangeMs + "ms by step " + step + "ms would evaluate more than " + MaxSubquerySteps + " steps");
        }

        // The first multiple of the step at or after the range start (as Prometheus aligns subquery steps).
        var first = step * (rangeStart / step);
        if (first < rangeStart)
        {
            first += step;
        }

        if (!ev.SubqueryResults.TryGetValue(sq, out var cache))
        {
            cache = [];
            ev.SubqueryResults[sq] = cache;
        }

        List<long>? expired = null;
        foreach (var time in cache.Keys)
        {
            if (time < first || time > rangeEnd)
            {
                (expired ??= []).Add(time);
            }
        }

        foreach (var time in expired ?? [])
        {
            cache.Remove(time, out var gone);
            ev.Release(gone!.Count);
        }

        // Counted steps, not time += step: near the end of the time line the sum would wrap around and never pass the end.
        var bySeries = new Dictionary<LabelSet, List<Sample>>();
        var held = 0L;
        var steps = first > rangeEnd ? -1 : (rangeEnd - first) / step;
        for (var n = 0L; n <= steps; n++)
        {
            var time = first + (n * step);
            ev.CancellationToken.ThrowIfCancellationRequested();
            if (!cache.TryGetValue(time, out var vector))
            {
                ev.SubqueryDepth++;
                try
                {
                    vector = EvalVector(ev, sq.Expr, time);
                }
                finally
                {
                    ev.SubqueryDepth--;
                }

                ev.Hold(vector.Count); // kept while the step is in the window (released above when it leaves)
                cache[time] = vector;
            }

            held += vector.Count;
            if (held > MaxSubquerySamples)
            {
                throw PromQueryException.Execution("query processing would load too many samples into memory in subquery (more than " + MaxSubquerySamples + ")");
            }

            foreach (var s in vector)
            {
                Add(bySeries, s.Labels, time, s.Value);
            }
        }

        var result = new List<SeriesSamples>(bySeries.Count);
        foreach (var (labels, samples) in bySeries)
        {
            result.Add(new SeriesSamples(labels, samples.ToArray()));
        }

        result.Sort(static (x, y) => CompareLabels(x.Labels, y.Labels));
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
    /// <param name="noResets">The caller knows no sample is below zero or below the previous one (the reset loop would add nothing).</param>
    internal static double? ExtrapolatedRate(ReadOnlySpan<Sample> samples, long rangeStartMs, long rangeEndMs, bool isCounter, bool isRate, bool noResets = false)
    {
        if (samples.Length < 2)
        {
            return null;
        }

        var first = samples[0];
        var last = samples[^1];
        var result = last.Value - first.Value;
        if (isCounter && !noResets)
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
    private static double AvgOverTime(ReadOnlySpan<Sample> samples) => AvgOverTimeFrom(samples, 0, 0);

    /// <summary><see cref="AvgOverTime"/> continued from its state after the first <paramref name="start"/> samples.</summary>
    internal static double AvgOverTimeFrom(ReadOnlySpan<Sample> samples, int start, double mean)
    {
        double count = start;
        foreach (var s in samples[start..])
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
