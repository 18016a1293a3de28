using Flotel.Model.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>Aggregation operators (<c>sum</c>, <c>topk</c>, <c>count_values</c>, …).</summary>
public sealed partial class PromEngine
{
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
    private static bool OutputsGroupingLabelsOnly(AggregateOp op) => op is not (AggregateOp.Topk or AggregateOp.Bottomk);

    private static VectorValue EvalAggregate(PromEvaluation ev, Aggregate agg, long t)
    {
        if (StreamsAggregate(ev, agg, evaluatedOnce: ev.StepMs == 0 && ev.SubqueryDepth == 0))
        {
            return EvalAggregateStreamed(ev, agg, t);
        }

        // Grouping that never looks at __name__ makes keeping it until here invisible in the result (see EvalCall).
        var input = UnwrapParens(agg.Expr) is Call call && PromFunctions.MapsSeriesDroppingName(call.Function)
            && OutputsGroupingLabelsOnly(agg.Op) && !agg.Grouping.Contains(Label.MetricNameLabel)
            ? ((VectorValue)EvalCall(ev, call, t, keepName: true)).Samples
            : ((VectorValue)Eval(ev, agg.Expr, t)).Samples;
        // By type, not by node: count_values((("version")), …) has a string parameter inside parentheses.
        var param = agg.Param is null || agg.Param.Type == PromType.String ? double.NaN : EvalScalar(ev, agg.Param, t);
        string? valueLabel = null;
        if (agg.Op == AggregateOp.CountValues)
        {
            valueLabel = ((StringLiteral)UnwrapParens(agg.Param!)).Value;
            if (!IsValidLabelName(valueLabel))
            {
                throw PromQueryException.Execution("invalid label name \"" + valueLabel + "\"");
            }
        }

        var k = 0L;
        if (agg.Op is AggregateOp.Topk or AggregateOp.Bottomk)
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
                ? Derived(ev, agg, GroupKey, labels)
                : agg.Without ? GroupingLabels(labels, agg.Grouping, without: true) : GroupingLabels(labels, [.. agg.Grouping, valueLabel], without: false);

            Accumulate(agg.Op, groups, order, key, s, k);
        }

        return new VectorValue(Finish(agg.Op, order, param));
    }

    /// <summary>Folds <paramref name="s"/> into its group (<paramref name="key"/>), made on its first member.</summary>
    private static void Accumulate(AggregateOp op, Dictionary<LabelSet, Group> groups, List<Group> order, LabelSet key, VectorSample s, long k)
    {
        if (!groups.TryGetValue(key, out var g))
        {
            g = new Group(key, s.Value);
            if (op is AggregateOp.Topk or AggregateOp.Bottomk or AggregateOp.Quantile)
            {
                g.Members = [s];
            }

            groups[key] = g;
            order.Add(g);
            return;
        }

        g.Count++;
        switch (op)
        {
            case AggregateOp.Sum:
                g.Value += s.Value;
                break;
            case AggregateOp.Avg:
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
            case AggregateOp.Min:
                if (g.Value > s.Value || double.IsNaN(g.Value))
                {
                    g.Value = s.Value;
                }

                break;
            case AggregateOp.Max:
                if (g.Value < s.Value || double.IsNaN(g.Value))
                {
                    g.Value = s.Value;
                }

                break;
            case AggregateOp.Stddev or AggregateOp.Stdvar:
                // Welford's online algorithm: population variance without a second pass.
                var delta = s.Value - g.Mean;
                g.Mean += delta / g.Count;
                g.SquaredDeviations += delta * (s.Value - g.Mean);
                break;
            case AggregateOp.Topk:
                PromHeap.Offer(g.Members!, s, k, PromHeap.TopkLess);
                break;
            case AggregateOp.Bottomk:
                PromHeap.Offer(g.Members!, s, k, PromHeap.BottomkLess);
                break;
            case AggregateOp.Quantile:
                g.Members!.Add(s);
                break;
        }
    }

    /// <summary>Each group's value (or members, for topk and bottomk), in the order the groups were first seen.</summary>
    private static List<VectorSample> Finish(AggregateOp op, List<Group> order, double param)
    {
        var result = new List<VectorSample>(order.Count);
        foreach (var g in order)
        {
            switch (op)
            {
                case AggregateOp.Topk or AggregateOp.Bottomk:
                    // Best first: descending for topk, ascending for bottomk (the order of an instant query's answer).
                    var members = g.Members!;
                    var sorted = new List<(VectorSample Sample, int Index)>(members.Count);
                    for (var i = 0; i < members.Count; i++)
                    {
                        sorted.Add((members[i], i));
                    }

                    var top = op == AggregateOp.Topk;
                    sorted.Sort((a, b) =>
                    {
                        // NaN last for both, as Prometheus 2 orders topk's and bottomk's answers.
                        var an = double.IsNaN(a.Sample.Value);
                        var bn = double.IsNaN(b.Sample.Value);
                        var c = an || bn ? an.CompareTo(bn) : top ? b.Sample.Value.CompareTo(a.Sample.Value) : a.Sample.Value.CompareTo(b.Sample.Value);
                        return c != 0 ? c : a.Index.CompareTo(b.Index);
                    });
                    foreach (var (sample, _) in sorted)
                    {
                        result.Add(sample);
                    }

                    continue;
                case AggregateOp.Quantile:
                    var values = new List<double>(g.Members!.Count);
                    foreach (var m in g.Members)
                    {
                        values.Add(m.Value);
                    }

                    result.Add(new VectorSample(g.Labels, PromMath.Quantile(param, values)));
                    continue;
            }

            var value = op switch
            {
                AggregateOp.Avg => g.Mean,
                AggregateOp.Count or AggregateOp.CountValues => g.Count,
                AggregateOp.Group => 1,
                AggregateOp.Stdvar => g.SquaredDeviations / g.Count,
                AggregateOp.Stddev => Math.Sqrt(g.SquaredDeviations / g.Count),
                _ => g.Value,
            };
            result.Add(new VectorSample(g.Labels, value));
        }

        return result;
    }

    private static LabelSet GroupingLabels(LabelSet labels, IReadOnlyList<string> grouping, bool without)
    {
        if (grouping.Count == 0 && !without)
        {
            return LabelSet.Empty; // sum(x): one group, and no list per input series to find that out
        }

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
}
