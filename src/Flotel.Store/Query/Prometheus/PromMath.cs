using System.Text;
using System.Text.RegularExpressions;
using Flotel.Model.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>The numeric definitions behind PromQL's statistical functions, written from the Prometheus documentation.</summary>
internal static class PromMath
{
    /// <summary>
    /// The φ-quantile of <paramref name="values"/> (sorted in place) as <c>quantile</c> and <c>quantile_over_time</c>
    /// define it: linear interpolation between the closest ranks, rank = φ·(n − 1); φ &lt; 0 gives −Inf, φ &gt; 1
    /// +Inf, NaN (or no values) NaN.
    /// </summary>
    public static double Quantile(double q, List<double> values)
    {
        if (values.Count == 0 || double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        values.Sort();
        var n = values.Count;
        var rank = q * (n - 1);
        var lower = Math.Max(0, (int)Math.Floor(rank));
        var upper = Math.Min(n - 1, lower + 1);
        var weight = rank - Math.Floor(rank);
        return (values[lower] * (1 - weight)) + (values[upper] * weight);
    }

    /// <summary>
    /// <c>histogram_quantile</c> over classic buckets (upper bound, cumulative count), per the documentation: buckets
    /// sorted by bound, equal bounds merged, counts made monotonic; NaN without a +Inf bucket, with fewer than two
    /// buckets or no observations; a quantile in the +Inf bucket is the second highest bound; the lowest bucket
    /// interpolates from 0 when its bound is positive, else answers its bound; otherwise linear interpolation inside
    /// the bucket holding the rank φ·count.
    /// </summary>
    public static double BucketQuantile(double q, List<(double Upper, double Count)> buckets)
    {
        if (double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        buckets.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Upper))
        {
            return double.NaN;
        }

        // Merge buckets with the same bound (e.g. "1" and "1.0"), then repair non-monotonic counts, which appear when
        // buckets are scraped or rated at slightly different moments.
        var merged = new List<(double Upper, double Count)>(buckets.Count);
        foreach (var b in buckets)
        {
            if (merged.Count > 0 && merged[^1].Upper == b.Upper)
            {
                merged[^1] = (b.Upper, merged[^1].Count + b.Count);
            }
            else
            {
                merged.Add(b);
            }
        }

        var max = double.NegativeInfinity;
        for (var i = 0; i < merged.Count; i++)
        {
            if (merged[i].Count > max)
            {
                max = merged[i].Count;
            }
            else if (merged[i].Count < max)
            {
                merged[i] = (merged[i].Upper, max);
            }
        }

        if (merged.Count < 2)
        {
            return double.NaN;
        }

        var observations = merged[^1].Count;
        if (observations == 0)
        {
            return double.NaN;
        }

        var rank = q * observations;
        var at = merged.Count - 1;
        for (var i = 0; i < merged.Count - 1; i++)
        {
            if (merged[i].Count >= rank)
            {
                at = i;
                break;
            }
        }

        if (at == merged.Count - 1)
        {
            return merged[^2].Upper;
        }

        if (at == 0 && merged[0].Upper <= 0)
        {
            return merged[0].Upper;
        }

        var start = 0.0;
        var end = merged[at].Upper;
        var count = merged[at].Count;
        if (at > 0)
        {
            start = merged[at - 1].Upper;
            count -= merged[at - 1].Count;
            rank -= merged[at - 1].Count;
        }

        return start + ((end - start) * (rank / count));
    }

    /// <summary>
    /// Least-squares line through the samples with x = seconds since <paramref name="interceptMs"/>: the slope
    /// (<c>deriv</c>) and the value at x = 0 (<c>predict_linear</c>). Constant samples give slope 0 exactly.
    /// </summary>
    public static (double Slope, double Intercept) LinearRegression(ReadOnlySpan<Sample> samples, long interceptMs)
    {
        double n = 0, sumX = 0, sumY = 0, sumXY = 0, sumX2 = 0;
        var constant = true;
        var first = samples[0].Value;
        foreach (var s in samples)
        {
            constant &= s.Value == first;
            var x = (s.TimestampMs - interceptMs) / 1e3;
            n++;
            sumY += s.Value;
            sumX += x;
            sumXY += x * s.Value;
            sumX2 += x * x;
        }

        if (constant && double.IsFinite(first))
        {
            return (0, first);
        }

        var covXY = sumXY - (sumX * sumY / n);
        var varX = sumX2 - (sumX * sumX / n);
        var slope = covXY / varX;
        var intercept = (sumY / n) - (slope * sumX / n);
        return (slope, intercept);
    }

    /// <summary>Population variance of the sample values (Welford's online algorithm).</summary>
    public static double Variance(ReadOnlySpan<Sample> samples)
    {
        double count = 0, mean = 0, squares = 0;
        foreach (var s in samples)
        {
            count++;
            var delta = s.Value - mean;
            mean += delta / count;
            squares += delta * (s.Value - mean);
        }

        return squares / count;
    }

    /// <summary>
    /// Expands a <c>label_replace</c> replacement the way Go's <c>Regexp.Expand</c> documents its templates:
    /// <c>$name</c> or <c>${name}</c> where name is letters, digits and underscores (all digits = group number, so
    /// <c>$1x</c> is the group named "1x"); a missing group expands to nothing; <c>$$</c> is a literal <c>$</c>;
    /// a <c>$</c> not followed by a valid reference is kept as it is.
    /// </summary>
    public static string Expand(string template, Match match, Dictionary<string, int> groupNames)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var dollar = template.IndexOf('$', i);
            if (dollar < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }

            sb.Append(template, i, dollar - i);
            i = dollar + 1;
            if (i < template.Length && template[i] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            var brace = i < template.Length && template[i] == '{';
            var nameStart = brace ? i + 1 : i;
            var nameEnd = nameStart;
            while (nameEnd < template.Length && (char.IsLetterOrDigit(template[nameEnd]) || template[nameEnd] == '_'))
            {
                nameEnd++;
            }

            if (nameEnd == nameStart || (brace && (nameEnd >= template.Length || template[nameEnd] != '}')))
            {
                sb.Append('$');
                continue;
            }

            var name = template[nameStart..nameEnd];
            i = brace ? nameEnd + 1 : nameEnd;
            var number = -1;
            if (name.Length < 9 && name.All(char.IsAsciiDigit) && !(name[0] == '0' && name.Length > 1))
            {
                number = int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (number < 0 && !groupNames.TryGetValue(name, out number))
            {
                continue;
            }

            if (number < match.Groups.Count && match.Groups[number] is { Success: true } group)
            {
                sb.Append(group.Value);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Rewrites an RE2 pattern for .NET so capture groups keep RE2's numbering: RE2 numbers named groups
    /// (<c>(?P&lt;name&gt;…)</c>, <c>(?&lt;name&gt;…)</c>) left to right with the unnamed ones, .NET numbers them after all
    /// unnamed ones. Named groups become unnamed and <paramref name="groupNames"/> maps each name to its RE2 number.
    /// </summary>
    public static string NumberNamedGroups(string pattern, out Dictionary<string, int> groupNames)
    {
        groupNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var sb = new StringBuilder(pattern.Length);
        var groups = 0;
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                sb.Append(c).Append(pattern[++i]);
                continue;
            }

            if (inClass)
            {
                inClass = c != ']';
                sb.Append(c);
                continue;
            }

            if (c == '[')
            {
                inClass = true;
                sb.Append(c);

                // A ']' right after '[' or '[^' is a literal member of the class.
                if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                {
                    sb.Append(pattern[++i]);
                }

                if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                {
                    sb.Append(pattern[++i]);
                }

                continue;
            }

            if (c != '(')
            {
                sb.Append(c);
                continue;
            }

            var rest = pattern.AsSpan(i + 1);
            var nameAt = rest.StartsWith("?P<") ? 3 : rest.StartsWith("?<") && !rest.StartsWith("?<=") && !rest.StartsWith("?<!") ? 2 : -1;
            if (nameAt > 0)
            {
                var close = rest.IndexOf('>');
                if (close > nameAt)
                {
                    groups++;
                    groupNames.TryAdd(rest[nameAt..close].ToString(), groups);
                    sb.Append('(');
                    i += close + 1;
                    continue;
                }
            }

            if (!rest.StartsWith("?"))
            {
                groups++;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
