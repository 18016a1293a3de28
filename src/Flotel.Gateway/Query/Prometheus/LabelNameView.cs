using System.Text;
using System.Text.Json;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Flotel.Store.Query.Prometheus;

namespace Flotel.Gateway.Query.Prometheus;

/// <summary>
/// The sanitised view of label names (<c>query.prometheus.labelNames: sanitize</c>). Flotta's agents label every series
/// <c>metric-source</c>, outside the classic label-name regex <c>[a-zA-Z_][a-zA-Z0-9_]*</c>; Go clients built on
/// Prometheus's model package before 3.0 (promtool 2.42, Grafana's backend of that time) refuse a whole answer holding
/// such a name. In this view:
/// <list type="bullet">
/// <item>answers spell each such name sanitised as Prometheus 3's <c>underscores</c> escaping does
/// (https://prometheus.io/docs/instrumenting/escaping_schemes/): every character outside <c>[a-zA-Z0-9_]</c> becomes
/// <c>_</c> (one per character), and a name starting with a digit gets a leading <c>_</c>;</item>
/// <item>queries may use the sanitised spelling wherever a label name goes (matchers, <c>by</c>, <c>on</c>,
/// <c>label_replace</c>'s source; see <see cref="PromLabelNameMap"/>): <c>{metric_source="x"}</c> selects the stored
/// <c>metric-source</c>.</item>
/// </list>
/// When a series has both a name that needed sanitising and the classic name it sanitises to (<c>metric-source</c> and
/// <c>metric_source</c>), the first one is the one answered and matched; when two stored names sanitise alike, the
/// first in ordinal order is. Metric names (<c>__name__</c> values) are left as they are: clients do not check them.
/// <para>
/// The stored names that need sanitising are listed from the store at most every <see cref="RefreshInterval"/> (one
/// pass over the series' label sets): a name first stored after the last listing is answered sanitised at once but
/// matched by its sanitised spelling only from the next listing.
/// </para>
/// </summary>
internal sealed class LabelNameView(MetricStore store, TimeProvider time)
{
    /// <summary>Longest time a newly stored name may wait before its sanitised spelling matches it.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private Dictionary<string, string> _storedBySanitised = new(StringComparer.Ordinal);
    private long _listedAtTicks = long.MinValue;

    /// <summary>Whether <paramref name="name"/> matches <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</summary>
    public static bool IsClassic(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The classic spelling of <paramref name="name"/>: itself when classic; otherwise each character outside <c>[a-zA-Z0-9_]</c> → <c>_</c>, a leading digit prefixed with <c>_</c>.</summary>
    public static string Sanitize(string name)
    {
        if (name.Length == 0 || IsClassic(name))
        {
            return name;
        }

        var sb = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            sb.Append('_');
        }

        foreach (var rune in name.EnumerateRunes())
        {
            sb.Append(rune.IsAscii && (char.IsAsciiLetterOrDigit((char)rune.Value) || rune.Value == '_') ? (char)rune.Value : '_');
        }

        return sb.ToString();
    }

    /// <summary>The stored name a query's <paramref name="name"/> stands for (itself unless it is the sanitised spelling of a stored name).</summary>
    public string ToStored(string name) => Aliases().TryGetValue(name, out var stored) ? stored : name;

    /// <summary>The parsed query with sanitised names turned into stored ones.</summary>
    public PromExpr ToStored(PromExpr expr) => PromLabelNameMap.Apply(expr, ToStored);

    /// <summary>Matchers with sanitised names turned into stored ones.</summary>
    public IReadOnlyList<LabelMatcher> ToStored(IReadOnlyList<LabelMatcher> matchers) => PromLabelNameMap.Apply(matchers, ToStored);

    /// <summary>Writes <paramref name="labels"/> as a JSON object with sanitised names.</summary>
    public static void WriteLabels(Utf8JsonWriter w, LabelSet labels)
    {
        var allClassic = true;
        foreach (var l in labels)
        {
            if (!IsClassic(l.Name))
            {
                allClassic = false;
                break;
            }
        }

        w.WriteStartObject();
        if (allClassic)
        {
            foreach (var l in labels)
            {
                w.WriteString(l.Name, l.Value);
            }
        }
        else
        {
            // The names that needed sanitising win over a classic name they collide with (see the class summary).
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var l in labels)
            {
                if (!IsClassic(l.Name) && written.Add(Sanitize(l.Name)))
                {
                    w.WriteString(Sanitize(l.Name), l.Value);
                }
            }

            foreach (var l in labels)
            {
                if (IsClassic(l.Name) && written.Add(l.Name))
                {
                    w.WriteString(l.Name, l.Value);
                }
            }
        }

        w.WriteEndObject();
    }

    private Dictionary<string, string> Aliases()
    {
        lock (_lock)
        {
            var now = time.GetUtcNow().UtcTicks;
            if (_listedAtTicks != long.MinValue && now - _listedAtTicks < RefreshInterval.Ticks)
            {
                return _storedBySanitised;
            }

            var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in store.LabelNames([], long.MinValue, long.MaxValue))
            {
                // LabelNames is sorted ordinally: the first stored name for a sanitised spelling is kept.
                if (!IsClassic(name) && name != Label.MetricNameLabel)
                {
                    aliases.TryAdd(Sanitize(name), name);
                }
            }

            _storedBySanitised = aliases;
            _listedAtTicks = now;
            return aliases;
        }
    }
}
