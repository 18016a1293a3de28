using System.Text;
using Flotel.Model.Metrics;
using Flotel.Wire.Exposition;

namespace Flotel.Agent.Metrics;

/// <summary>
/// Turns one scrape's exposition into the series the WAL stores (docs/reference/flotta-device-worker.md §4.2, §4.6, with Flotel's fixes):
/// the allow list is applied on the exact metric name before anything is allocated; every series gets
/// <c>edgedeviceid=&lt;device&gt;</c> (the agent's value wins: it names the sender) and <c>metric-source=&lt;target&gt;</c>
/// (the sample's own value wins, as in DW <c>AddVector</c>); labels are sorted (remote-write spec 1.0, which Flotta
/// violated); a timestamp exposed by the target is kept, otherwise the scrape's start time is used (Flotta discarded
/// exposed timestamps). One builder per target: it remembers the last exposed timestamp of each series, so a target that
/// repeats a stale timestamp does not make the receiver reject a whole request as out of order.
/// </summary>
internal sealed class ScrapeBuilder : IExpositionVisitor
{
    /// <summary>Label the agent adds (DW <c>DeviceLabel</c>).</summary>
    public const string DeviceLabel = "edgedeviceid";

    /// <summary>
    /// Label the agent adds (DW <c>metricSource</c>), spelled as Flotta does so series match a Flotta fleet's. The
    /// hyphen is outside the 1.0 spec's label-name regex, but Prometheus 2.42 (tested here), VictoriaMetrics and the
    /// Flotel gateway store it; PromQL before Prometheus 3 cannot select on it (<c>{"metric-source"="system"}</c> is 3.x
    /// syntax), it shows in query results.
    /// </summary>
    public const string SourceLabel = "metric-source";

    private readonly Dictionary<LabelSet, long> _lastExposedTimestamp = [];
    private readonly List<Label> _scratch = new(16);

    /// <summary>
    /// The label sets of the series seen in recent scrapes, keyed by the series' bytes as exposed (name and labels):
    /// a target exposes the same series scrape after scrape, so building their strings and sorting their labels again
    /// each time was most of the agent's allocation per scrape. Entries not seen in a scrape are removed at its end.
    /// </summary>
    private readonly Dictionary<byte[], CachedSeries> _known = new(SeriesKeyComparer.Instance);
    private readonly byte[] _keyBuffer = new byte[1024];
    private int _scrape;
    private string? _knownDevice;
    private List<TimeSeries> _series = [];
    private string _device = string.Empty;
    private ScrapeTarget? _target;
    private long _scrapeTimeMs;

    /// <summary>Samples in the exposition (before the allow list) since <see cref="Begin"/>.</summary>
    public int Scraped { get; private set; }

    /// <summary>Samples whose name is not in the allow list.</summary>
    public int NotAllowed { get; private set; }

    /// <summary>Samples whose exposed timestamp is not newer than the one stored last for the series.</summary>
    public int OutOfOrder { get; private set; }

    /// <summary>Malformed lines (skipped, counted).</summary>
    public int Malformed { get; private set; }

    /// <summary>Starts one scrape.</summary>
    public void Begin(string device, ScrapeTarget target, long scrapeTimeMs)
    {
        if (_knownDevice != device || _target?.Source != target.Source)
        {
            _known.Clear();
            _knownDevice = device;
        }

        _device = device;
        _target = target;
        _scrapeTimeMs = scrapeTimeMs;
        _scrape++;
        _series = [];
        Scraped = 0;
        NotAllowed = 0;
        OutOfOrder = 0;
        Malformed = 0;
    }

    /// <summary>
    /// Ends the scrape: adds the health series (<c>up</c>, <c>scrape_duration_seconds</c>,
    /// <c>scrape_samples_scraped</c>, as Prometheus names them; never subject to the allow list) and hands the series
    /// over.
    /// </summary>
    public List<TimeSeries> Finish(bool up, TimeSpan duration)
    {
        Health("up", up ? 1 : 0);
        Health("scrape_duration_seconds", duration.TotalSeconds);
        Health("scrape_samples_scraped", Scraped);
        if (_known.Count > 0)
        {
            List<byte[]>? gone = null;
            foreach (var (key, entry) in _known)
            {
                if (entry.Scrape != _scrape)
                {
                    (gone ??= []).Add(key);
                }
            }

            gone?.ForEach(key => _known.Remove(key));
        }

        var result = _series;
        _series = [];
        return result;
    }

    /// <inheritdoc />
    public void Sample(ReadOnlySpan<byte> metricName, ExpositionLabels labels, double value, long? timestampMs)
    {
        Scraped++;
        var target = _target!;
        if (!target.AllowList.Allows(metricName))
        {
            NotAllowed++;
            return;
        }

        var key = SeriesKey(metricName, labels);
        CachedSeries? known = null;
        if (!key.IsEmpty)
        {
            _known.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out known);
        }

        LabelSet set;
        if (known is not null)
        {
            known.Scrape = _scrape;
            set = known.Labels;
        }
        else
        {
            set = BuildLabels(metricName, labels, target);
            if (!key.IsEmpty)
            {
                _known[key.ToArray()] = new CachedSeries(set, _scrape);
            }
        }

        var timestamp = _scrapeTimeMs;
        if (timestampMs is { } exposed)
        {
            if (_lastExposedTimestamp.TryGetValue(set, out var last) && exposed <= last)
            {
                OutOfOrder++;
                return;
            }

            _lastExposedTimestamp[set] = exposed;
            timestamp = exposed;
        }

        _series.Add(new TimeSeries(set, [new Sample(timestamp, value)]));
    }

    private LabelSet BuildLabels(ReadOnlySpan<byte> metricName, ExpositionLabels labels, ScrapeTarget target)
    {
        _scratch.Clear();
        _scratch.Add(new Label(Label.MetricNameLabel, Encoding.UTF8.GetString(metricName)));
        var hasSource = false;
        for (var i = 0; i < labels.Count; i++)
        {
            var name = labels.GetName(i);
            var labelValue = labels.GetValue(i);
            if (labelValue.IsEmpty || name.SequenceEqual("__name__"u8) || name.SequenceEqual("edgedeviceid"u8))
            {
                // An empty value is an absent label (Prometheus data model); the device label is the agent's.
                continue;
            }

            hasSource |= name.SequenceEqual("metric-source"u8);
            _scratch.Add(new Label(Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(labelValue)));
        }

        _scratch.Add(new Label(DeviceLabel, _device));
        if (!hasSource)
        {
            _scratch.Add(new Label(SourceLabel, target.Source));
        }

        return new LabelSet(_scratch);
    }

    /// <summary>
    /// The series as exposed: name, then each label name and value, separated by bytes that cannot occur in UTF-8
    /// (0xFF, 0xFE). Empty when it does not fit the key buffer (such a series is simply not cached).
    /// </summary>
    private ReadOnlySpan<byte> SeriesKey(ReadOnlySpan<byte> metricName, ExpositionLabels labels)
    {
        var key = _keyBuffer.AsSpan();
        if (!Append(ref key, metricName))
        {
            return [];
        }

        for (var i = 0; i < labels.Count; i++)
        {
            if (!Append(ref key, labels.GetName(i)) || !Append(ref key, labels.GetValue(i)))
            {
                return [];
            }
        }

        return _keyBuffer.AsSpan(0, _keyBuffer.Length - key.Length);

        static bool Append(ref Span<byte> into, ReadOnlySpan<byte> part)
        {
            if (part.Length + 1 > into.Length)
            {
                return false;
            }

            part.CopyTo(into);
            into[part.Length] = 0xFF;
            into = into[(part.Length + 1)..];
            return true;
        }
    }

    /// <inheritdoc />
    public void Type(ReadOnlySpan<byte> metricName, ExpositionMetricType type)
    {
    }

    /// <inheritdoc />
    public void Help(ReadOnlySpan<byte> metricName, ReadOnlySpan<byte> text)
    {
    }

    /// <inheritdoc />
    public void Error(int line, ExpositionErrorReason reason) => Malformed++;

    private void Health(string name, double value)
    {
        var target = _target!;
        var labels = LabelSet.Of(
            Label.MetricNameLabel, name,
            DeviceLabel, _device,
            "instance", target.Instance,
            SourceLabel, target.Source);
        _series.Add(new TimeSeries(labels, [new Sample(_scrapeTimeMs, value)]));
    }

    private sealed class CachedSeries(LabelSet labels, int scrape)
    {
        public LabelSet Labels { get; } = labels;

        public int Scrape { get; set; } = scrape;
    }

    private sealed class SeriesKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly SeriesKeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => Hash(obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<byte> bytes)
        {
            var hash = default(HashCode);
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
