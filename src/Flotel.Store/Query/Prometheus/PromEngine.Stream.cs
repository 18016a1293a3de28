using System.Buffers;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// Instant aggregations over a selector read in batches of series: <c>sum(count_over_time({job=~".+"}[15m]))</c> over a
/// million series held every series' label set, chunk copy and value at once (about half a kilobyte per series) to keep
/// one number; read a batch at a time, it holds one batch and the groups.
/// </summary>
public sealed partial class PromEngine
{
    /// <summary>
    /// Default of <see cref="StreamBatchSeries"/>: a batch's per-series tables in the store (the ids of one read, a
    /// dictionary entry per series) stay below the large object heap's 85,000 bytes, whose garbage only a full collection
    /// reclaims (4,096 series put about 0.6 MiB there per batch: 150 MiB over a million series); its label sets and chunk
    /// copies are well under a MiB; and the store's lock is taken once per batch (about 500 times for a million series).
    /// </summary>
    internal const int DefaultStreamBatchSeries = 2048;

    /// <summary>
    /// Whether <paramref name="agg"/> is evaluated from its selector in batches (<see cref="EvalAggregateStreamed"/>): it is
    /// evaluated once, folds each value into its group without keeping it (not <c>topk</c>, <c>bottomk</c>,
    /// <c>quantile</c>, <c>count_values</c>), and aggregates a plain selector or a range-vector function of one matrix
    /// selector whose labels it sees as the unstreamed path does (the name kept, <see cref="EvalCall"/>'s keepName, or a
    /// function that keeps it).
    /// </summary>
    private static bool StreamsAggregate(PromEvaluation ev, Aggregate agg, bool evaluatedOnce)
    {
        if (!evaluatedOnce || ev.StreamBatchSeries <= 0 || agg.Param is not null
            || agg.Op is not (AggregateOp.Sum or AggregateOp.Avg or AggregateOp.Count or AggregateOp.Min or AggregateOp.Max or AggregateOp.Group
                or AggregateOp.Stddev or AggregateOp.Stdvar))
        {
            return false;
        }

        return UnwrapParens(agg.Expr) switch
        {
            VectorSelector => true,
            Call { Args.Count: 1 } call => UnwrapParens(call.Args[0]) is MatrixSelector && StreamedRollup(call.Function)
                && (call.Function == "last_over_time" || !agg.Grouping.Contains(Label.MetricNameLabel)),
            _ => false,
        };
    }

    /// <summary>The range-vector functions of one argument that <see cref="Rollup"/> computes from the window alone.</summary>
    private static bool StreamedRollup(string function) => function is "rate" or "increase" or "delta" or "irate" or "idelta" or "deriv"
        or "changes" or "resets" or "avg_over_time" or "min_over_time" or "max_over_time" or "sum_over_time" or "count_over_time"
        or "last_over_time" or "present_over_time" or "stdvar_over_time" or "stddev_over_time";

    /// <summary>
    /// <paramref name="agg"/> (<see cref="StreamsAggregate"/>) at <paramref name="t"/>, its selector's series read from the
    /// store <see cref="PromEvaluation.StreamBatchSeries"/> at a time, in the same label order, each value folded into its
    /// group as <see cref="EvalAggregate"/> folds the whole vector: the same answer, bit for bit. A series carries only
    /// the labels its group needs (none for an aggregation without <c>by</c>). The limits count what they count unstreamed:
    /// the series limit before any chunk is read, and one held sample per value (<see cref="RollupStreamed"/>), summed over
    /// the batches, so the query is refused at the batch that passes the limit. A later batch is read after the earlier
    /// ones were evaluated: a series removed meanwhile by retention is left out, and a head read later may hold samples
    /// written since the query started (only those at or before its time count).
    /// </summary>
    private static VectorValue EvalAggregateStreamed(PromEvaluation ev, Aggregate agg, long t)
    {
        var inner = UnwrapParens(agg.Expr);
        var call = inner as Call;
        var matrix = call is null ? null : (MatrixSelector)UnwrapParens(call.Args[0]);
        var selector = matrix?.Selector ?? (VectorSelector)inner;
        var maxT = ev.TimeAt(selector.At, t) - selector.OffsetMs;
        var minT = maxT - (matrix?.RangeMs ?? ev.LookbackMs);
        var selection = ev.Store.SelectSeries(selector.Matchers, minT, maxT, ev.MaxSeries, ev.CancellationToken)
            ?? throw PromQueryException.TooManySeries();
        // by (…): only those labels (none for a plain sum); without (…): all, for GroupingLabels to drop some.
        IReadOnlyList<string>? labelNames = agg.Without ? null : agg.Grouping;
        var groups = new Dictionary<LabelSet, Group>();
        var order = new List<Group>();
        var batch = new List<SeriesChunks>(Math.Min(ev.StreamBatchSeries, selection.Count));
        Sample[]? buffer = null;
        var index = 0;
        try
        {
            for (var start = 0; start < selection.Count; start += ev.StreamBatchSeries)
            {
                batch.Clear();
                ev.StreamedBatches++;
                ev.Store.SelectBatch(selection, start, Math.Min(ev.StreamBatchSeries, selection.Count - start), labelNames, batch, ev.CancellationToken);
                var values = 0;
                foreach (var series in batch)
                {
                    ev.CheckCanceled(index++);
                    ev.SamplesLoaded += series.MaxSamples;
                    var samples = DecodeOne(series, ref buffer);
                    var cursor = 0;
                    double value;
                    if (call is null)
                    {
                        var i = InstantSampleAt(samples, maxT, ev.LookbackMs, ref cursor);
                        if (i < 0)
                        {
                            continue;
                        }

                        value = samples[i].Value;
                    }
                    else
                    {
                        var window = Window(samples, minT, maxT, ref cursor);
                        if (window.IsEmpty || Rollup(call.Function, window, minT, maxT, t, double.NaN, double.NaN) is not { } v)
                        {
                            continue;
                        }

                        value = v;
                    }

                    values++;
                    var key = agg.Without ? GroupingLabels(series.Labels, agg.Grouping, without: true) : series.Labels;
                    Accumulate(agg.Op, groups, order, key, new VectorSample(key, value), 0);
                }

                ev.Hold(values);
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<Sample>.Shared.Return(buffer);
            }
        }

        return new VectorValue(Finish(agg.Op, order, double.NaN));
    }
}
