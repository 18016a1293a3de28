using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// Renames the label names a parsed expression refers to — matchers, <c>by</c>/<c>without</c>, <c>on</c>/<c>ignoring</c>,
/// <c>group_left</c>/<c>group_right</c>, the source label of <c>label_replace</c> — so that a query written with one spelling of a name is evaluated against the names stored.
/// The gateway uses it to let a query say <c>metric_source</c> for the stored <c>metric-source</c>. Nodes that refer to
/// no renamed label are shared with the input; the input is not changed. <c>__name__</c> is never renamed. Labels a
/// query creates (<c>label_replace</c>/<c>label_join</c> destinations, <c>count_values</c>' label) and
/// <c>label_join</c>'s sources are left as written: the engine requires those to be classic names, which a renamed one
/// may not be.
/// </summary>
public static class PromLabelNameMap
{
    /// <summary>
    /// The expression with every label name <c>n</c> it refers to replaced by <paramref name="rename"/>(n) (which
    /// returns n itself for names to keep).
    /// </summary>
    public static PromExpr Apply(PromExpr expr, Func<string, string> rename)
    {
        ArgumentNullException.ThrowIfNull(expr);
        ArgumentNullException.ThrowIfNull(rename);
        return Map(expr, rename);
    }

    /// <summary>The matchers with their label names renamed (the list itself when none changes).</summary>
    public static IReadOnlyList<LabelMatcher> Apply(IReadOnlyList<LabelMatcher> matchers, Func<string, string> rename)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        ArgumentNullException.ThrowIfNull(rename);
        List<LabelMatcher>? renamed = null;
        for (var i = 0; i < matchers.Count; i++)
        {
            var m = matchers[i];
            var name = m.Name == Label.MetricNameLabel ? m.Name : rename(m.Name);
            if (renamed is null && !ReferenceEquals(name, m.Name) && name != m.Name)
            {
                renamed = new List<LabelMatcher>(matchers.Count);
                for (var j = 0; j < i; j++)
                {
                    renamed.Add(matchers[j]);
                }
            }

            renamed?.Add(name == m.Name ? m : new LabelMatcher(m.Type, name, m.Value));
        }

        return renamed ?? matchers;
    }

    private static PromExpr Map(PromExpr expr, Func<string, string> rename)
    {
        switch (expr)
        {
            case VectorSelector v:
                return MapSelector(v, rename);
            case MatrixSelector m:
                var selector = MapSelector(m.Selector, rename);
                return ReferenceEquals(selector, m.Selector) ? m : new MatrixSelector(m.Position, selector, m.RangeMs);
            case Call c:
                {
                    var args = MapAll(c.Args, rename, out var changed);
                    // label_replace(v, dst, replacement, src, regex): src is read, never checked as a name.
                    if (c.Function == "label_replace" && args.Count > 3 && args[3] is StringLiteral s && RenameLabel(s.Value, rename) is var n && n != s.Value)
                    {
                        args[3] = new StringLiteral(s.Position, n);
                        changed = true;
                    }

                    return changed ? new Call(c.Position, c.Function, args, c.Type) : c;
                }

            case Aggregate a:
                {
                    var inner = Map(a.Expr, rename);
                    var param = a.Param is null ? null : Map(a.Param, rename);

                    var grouping = MapNames(a.Grouping, rename);
                    return ReferenceEquals(inner, a.Expr) && ReferenceEquals(param, a.Param) && ReferenceEquals(grouping, a.Grouping)
                        ? a
                        : new Aggregate(a.Position, a.Op, inner, grouping, a.Without, param);
                }

            case Unary u:
                {
                    var inner = Map(u.Expr, rename);
                    return ReferenceEquals(inner, u.Expr) ? u : new Unary(u.Position, inner);
                }

            case Paren p:
                {
                    var inner = Map(p.Expr, rename);
                    return ReferenceEquals(inner, p.Expr) ? p : new Paren(p.Position, inner);
                }

            case Binary b:
                {
                    var lhs = Map(b.Lhs, rename);
                    var rhs = Map(b.Rhs, rename);
                    var matching = b.MatchingLabels is null ? null : MapNames(b.MatchingLabels, rename);
                    var include = MapNames(b.Include, rename);
                    if (ReferenceEquals(lhs, b.Lhs) && ReferenceEquals(rhs, b.Rhs) && ReferenceEquals(matching, b.MatchingLabels) && ReferenceEquals(include, b.Include))
                    {
                        return b;
                    }

                    return new Binary(b.Position, b.Op, lhs, rhs)
                    {
                        ReturnBool = b.ReturnBool,
                        MatchingLabels = matching,
                        On = b.On,
                        Card = b.Card,
                        Include = include,
                    };
                }

            default:
                return expr;
        }
    }

    private static string RenameLabel(string name, Func<string, string> rename) => name == Label.MetricNameLabel ? name : rename(name);

    private static VectorSelector MapSelector(VectorSelector v, Func<string, string> rename)
    {
        var matchers = Apply(v.Matchers, rename);
        return ReferenceEquals(matchers, v.Matchers) ? v : new VectorSelector(v.Position, v.Name, matchers) { OffsetMs = v.OffsetMs };
    }

    private static List<PromExpr> MapAll(IReadOnlyList<PromExpr> exprs, Func<string, string> rename, out bool changed)
    {
        changed = false;
        var result = new List<PromExpr>(exprs.Count);
        foreach (var e in exprs)
        {
            var m = Map(e, rename);
            changed |= !ReferenceEquals(m, e);
            result.Add(m);
        }

        return result;
    }

    private static IReadOnlyList<string> MapNames(IReadOnlyList<string> names, Func<string, string> rename)
    {
        string[]? renamed = null;
        for (var i = 0; i < names.Count; i++)
        {
            var n = RenameLabel(names[i], rename);
            if (n != names[i])
            {
                renamed ??= [.. names];
                renamed[i] = n;
            }
        }

        return renamed ?? names;
    }
}
