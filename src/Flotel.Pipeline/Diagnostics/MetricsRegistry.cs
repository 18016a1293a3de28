using System.Globalization;
using System.Text;

namespace Flotel.Pipeline.Diagnostics;

/// <summary>
/// Flotel's own metrics, exposed at <c>/metrics</c> in the Prometheus text format (0.0.4). Counters are plain
/// <see cref="Counter"/> objects incremented with <see cref="Interlocked"/>, so hot paths pay one atomic add and no
/// allocation; gauges are read when scraped. Every drop has a counter with a <c>reason</c> label (style.md rule 5).
/// </summary>
public sealed class MetricsRegistry
{
    private readonly Lock _lock = new();

    /// <summary>Families in registration order; written under <see cref="_lock"/>, read by <see cref="WriteText"/>.</summary>
    private readonly List<Family> _families = [];

    /// <summary>Returns the counter for <paramref name="name"/> and these labels, creating it on first use.</summary>
    public Counter Counter(string name, string help, params (string Name, string Value)[] labels)
    {
        var key = LabelText(labels);
        lock (_lock)
        {
            var family = GetFamily(name, help, "counter");
            foreach (var (k, series) in family.Series)
            {
                if (k == key && series is Counter existing)
                {
                    return existing;
                }
            }

            var counter = new Counter();
            family.Series.Add((key, counter));
            return counter;
        }
    }

    /// <summary>Registers a gauge read by <paramref name="read"/> at each scrape.</summary>
    public void Gauge(string name, string help, Func<double> read, params (string Name, string Value)[] labels)
    {
        lock (_lock)
        {
            GetFamily(name, help, "gauge").Series.Add((LabelText(labels), read));
        }
    }

    /// <summary>Registers a counter whose value is kept elsewhere (the runtime, the kernel) and read at each scrape.</summary>
    public void ObservedCounter(string name, string help, Func<double> read, params (string Name, string Value)[] labels)
    {
        lock (_lock)
        {
            GetFamily(name, help, "counter").Series.Add((LabelText(labels), read));
        }
    }

    /// <summary>Writes every family in the text exposition format.</summary>
    public void WriteText(StringBuilder output)
    {
        lock (_lock)
        {
            foreach (var family in _families)
            {
                output.Append("# HELP ").Append(family.Name).Append(' ').Append(family.Help).Append('\n');
                output.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type).Append('\n');
                foreach (var (labels, series) in family.Series)
                {
                    var value = series switch
                    {
                        Counter c => c.Value,
                        Func<double> f => f(),
                        _ => double.NaN,
                    };
                    output.Append(family.Name).Append(labels).Append(' ').Append(Format(value)).Append('\n');
                }
            }
        }
    }

    /// <summary>Sum of the counters of <paramref name="name"/> whose labels include all of <paramref name="labels"/> (tests, status views).</summary>
    public long Sum(string name, params (string Name, string Value)[] labels)
    {
        var parts = new string[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var text = LabelText([labels[i]]);
            parts[i] = text[1..^1];
        }

        long total = 0;
        lock (_lock)
        {
            foreach (var family in _families)
            {
                if (family.Name != name)
                {
                    continue;
                }

                foreach (var (text, series) in family.Series)
                {
                    if (series is Counter counter && Array.TrueForAll(parts, p => ContainsLabel(text, p)))
                    {
                        total += counter.Value;
                    }
                }
            }
        }

        return total;
    }

    /// <summary>The whole exposition as a string.</summary>
    public string ToText()
    {
        var sb = new StringBuilder(4096);
        WriteText(sb);
        return sb.ToString();
    }

    private static string Format(double value) =>
        double.IsNaN(value) ? "NaN"
        : double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static bool ContainsLabel(string labelText, string pair)
    {
        var at = labelText.IndexOf(pair, StringComparison.Ordinal);
        while (at >= 0)
        {
            // A whole pair: preceded by '{' or ',' and followed by ',' or '}'.
            var end = at + pair.Length;
            if ((labelText[at - 1] is '{' or ',') && end < labelText.Length && labelText[end] is ',' or '}')
            {
                return true;
            }

            at = labelText.IndexOf(pair, at + 1, StringComparison.Ordinal);
        }

        return false;
    }

    private static string LabelText((string Name, string Value)[] labels)
    {
        if (labels.Length == 0)
        {
            return string.Empty;
        }

        var sb = new StringBuilder("{");
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(labels[i].Name).Append("=\"");
            foreach (var ch in labels[i].Value)
            {
                _ = ch switch
                {
                    '\\' => sb.Append("\\\\"),
                    '"' => sb.Append("\\\""),
                    '\n' => sb.Append("\\n"),
                    _ => sb.Append(ch),
                };
            }

            sb.Append('"');
        }

        return sb.Append('}').ToString();
    }

    private Family GetFamily(string name, string help, string type)
    {
        foreach (var f in _families)
        {
            if (f.Name == name)
            {
                return f.Type == type ? f : throw new InvalidOperationException($"metric {name} is already a {f.Type}");
            }
        }

        var family = new Family(name, help, type);
        _families.Add(family);
        return family;
    }

    private sealed record Family(string Name, string Help, string Type)
    {
        public List<(string Labels, object Series)> Series { get; } = [];
    }
}
