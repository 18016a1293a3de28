using System.Globalization;
using System.Text;
using Flotel.Model.Metrics;

namespace Flotel.Store.Tests.Conformance;

/// <summary>One series of a <c>load</c> command or one expected element of an <c>eval</c>.</summary>
internal sealed record PromqlSeries(LabelSet Labels, List<Sample> Samples);

/// <summary>An <c>eval</c> command: query, time, what it must answer.</summary>
internal sealed record PromqlEval(
    string File,
    int Line,
    string Query,
    long TimeMs,
    bool Fail,
    bool Ordered,
    double? ExpectedScalar,
    List<(LabelSet Labels, double Value)> Expected,
    bool UsesNativeHistograms)
{
    /// <summary>For <c>eval range from … to … step …</c>: the query range (ms); null for an instant eval.</summary>
    public (long StartMs, long EndMs, long StepMs)? Range { get; init; }

    /// <summary>A range eval's expected series, points at start + k × step.</summary>
    public List<PromqlSeries> ExpectedSeries { get; init; } = [];

    /// <summary>An <c>eval_fail</c>'s <c>expected_fail_message</c> (exact) or <c>expected_fail_regexp</c>.</summary>
    public string? FailMessage { get; init; }

    public string? FailRegexp { get; init; }
}

/// <summary>
/// A test file in the promqltest format of Prometheus (promql/test.go at v2.42): <c>load &lt;interval&gt;</c> followed
/// by series lines, <c>clear</c>, and <c>eval[_fail|_ordered] instant at &lt;duration&gt; &lt;query&gt;</c> followed by
/// the expected elements (or one bare number for a scalar). Series values use the series-description notation of
/// Prometheus's parser (generated_parser.y, <c>series_item</c>): <c>a</c>, <c>a+bxN</c> / <c>a-bxN</c> (N + 1 values),
/// <c>axN</c>, <c>_</c>, <c>_xN</c> (N missing), <c>stale</c>, <c>NaN</c>, <c>Inf</c>.
/// </summary>
internal sealed class PromqlTestScript
{
    private PromqlTestScript(string file) => File = file;

    public string File { get; }

    /// <summary>The evals in file order; each with the index of the commands it runs after.</summary>
    public List<(PromqlEval Eval, int CommandIndex)> Evals { get; } = [];

    /// <summary>The state-changing commands: a load (interval and series) or a clear (null).</summary>
    public List<(long IntervalMs, List<PromqlSeries> Series)?> Commands { get; } = [];

    public static PromqlTestScript Parse(string file, string text)
    {
        var script = new PromqlTestScript(file);
        var lines = text.Split('\n');

        // Metric names loaded with native histogram samples since the last clear: evals over them are left out.
        var histogramNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = Clean(lines[i]);
            if (line.Length == 0)
            {
                continue;
            }

            var command = line.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant();
            if (command == "clear")
            {
                histogramNames.Clear();
                script.Commands.Add(null);
            }
            else if (command == "load")
            {
                var interval = ParseDuration(line[4..].Trim());
                var series = new List<PromqlSeries>();
                while (i + 1 < lines.Length && Clean(lines[i + 1]).Length > 0)
                {
                    i++;
                    var (labels, values, nativeHistogram) = ParseSeriesLine(Clean(lines[i]), interval);
                    if (nativeHistogram)
                    {
                        histogramNames.Add(labels.TryGetValue(Label.MetricNameLabel, out var name) ? name : string.Empty);
                    }
                    else
                    {
                        // A series defined twice in one load keeps its last definition (test.go's loadCmd.set keys by labels).
                        series.RemoveAll(x => x.Labels.Equals(labels));
                        series.Add(new PromqlSeries(labels, values));
                    }
                }

                script.Commands.Add((interval, series));
            }
            else if (command.StartsWith("eval", StringComparison.Ordinal))
            {
                var evalLine = i + 1;
                var (fail, ordered, timeMs, query, range) = ParseEvalHeader(line, file, evalLine);
                double? scalar = null;
                var expected = new List<(LabelSet, double)>();
                var expectedSeries = new List<PromqlSeries>();
                string? failMessage = null, failRegexp = null;
                var histograms = query.Contains("{{", StringComparison.Ordinal) || histogramNames.Any(n => query.Contains(n, StringComparison.Ordinal));
                while (i + 1 < lines.Length && Clean(lines[i + 1]).Length > 0)
                {
                    i++;
                    var expectLine = Clean(lines[i]);
                    if (expectLine.StartsWith("expected_fail_message ", StringComparison.Ordinal))
                    {
                        failMessage = expectLine["expected_fail_message ".Length..].Trim();
                        continue;
                    }

                    if (expectLine.StartsWith("expected_fail_regexp ", StringComparison.Ordinal))
                    {
                        failRegexp = expectLine["expected_fail_regexp ".Length..].Trim();
                        continue;
                    }

                    if (range is { } r)
                    {
                        var (seriesLabels, points, nativeSeries) = ParseSeriesLine(expectLine, r.StepMs);
                        histograms |= nativeSeries;
                        expectedSeries.Add(new PromqlSeries(seriesLabels, points.Select(x => new Sample(x.TimestampMs + r.StartMs, x.Value)).ToList()));
                        continue;
                    }

                    if (TryParseNumber(expectLine, out var number))
                    {
                        scalar = number;
                        break;
                    }

                    var (labels, values, nativeHistogram) = ParseSeriesLine(expectLine, 0);
                    histograms |= nativeHistogram;
                    if (values.Count != 1 && !nativeHistogram)
                    {
                        throw new FormatException(file + ":" + (i + 1) + ": expected one value per element");
                    }

                    expected.Add((labels, nativeHistogram ? double.NaN : values[0].Value));
                }

                var eval = new PromqlEval(file, evalLine, query, timeMs, fail, ordered, scalar, expected, histograms)
                {
                    Range = range,
                    ExpectedSeries = expectedSeries,
                    FailMessage = failMessage,
                    FailRegexp = failRegexp,
                };
                script.Evals.Add((eval, script.Commands.Count));
            }
            else
            {
                throw new FormatException(file + ":" + (i + 1) + ": unknown command " + command);
            }
        }

        return script;
    }

    private static string Clean(string line)
    {
        var t = line.Trim();
        return t.StartsWith('#') ? string.Empty : t;
    }

    /// <summary>
    /// <c>eval[_fail|_ordered|_warn|_info] instant at &lt;time&gt; &lt;query&gt;</c> or
    /// <c>eval[_fail|_warn|_info] range from &lt;start&gt; to &lt;end&gt; step &lt;step&gt; &lt;query&gt;</c> (later
    /// Prometheus versions). <c>_warn</c> and <c>_info</c> expect an annotation besides the answer: the answer is checked,
    /// the annotation is not (the engine reports none).
    /// </summary>
    private static (bool Fail, bool Ordered, long TimeMs, string Query, (long StartMs, long EndMs, long StepMs)? Range) ParseEvalHeader(string line, string file, int lineNumber)
    {
        var instant = System.Text.RegularExpressions.Regex.Match(line, @"^eval(?:_(fail|ordered|warn|info))?\s+instant\s+(?:at\s+(\S+?))?\s+(.+)$");
        if (instant.Success)
        {
            return (instant.Groups[1].Value == "fail", instant.Groups[1].Value == "ordered", ParseDuration(instant.Groups[2].Value), instant.Groups[3].Value.Trim(), null);
        }

        var range = System.Text.RegularExpressions.Regex.Match(line, @"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+?)\s+(.+)$");
        if (range.Success)
        {
            var start = ParseDuration(range.Groups[2].Value);
            return (range.Groups[1].Value == "fail", false, start, range.Groups[5].Value.Trim(), (start, ParseDuration(range.Groups[3].Value), ParseDuration(range.Groups[4].Value)));
        }

        throw new FormatException(file + ":" + lineNumber + ": unsupported eval command: " + line);
    }

    /// <summary>Prometheus's model.ParseDuration: units ms s m h d w y, largest first, each at most once.</summary>
    internal static long ParseDuration(string text)
    {
        if (text is "0" or "")
        {
            return 0;
        }

        long total = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            var n = long.Parse(text.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            total += text[unitStart..i] switch
            {
                "ms" => n,
                "s" => n * 1000,
                "m" => n * 60_000,
                "h" => n * 3_600_000,
                "d" => n * 86_400_000,
                "w" => n * 604_800_000,
                "y" => n * 31_536_000_000,
                var u => throw new FormatException("unknown duration unit " + u + " in " + text),
            };
        }

        return total;
    }

    /// <summary>test.go's parseNumber: an integer (Go base prefixes) or a float (Go's ParseFloat: Inf, NaN).</summary>
    internal static bool TryParseNumber(string text, out double value)
    {
        var t = text;
        var negative = t.StartsWith('-');
        if (t.StartsWith('-') || t.StartsWith('+'))
        {
            t = t[1..];
        }

        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            value = negative ? -hex : hex;
            return true;
        }

        if (t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (t.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return true;
        }

        if (t.Length == 0 || !(char.IsAsciiDigit(t[0]) || t[0] == '.'))
        {
            value = 0;
            return false;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// A series description: <c>name{label="value", …} values…</c>. Samples are at k × <paramref name="intervalMs"/>
    /// for the k-th value; missing values (<c>_</c>) keep their slot.
    /// </summary>
    internal static (LabelSet Labels, List<Sample> Samples, bool NativeHistogram) ParseSeriesLine(string line, long intervalMs)
    {
        var labels = new List<Label>();
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        if (i > 0)
        {
            labels.Add(new Label(Label.MetricNameLabel, line[..i]));
        }

        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (line[i] is ' ' or ',')
                {
                    i++;
                }

                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var nameStart = i;
                while (line[i] != '=' && line[i] != ' ')
                {
                    i++;
                }

                var name = line[nameStart..i];
                while (line[i] is ' ' or '=')
                {
                    i++;
                }

                labels.Add(new Label(name, ReadQuoted(line, ref i)));
            }
        }

        var values = new List<Sample>();
        var rest = line[i..].Trim();
        if (rest.Contains("{{", StringComparison.Ordinal))
        {
            return (new LabelSet(labels), values, true);
        }

        var slot = 0L;
        foreach (var item in rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var v in ExpandItem(item))
            {
                if (v is { } value)
                {
                    values.Add(new Sample(slot * intervalMs, value));
                }

                slot++;
            }
        }

        return (new LabelSet(labels), values, false);
    }

    private static string ReadQuoted(string line, ref int i)
    {
        var quote = line[i++];
        var sb = new StringBuilder();
        while (line[i] != quote)
        {
            if (line[i] == '\\' && quote != '`')
            {
                i++;
                sb.Append(line[i] switch
                {
                    'n' => '\n',
                    't' => '\t',
                    var c => c,
                });
            }
            else
            {
                sb.Append(line[i]);
            }

            i++;
        }

        i++;
        return sb.ToString();
    }

    /// <summary>One <c>series_item</c>: null entries are missing samples.</summary>
    private static IEnumerable<double?> ExpandItem(string item)
    {
        var x = item.LastIndexOf('x');
        string head = item, times = string.Empty;
        // In a series description x is always "times": 0x10 is eleven zeros, not sixteen.
        if (x > 0 && x < item.Length - 1 && item[(x + 1)..].All(char.IsAsciiDigit))
        {
            head = item[..x];
            times = item[(x + 1)..];
        }

        var n = times.Length == 0 ? -1 : long.Parse(times, CultureInfo.InvariantCulture);
        if (head == "_")
        {
            for (var k = 0L; k < Math.Max(n, 1); k++)
            {
                yield return null;
            }

            yield break;
        }

        // a, a+b or a-b: the increment's sign is the first + or - after the start value's first character
        // (not after an exponent's e).
        var split = -1;
        for (var k = 1; k < head.Length; k++)
        {
            if (head[k] is '+' or '-' && head[k - 1] is not ('e' or 'E'))
            {
                split = k;
                break;
            }
        }

        var start = Value(split < 0 ? head : head[..split]);
        var step = split < 0 ? 0 : Value(head[split..]);
        if (n < 0)
        {
            yield return start;
            yield break;
        }

        for (var k = 0L; k <= n; k++)
        {
            yield return start;
            start += step;
        }
    }

    private static double Value(string text)
    {
        if (text == "stale")
        {
            return Sample.StaleMarker;
        }

        return TryParseNumber(text, out var v) ? v : throw new FormatException("bad series value " + text);
    }
}
