using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>Function calls over instant vectors and scalars (see <see cref="PromFunctions"/> for the list).</summary>
public sealed partial class PromEngine
{
    /// <param name="keepName">
    /// Keep <c>__name__</c> (and so skip the duplicate check) because an enclosing aggregation groups without it —
    /// Prometheus 3's delayed name removal: <c>sum by (job) (rate({job="x"}[1m]))</c> over series that differ only by
    /// name gives the same answer as if the names were dropped first, instead of Prometheus 2's "same labelset" error.
    /// Only for the functions that map series one to one (<see cref="PromFunctions.MapsSeriesDroppingName"/>).
    /// </param>
    private static PromValue EvalCall(PromEvaluation ev, Call call, long t, bool keepName = false)
    {
        switch (call.Function)
        {
            case "time":
                return new ScalarValue(t / 1000.0);
            case "pi":
                return new ScalarValue(Math.PI);
            case "vector":
                return new VectorValue([new VectorSample(LabelSet.Empty, EvalScalar(ev, call.Args[0], t))]);
            case "scalar":
                {
                    var v = EvalVector(ev, call.Args[0], t);
                    return new ScalarValue(v.Count == 1 ? v[0].Value : double.NaN);
                }

            case "absent":
                return EvalVector(ev, call.Args[0], t).Count > 0 ? new VectorValue([]) : new VectorValue([new VectorSample(AbsentLabels(call.Args[0]), 1)]);
            case "sort" or "sort_desc":
                return Sort(EvalVector(ev, call.Args[0], t), call.Function == "sort_desc");
            case "label_replace":
                return LabelReplace(ev, call, t);
            case "label_join":
                return LabelJoin(ev, call, t);
            case "histogram_quantile":
                return HistogramQuantile(EvalScalar(ev, call.Args[0], t), EvalVector(ev, call.Args[1], t));
        }

        var matrixArg = -1;
        for (var i = 0; i < call.Args.Count; i++)
        {
            if (call.Args[i].Type == PromType.Matrix)
            {
                matrixArg = i;
            }
        }

        var result = matrixArg >= 0 ? EvalRangeFunction(ev, call, matrixArg, t, keepName) : EvalInstantFunction(ev, call, t, keepName);
        if (!keepName)
        {
            CheckUniqueLabels(result);
        }

        return new VectorValue(result);
    }

    /// <summary>Element-wise functions of an instant vector; all drop <c>__name__</c>.</summary>
    private static List<VectorSample> EvalInstantFunction(PromEvaluation ev, Call call, long t, bool keepName)
    {
        if (call.Function == "timestamp" && UnwrapParens(call.Args[0]) is VectorSelector vs)
        {
            // The time of the sample the selector picked, not the evaluation time.
            var stamped = new List<VectorSample>();
            foreach (var (labels, _, ms) in SelectInstantWithTime(ev, vs, t))
            {
                stamped.Add(new VectorSample(keepName ? labels : DropMetricName(labels), ms / 1000.0));
            }

            return stamped;
        }

        // The date functions without an argument read the evaluation time: vector(time()).
        var input = call.Args.Count == 0 ? [new VectorSample(LabelSet.Empty, t / 1000.0)] : EvalVector(ev, call.Args[0], t);
        double a1 = call.Args.Count > 1 ? EvalScalar(ev, call.Args[1], t) : 1, a2 = call.Args.Count > 2 ? EvalScalar(ev, call.Args[2], t) : 0;
        var result = new List<VectorSample>(input.Count);
        if (call.Function == "clamp" && a1 > a2)
        {
            // clamp with min > max selects nothing (documented).
            return result;
        }

        foreach (var s in input)
        {
            var x = s.Value;
            var value = call.Function switch
            {
                "abs" => Math.Abs(x),
                "ceil" => Math.Ceiling(x),
                "floor" => Math.Floor(x),
                "exp" => Math.Exp(x),
                "ln" => Math.Log(x),
                "log2" => Math.Log2(x),
                "log10" => Math.Log10(x),
                "sqrt" => Math.Sqrt(x),
                "round" => Round(x, a1),
                "clamp" => Math.Max(a1, Math.Min(a2, x)),
                "clamp_min" => Math.Max(a1, x),
                "clamp_max" => Math.Min(a1, x),
                "timestamp" => t / 1000.0,
                "sgn" => double.IsNaN(x) ? x : Math.Sign(x),
                "acos" => Math.Acos(x),
                "acosh" => Math.Acosh(x),
                "asin" => Math.Asin(x),
                "asinh" => Math.Asinh(x),
                "atan" => Math.Atan(x),
                "atanh" => Math.Atanh(x),
                "cos" => Math.Cos(x),
                "cosh" => Math.Cosh(x),
                "sin" => Math.Sin(x),
                "sinh" => Math.Sinh(x),
                "tan" => Math.Tan(x),
                "tanh" => Math.Tanh(x),
                "deg" => x * 180 / Math.PI,
                "rad" => x * Math.PI / 180,
                "day_of_month" or "day_of_week" or "day_of_year" or "days_in_month" or "hour" or "minute" or "month" or "year" => DatePart(call.Function, x),
                _ => throw new InvalidOperationException("unknown function " + call.Function),
            };
            result.Add(new VectorSample(keepName ? s.Labels : DropMetricName(s.Labels), value));
        }

        return result;
    }

    /// <summary>
    /// A calendar field of the UTC time <paramref name="seconds"/> after the epoch (whole seconds, as Prometheus reads
    /// the value); NaN for a value that is no representable time.
    /// </summary>
    private static double DatePart(string function, double seconds)
    {
        // DateTimeOffset covers years 1 to 9999: beyond, Prometheus's Go time would still answer; here it is NaN.
        if (!double.IsFinite(seconds) || seconds < -62_135_596_800 || seconds >= 253_402_300_800)
        {
            return double.NaN;
        }

        var time = DateTimeOffset.FromUnixTimeSeconds((long)seconds).UtcDateTime;
        return function switch
        {
            "day_of_month" => time.Day,
            "day_of_week" => (int)time.DayOfWeek,
            "day_of_year" => time.DayOfYear,
            "days_in_month" => DateTime.DaysInMonth(time.Year, time.Month),
            "hour" => time.Hour,
            "minute" => time.Minute,
            "month" => time.Month,
            _ => time.Year,
        };
    }

    /// <summary>Rounds to the nearest multiple of <paramref name="toNearest"/>, ties up (documented for <c>round</c>).</summary>
    private static double Round(double x, double toNearest)
    {
        // Multiplying by the inverse rather than dividing keeps the results Prometheus gives for fractions like 0.1.
        var inverse = 1.0 / toNearest;
        return Math.Floor((x * inverse) + 0.5) / inverse;
    }

    /// <summary>
    /// The labels of <c>absent</c>'s answer: from a selector argument (parentheses allowed), the labels its equality matchers pin to one
    /// value (a label with any other kind of matcher, or two of them, is left out); nothing for other expressions.
    /// </summary>
    private static LabelSet AbsentLabels(PromExpr arg)
    {
        if (UnwrapParens(arg) is not VectorSelector vs)
        {
            return LabelSet.Empty;
        }

        var pinned = new Dictionary<string, string>(StringComparer.Ordinal);
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in vs.Matchers)
        {
            if (m.Name == Label.MetricNameLabel)
            {
                continue;
            }

            if (m.Type != LabelMatchType.Equal || !pinned.TryAdd(m.Name, m.Value))
            {
                ambiguous.Add(m.Name);
            }
        }

        var labels = new List<Label>();
        foreach (var (name, value) in pinned)
        {
            if (!ambiguous.Contains(name) && value.Length > 0)
            {
                labels.Add(new Label(name, value));
            }
        }

        return new LabelSet(labels);
    }

    /// <summary><c>sort</c>/<c>sort_desc</c>: by value, stable, NaN last in both (as Prometheus 2 orders them); labels untouched.</summary>
    private static VectorValue Sort(List<VectorSample> input, bool descending)
    {
        var indexed = new List<(VectorSample Sample, int Index)>(input.Count);
        for (var i = 0; i < input.Count; i++)
        {
            indexed.Add((input[i], i));
        }

        indexed.Sort((a, b) =>
        {
            var an = double.IsNaN(a.Sample.Value);
            var bn = double.IsNaN(b.Sample.Value);
            var c = an || bn ? an.CompareTo(bn) : descending ? b.Sample.Value.CompareTo(a.Sample.Value) : a.Sample.Value.CompareTo(b.Sample.Value);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        });
        var result = new List<VectorSample>(input.Count);
        foreach (var (s, _) in indexed)
        {
            result.Add(s);
        }

        return new VectorValue(result);
    }

    private static string StringArg(Call call, int i) => ((StringLiteral)UnwrapParens(call.Args[i])).Value;

    /// <summary>
    /// <c>label_replace(v, dst, replacement, src, regex)</c>: where the anchored regex matches the value of src (missing =
    /// empty), dst becomes the expanded replacement (empty = removed); other elements pass unchanged; names kept.
    /// </summary>
    private static VectorValue LabelReplace(PromEvaluation ev, Call call, long t)
    {
        var dst = StringArg(call, 1);
        var replacement = StringArg(call, 2);
        var src = StringArg(call, 3);
        var pattern = StringArg(call, 4);
        var (regex, groupNames) = LabelReplaceRegex(ev, call, pattern);
        if (!IsValidLabelName(dst))
        {
            throw PromQueryException.Execution("invalid destination label name in label_replace(): " + dst);
        }

        var result = new List<VectorSample>();
        foreach (var s in EvalVector(ev, call.Args[0], t))
        {
            var match = regex.Match(s.Labels.TryGetValue(src, out var value) ? value : string.Empty);
            result.Add(match.Success ? new VectorSample(WithLabel(s.Labels, dst, PromMath.Expand(replacement, match, groupNames)), s.Value) : s);
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    /// <summary>
    /// The anchored regex of a <c>label_replace</c> call, compiled once per query rather than once per step (a
    /// non-backtracking regex costs more to build than to run: a 3,000-step range query built it 3,000 times).
    /// </summary>
    private static (Regex Regex, Dictionary<string, int> GroupNames) LabelReplaceRegex(PromEvaluation ev, Call call, string pattern)
    {
        if (ev.LabelReplaceRegexes.TryGetValue(call, out var compiled))
        {
            return compiled;
        }

        try
        {
            var regex = LinearRegex.Compile("^(?:" + PromMath.NumberNamedGroups(pattern, out var groupNames) + ")$");
            compiled = (regex, groupNames);
        }
        catch (ArgumentException e)
        {
            // Prometheus's message, plus why when the pattern is valid .NET syntax that needs backtracking.
            throw PromQueryException.Execution("invalid regular expression in label_replace(): " + pattern
                + (e.InnerException is NotSupportedException ? ": " + LinearRegex.UnsupportedReason : string.Empty));
        }

        ev.LabelReplaceRegexes[call] = compiled;
        return compiled;
    }

    /// <summary><c>label_join(v, dst, separator, src…)</c>: dst = the src values joined (missing = empty; empty result removes dst); names kept.</summary>
    private static VectorValue LabelJoin(PromEvaluation ev, Call call, long t)
    {
        var dst = StringArg(call, 1);
        var separator = StringArg(call, 2);
        var sources = new List<string>();
        for (var i = 3; i < call.Args.Count; i++)
        {
            var src = StringArg(call, i);
            if (!IsValidLabelName(src))
            {
                throw PromQueryException.Execution("invalid source label name in label_join(): " + src);
            }

            sources.Add(src);
        }

        if (!IsValidLabelName(dst))
        {
            throw PromQueryException.Execution("invalid destination label name in label_join(): " + dst);
        }

        var result = new List<VectorSample>();
        var sb = new StringBuilder();
        foreach (var s in EvalVector(ev, call.Args[0], t))
        {
            sb.Clear();
            for (var i = 0; i < sources.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(separator);
                }

                sb.Append(s.Labels.TryGetValue(sources[i], out var v) ? v : string.Empty);
            }

            result.Add(new VectorSample(WithLabel(s.Labels, dst, sb.ToString()), s.Value));
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    /// <summary>
    /// <c>histogram_quantile(φ, buckets)</c> over classic buckets: elements grouped by their labels without <c>le</c>,
    /// answers labelled without <c>le</c> and <c>__name__</c>; an element whose <c>le</c> is missing or not a number is ignored.
    /// </summary>
    private static VectorValue HistogramQuantile(double q, List<VectorSample> input)
    {
        var groups = new Dictionary<LabelSet, List<(double, double)>>();
        var order = new List<LabelSet>();
        foreach (var s in input)
        {
            if (!s.Labels.TryGetValue("le", out var le) || !TryParseBound(le, out var upper))
            {
                continue;
            }

            // Grouped by all labels but le, the name included (two histograms of different names are two groups, and
            // when their answers carry the same labels that is the "same labelset" error, as in Prometheus).
            var key = WithLabel(s.Labels, "le", string.Empty);
            if (!groups.TryGetValue(key, out var buckets))
            {
                buckets = [];
                groups[key] = buckets;
                order.Add(key);
            }

            buckets.Add((upper, s.Value));
        }

        var result = new List<VectorSample>(order.Count);
        foreach (var key in order)
        {
            result.Add(new VectorSample(DropMetricName(key), PromMath.BucketQuantile(q, groups[key])));
        }

        CheckUniqueLabels(result);
        return new VectorValue(result);
    }

    /// <summary>A bucket bound as Go's ParseFloat reads it (<c>+Inf</c>, <c>Inf</c>, <c>NaN</c> in any case, decimal or exponent form).</summary>
    private static bool TryParseBound(string text, out double value)
    {
        var t = text.TrimStart('+');
        if (t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = text.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (text.Equals("-inf", StringComparison.OrdinalIgnoreCase) || text.Equals("-infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NegativeInfinity;
            return true;
        }

        if (text.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return true;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
