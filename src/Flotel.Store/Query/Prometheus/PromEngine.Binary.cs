using Flotel.Model.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>Unary minus and binary operators: arithmetic, comparisons, set operators and vector matching.</summary>
public sealed partial class PromEngine
{
    private static PromValue EvalBinary(PromEvaluation ev, Binary b, long t)
    {
        var lhs = Eval(ev, b.Lhs, t);
        var rhs = Eval(ev, b.Rhs, t);
        if (lhs is ScalarValue ls && rhs is ScalarValue rs)
        {
            var (value, keep) = Apply(b.Op, ls.Value, rs.Value);
            return new ScalarValue(b.IsComparison ? (keep ? 1 : 0) : value);
        }

        // Prometheus 2 keeps __name__ through atan2 (shouldDropMetricName covers only + - * / % ^) and filters.
        var dropName = b.Op != TokenKind.Atan2 && (!b.IsComparison || b.ReturnBool);
        var result = new List<VectorSample>();
        if (lhs is VectorValue lv && rhs is VectorValue rv)
        {
            switch (b.Op)
            {
                case TokenKind.And or TokenKind.Unless:
                    SetFilter(ev, b, lv.Samples, rv.Samples, keepMatched: b.Op == TokenKind.And, result);
                    break;
                case TokenKind.Or:
                    SetUnion(ev, b, lv.Samples, rv.Samples, result);
                    break;
                default:
                    VectorVector(ev, b, lv.Samples, rv.Samples, dropName, result);
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
                    result.Add(new VectorSample(dropName ? Derived(ev, b, LabelsWithoutName, s.Labels) : s.Labels, value));
                }
            }
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    /// <summary><c>and</c> (elements of the left side with a match on the right) and <c>unless</c> (without one); labels and names kept.</summary>
    private static void SetFilter(PromEvaluation ev, Binary b, List<VectorSample> lhs, List<VectorSample> rhs, bool keepMatched, List<VectorSample> result)
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
            right.Add(Derived(ev, b, MatchSignature, r.Labels));
        }

        foreach (var l in lhs)
        {
            if (right.Contains(Derived(ev, b, MatchSignature, l.Labels)) == keepMatched)
            {
                result.Add(l);
            }
        }
    }

    /// <summary><c>or</c>: every element of the left side, then those of the right side whose match group the left side lacks.</summary>
    private static void SetUnion(PromEvaluation ev, Binary b, List<VectorSample> lhs, List<VectorSample> rhs, List<VectorSample> result)
    {
        var left = new HashSet<LabelSet>();
        foreach (var l in lhs)
        {
            left.Add(Derived(ev, b, MatchSignature, l.Labels));
            result.Add(l);
        }

        foreach (var r in rhs)
        {
            if (!left.Contains(Derived(ev, b, MatchSignature, r.Labels)))
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
    private static void VectorVector(PromEvaluation ev, Binary b, List<VectorSample> lhs, List<VectorSample> rhs, bool dropName, List<VectorSample> result)
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
            var sig = Derived(ev, b, MatchSignature, r.Labels);
            if (!oneSide.TryAdd(sig, r))
            {
                throw PromQueryException.Execution("found duplicate series for the match group " + sig + " on the " + (swapped ? "left" : "right") + " hand-side of the operation: [" + r.Labels + ", " + oneSide[sig].Labels + "];many-to-many matching not allowed: matching labels must be unique on one side");
            }
        }

        var matched = new HashSet<LabelSet>();
        var produced = new HashSet<(LabelSet Group, LabelSet Labels)>();
        foreach (var m in many)
        {
            var sig = Derived(ev, b, MatchSignature, m.Labels);
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
                labels = Derived(ev, b, dropName ? OneToOneLabelsWithoutName : OneToOneLabels, m.Labels);
            }
            else
            {
                labels = dropName ? Derived(ev, b, LabelsWithoutName, m.Labels) : m.Labels;
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
        TokenKind.Atan2 => (Math.Atan2(l, r), true),
        TokenKind.EqlEql => (l, l == r),
        TokenKind.Neq => (l, l != r),
        TokenKind.Gtr => (l, l > r),
        TokenKind.Lss => (l, l < r),
        TokenKind.Gte => (l, l >= r),
        TokenKind.Lte => (l, l <= r),
        _ => throw new InvalidOperationException("operator " + op + " is not a binary operator"),
    };
}
