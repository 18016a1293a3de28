using System.Globalization;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>
/// Runs an aggregation tree in one pass over the matching documents (<see cref="Collect"/> per row, then
/// <see cref="Finish"/>): each bucket aggregation keeps one set of sub-aggregation collectors per bucket. Counts are
/// exact (one shard: <c>doc_count_error_upper_bound</c> is 0). Bucket numbers are bounded twice: at most
/// <see cref="MaxCollectedBuckets"/> distinct buckets while collecting (memory), at most <see cref="MaxBuckets"/> in the
/// answer (Elasticsearch's <c>search.max_buckets</c> default), both a 400 <c>too_many_buckets_exception</c>.
/// </summary>
internal sealed class AggregationExecutor
{
    /// <summary>Elasticsearch 7.9+'s default <c>search.max_buckets</c>.</summary>
    public const int MaxBuckets = 65_536;

    /// <summary>
    /// Most buckets held while collecting, at every level together (a <c>terms</c> over a unique field grows one per
    /// document). A bucket with a sub-histogram holds a few hundred bytes: this caps the memory at about 100 MiB, and
    /// keeps every answer the bucket limit allows (terms(program) × one-minute buckets over a week is 201,600).
    /// </summary>
    public const int MaxCollectedBuckets = 250_000;

    private readonly Collector[] _top;
    private readonly bool[] _precounted;
    private int _collected;
    private int _answered;

    public AggregationExecutor(AggregationPlan plan, Func<string, IReadOnlyCollection<object>>? allValues = null)
    {
        Plan = plan;
        AllValues = allValues;
        _top = Create(plan.Aggregations);
        _precounted = new bool[_top.Length];
    }

    public AggregationPlan Plan { get; }

    /// <summary>Every value of a field in the searched indices, query or not (<c>terms</c> with <c>min_doc_count: 0</c>).</summary>
    public Func<string, IReadOnlyCollection<object>>? AllValues { get; }

    /// <summary>The <c>top_hits</c> results whose documents the caller must read after <see cref="Finish"/>.</summary>
    public List<TopHitsResult> TopHits { get; } = [];

    public void Collect(AggregationRow row)
    {
        for (int i = 0; i < _top.Length; i++)
        {
            if (!_precounted[i])
            {
                _top[i].Collect(row);
            }
        }
    }

    /// <summary>
    /// The collector of the top-level <paramref name="aggregation"/>, which the caller fills with counts it took itself
    /// (<see cref="DateHistogramCollector.AddCount"/>): <see cref="Collect"/> passes it no rows from now on.
    /// </summary>
    public DateHistogramCollector Precount(DateHistogramAggregation aggregation)
    {
        int i = Array.FindIndex(_top, c => ReferenceEquals((c as DateHistogramCollector)?.Aggregation, aggregation));
        _precounted[i] = true;
        return (DateHistogramCollector)_top[i];
    }

    public AggregationResults Finish() => new(FinishAll(_top));

    internal Collector[] Create(IReadOnlyList<Aggregation> aggregations)
    {
        var collectors = new Collector[aggregations.Count];
        for (int i = 0; i < collectors.Length; i++)
        {
            Aggregation a = aggregations[i];
            collectors[i] = a switch
            {
                DateHistogramAggregation d => new DateHistogramCollector(this, d),
                HistogramAggregation h => new HistogramCollector(this, h),
                TermsAggregation t => new TermsCollector(this, t),
                FiltersAggregation f => new FiltersCollector(this, f),
                RangeAggregation r => new RangeCollector(this, r),
                MetricAggregation m => new MetricCollector(this, m),
                PercentilesAggregation p => new PercentilesCollector(this, p),
                TopHitsAggregation t => new TopHitsCollector(this, t),
                _ => throw new ArgumentException($"unsupported aggregation {a.GetType().Name}", nameof(aggregations)),
            };
        }

        return collectors;
    }

    internal static List<(string, AggregationResult)> FinishAll(Collector[] collectors)
    {
        var results = new List<(string, AggregationResult)>(collectors.Length);
        foreach (Collector collector in collectors)
        {
            results.Add((collector.Name, collector.Finish()));
        }

        return results;
    }

    internal Bucket NewBucket(IReadOnlyList<Aggregation> subs)
    {
        if (++_collected > MaxCollectedBuckets)
        {
            throw TooMany(MaxCollectedBuckets, _collected);
        }

        return new Bucket(subs.Count == 0 ? [] : Create(subs));
    }

    /// <summary>Counts <paramref name="count"/> buckets going into the answer.</summary>
    internal void Answer(int count)
    {
        _answered += count;
        if (_answered > MaxBuckets)
        {
            throw TooMany(MaxBuckets, _answered);
        }
    }

    private static ElasticsearchException TooMany(int limit, int count) => new(400, "too_many_buckets_exception",
        $"Trying to create too many buckets. Must be less than or equal to: [{limit.ToString(CultureInfo.InvariantCulture)}] but was [{count.ToString(CultureInfo.InvariantCulture)}]. This limit can be set by changing the [search.max_buckets] cluster level setting.");

    internal static ElasticsearchException Unsupported(string field, string what, string type) =>
        ElasticsearchException.IllegalArgument($"Field [{field}] holds {what}, which is not supported for aggregation [{type}]");
}

/// <summary>A bucket being filled: its count and its sub-aggregations.</summary>
internal sealed class Bucket(Collector[] subs)
{
    public long DocCount;
    public readonly Collector[] Subs = subs;

    public void Collect(AggregationRow row)
    {
        DocCount++;
        foreach (Collector sub in Subs)
        {
            sub.Collect(row);
        }
    }

    public List<(string, AggregationResult)> FinishSubs() => AggregationExecutor.FinishAll(Subs);
}

/// <summary>Collects one aggregation (for one parent bucket).</summary>
internal abstract class Collector(string name)
{
    public string Name { get; } = name;

    public abstract void Collect(AggregationRow row);

    public abstract AggregationResult Finish();
}

internal sealed class DateHistogramCollector : Collector
{
    private readonly AggregationExecutor _executor;
    private readonly DateHistogramAggregation _a;
    private readonly int _slot;
    private readonly DateRounding _rounding;
    private readonly Dictionary<long, Bucket> _buckets = [];
    private long _lastKey = long.MinValue;
    private Bucket? _last;

    // Keys within [_lastFrom, _lastTo) round to _lastKey: most rows fall in the bucket of the row before (they arrive
    // in time order from the ts index, or in the order they were stored, mostly time order, from block row id spans), so
    // rounding runs about once per bucket.
    private long _lastFrom = long.MaxValue;
    private long _lastTo = long.MinValue;
    private readonly bool _cacheRange;

    public DateHistogramCollector(AggregationExecutor executor, DateHistogramAggregation a)
        : base(a.Name)
    {
        _executor = executor;
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
        _rounding = new DateRounding(a.Interval, a.Zone, a.OffsetMs);
        // A fixed interval cut on the local clock of a zone with DST is not monotonic across the change: round each row.
        _cacheRange = a.Zone.IsFixed || a.Interval.IsCalendar;
    }

    public DateHistogramAggregation Aggregation => _a;

    public DateRounding Rounding => _rounding;

    /// <summary>Adds <paramref name="count"/> documents to the bucket keyed <paramref name="key"/> (a key of <see cref="Rounding"/>).</summary>
    public void AddCount(long key, long count)
    {
        if (count == 0)
        {
            return;
        }

        if (!_buckets.TryGetValue(key, out Bucket? bucket))
        {
            bucket = _executor.NewBucket(_a.SubAggregations);
            _buckets[key] = bucket;
        }

        bucket.DocCount += count;
    }

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        switch (v.Kind)
        {
            case ValueKind.Long:
                Add(v.Long, row);
                break;
            case ValueKind.Missing:
                if (_a.Missing is { } missing)
                {
                    Add(missing, row);
                }

                break;
            default:
                for (int i = 0; i < v.Count; i++)
                {
                    Add(ToMillis(v.Get(i)), row);
                }

                break;
        }
    }

    private long ToMillis(object value) => value switch
    {
        long l => l,
        double d => (long)d,
        string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
        string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset d) => d.ToUnixTimeMilliseconds(),
        _ => throw AggregationExecutor.Unsupported(_a.Field, "values that are not dates", "date_histogram"),
    };

    private void Add(long ms, AggregationRow row)
    {
        if (_a.HardBounds is { } hard && ((hard.Min is { } min && ms < min) || (hard.Max is { } max && ms > max)))
        {
            return;
        }

        if (ms < _lastFrom || ms >= _lastTo)
        {
            long key = _rounding.Round(ms);
            if (key != _lastKey || _last is null)
            {
                if (!_buckets.TryGetValue(key, out _last))
                {
                    _last = _executor.NewBucket(_a.SubAggregations);
                    _buckets[key] = _last;
                }

                _lastKey = key;
            }

            if (_cacheRange)
            {
                _lastFrom = key;
                _lastTo = _rounding.Next(key);
            }
        }

        _last!.Collect(row);
    }

    public override AggregationResult Finish()
    {
        var keys = _buckets.Keys.Where(k => _buckets[k].DocCount >= Math.Max(1, _a.MinDocCount)).ToList();
        if (_a.MinDocCount == 0)
        {
            long? first = _buckets.Count > 0 ? _buckets.Keys.Min() : null;
            long? last = _buckets.Count > 0 ? _buckets.Keys.Max() : null;
            if (_a.ExtendedBounds is { } bounds)
            {
                long min = _rounding.Round(bounds.Min);
                long max = _rounding.Round(bounds.Max);
                first = first is { } f ? Math.Min(f, min) : min;
                last = last is { } l ? Math.Max(l, max) : max;
            }

            if (_a.HardBounds is { } hard)
            {
                if (hard.Min is { } hmin && first < hmin)
                {
                    first = _rounding.Round(hmin) < hmin ? _rounding.Next(_rounding.Round(hmin)) : _rounding.Round(hmin);
                }

                if (hard.Max is { } hmax && last > hmax)
                {
                    last = _rounding.Round(hmax);
                }
            }

            keys.Clear();
            if (first is { } from && last is { } to)
            {
                for (long key = from; key <= to; key = _rounding.Next(key))
                {
                    keys.Add(key);
                    _executor.Answer(1);
                }
            }
        }
        else
        {
            keys.Sort();
            _executor.Answer(keys.Count);
        }

        var buckets = new List<BucketResult>(keys.Count);
        foreach (long key in keys)
        {
            Bucket bucket = _buckets.TryGetValue(key, out Bucket? found) ? found : new Bucket(_executor.Create(_a.SubAggregations));
            buckets.Add(new BucketResult(key, _a.Format.Format(key, _rounding.Zone), bucket.DocCount, bucket.FinishSubs()));
        }

        return new BucketListResult(buckets, _a.Keyed, keyAsStringFirst: true) { Type = "date_histogram" };
    }
}

internal sealed class HistogramCollector : Collector
{
    private readonly AggregationExecutor _executor;
    private readonly HistogramAggregation _a;
    private readonly int _slot;
    private readonly Dictionary<long, Bucket> _buckets = [];

    public HistogramCollector(AggregationExecutor executor, HistogramAggregation a)
        : base(a.Name)
    {
        _executor = executor;
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
    }

    private long Index(double value) => (long)Math.Floor((value - _a.Offset) / _a.Interval);

    private double Key(long index) => (index * _a.Interval) + _a.Offset;

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        if (v.Kind == ValueKind.Missing)
        {
            if (_a.Missing is { } missing)
            {
                Add(missing, row);
            }

            return;
        }

        if (v.Kind is ValueKind.Long or ValueKind.Double)
        {
            Add(v.Kind == ValueKind.Long ? v.Long : v.Double, row);
            return;
        }

        var seen = new HashSet<long>();
        for (int i = 0; i < v.Count; i++)
        {
            double value = v.Get(i) switch
            {
                long l => l,
                double d => d,
                bool b => b ? 1 : 0,
                _ => throw AggregationExecutor.Unsupported(_a.Field, "text", "histogram"),
            };
            if (seen.Add(Index(value)))
            {
                Add(value, row);
            }
        }
    }

    private void Add(double value, AggregationRow row)
    {
        if (_a.HardBounds is { } hard && ((hard.Min is { } min && value < min) || (hard.Max is { } max && value > max)))
        {
            return;
        }

        long index = Index(value);
        if (!_buckets.TryGetValue(index, out Bucket? bucket))
        {
            bucket = _executor.NewBucket(_a.SubAggregations);
            _buckets[index] = bucket;
        }

        bucket.Collect(row);
    }

    public override AggregationResult Finish()
    {
        List<long> indices;
        if (_a.MinDocCount == 0)
        {
            long? first = _buckets.Count > 0 ? _buckets.Keys.Min() : null;
            long? last = _buckets.Count > 0 ? _buckets.Keys.Max() : null;
            if (_a.ExtendedBounds is { } bounds)
            {
                first = first is { } f ? Math.Min(f, Index(bounds.Min)) : Index(bounds.Min);
                last = last is { } l ? Math.Max(l, Index(bounds.Max)) : Index(bounds.Max);
            }

            indices = [];
            if (first is { } from && last is { } to)
            {
                for (long i = from; i <= to; i++)
                {
                    _executor.Answer(1);
                    indices.Add(i);
                }
            }
        }
        else
        {
            indices = [.. _buckets.Where(b => b.Value.DocCount >= _a.MinDocCount).Select(b => b.Key).Order()];
            _executor.Answer(indices.Count);
        }

        var buckets = new List<BucketResult>(indices.Count);
        foreach (long index in indices)
        {
            Bucket bucket = _buckets.TryGetValue(index, out Bucket? found) ? found : new Bucket(_executor.Create(_a.SubAggregations));
            buckets.Add(new BucketResult(Key(index), null, bucket.DocCount, bucket.FinishSubs()));
        }

        return new BucketListResult(buckets, _a.Keyed, keyAsStringFirst: true) { Type = "histogram" };
    }
}

internal sealed class TermsCollector : Collector
{
    private readonly AggregationExecutor _executor;
    private readonly TermsAggregation _a;
    private readonly int _slot;
    private readonly bool _isDate;
    private readonly Dictionary<string, Bucket> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Bucket> _longs = [];
    private readonly Dictionary<double, Bucket> _doubles = [];
    private readonly Dictionary<long, Bucket> _bools = [];
    private string? _lastString;
    private Bucket? _lastStringBucket;

    public TermsCollector(AggregationExecutor executor, TermsAggregation a)
        : base(a.Name)
    {
        _executor = executor;
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
        _isDate = AggregationPlan.Normalize(a.Field) == "@timestamp";
        foreach (TermsOrder order in a.Order)
        {
            if (order.Key is not ("_count" or "_key"))
            {
                string name = order.Key.Split('.', '[')[0];
                Aggregation? target = a.SubAggregations.FirstOrDefault(s => s.Name == name);
                if (target is null or DateHistogramAggregation or HistogramAggregation or TermsAggregation or FiltersAggregation or RangeAggregation or TopHitsAggregation)
                {
                    throw new ElasticsearchException(400, "aggregation_execution_exception",
                        $"Invalid aggregation order path [{order.Key}]. Buckets can only be sorted on a sub-aggregator path that is built out of zero or more single-bucket aggregations within the path and a final single-bucket or a metrics aggregation at the path end.");
                }
            }
        }
    }

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        switch (v.Kind)
        {
            case ValueKind.Text:
                if (!ReferenceEquals(v.Text, _lastString) || _lastStringBucket is null)
                {
                    _lastString = v.Text;
                    _lastStringBucket = Get(_strings, v.Text!);
                }

                _lastStringBucket.Collect(row);
                break;
            case ValueKind.Long:
                Get(_longs, v.Long).Collect(row);
                break;
            case ValueKind.Double:
                Get(_doubles, v.Double).Collect(row);
                break;
            case ValueKind.Bool:
                Get(_bools, v.Long).Collect(row);
                break;
            case ValueKind.Missing:
                switch (_a.Missing)
                {
                    case null:
                        break;
                    case long l:
                        Get(_longs, l).Collect(row);
                        break;
                    case double d:
                        Get(_doubles, d).Collect(row);
                        break;
                    default:
                        Get(_strings, (string)_a.Missing).Collect(row);
                        break;
                }

                break;
            default:
                // An array: each distinct element once (a document is counted once per term).
                var seen = new HashSet<object>();
                foreach (object value in v.Many!)
                {
                    if (seen.Add(value))
                    {
                        (value switch
                        {
                            long l => Get(_longs, l),
                            double d => Get(_doubles, d),
                            bool b => Get(_bools, b ? 1 : 0),
                            _ => Get(_strings, (string)value),
                        }).Collect(row);
                    }
                }

                break;
        }
    }

    // Elasticsearch names a terms result by its field's type: sterms (keyword), lterms (long, date, boolean), dterms
    // (double). The store keeps no mapping: the indexed fields have fixed types, any other field's come from the values
    // collected (text wins, as a field holding both would be mapped as text); no value at all reads as a keyword.
    private string TermsType()
    {
        string field = AggregationPlan.Normalize(_a.Field);
        if (field is "@timestamp" or "severity" or "facility" or "priority")
        {
            return "lterms";
        }

        return _strings.Count > 0 || (_longs.Count == 0 && _doubles.Count == 0 && _bools.Count == 0) ? "sterms"
            : _doubles.Count > 0 ? "dterms"
            : "lterms";
    }

    private Bucket Get<TKey>(Dictionary<TKey, Bucket> buckets, TKey key)
        where TKey : notnull
    {
        if (!buckets.TryGetValue(key, out Bucket? bucket))
        {
            bucket = _executor.NewBucket(_a.SubAggregations);
            buckets[key] = bucket;
        }

        return bucket;
    }

    public override AggregationResult Finish()
    {
        if (_a.MinDocCount == 0 && _executor.AllValues is { } all)
        {
            foreach (object value in all(AggregationPlan.Normalize(_a.Field)))
            {
                _ = value switch
                {
                    long l => _longs.TryAdd(l, new Bucket(_executor.Create(_a.SubAggregations))),
                    double d => _doubles.TryAdd(d, new Bucket(_executor.Create(_a.SubAggregations))),
                    bool b => _bools.TryAdd(b ? 1 : 0, new Bucket(_executor.Create(_a.SubAggregations))),
                    _ => _strings.TryAdd(Convert.ToString(value, CultureInfo.InvariantCulture)!, new Bucket(_executor.Create(_a.SubAggregations))),
                };
            }
        }

        var candidates = new List<(object Key, string? KeyAsString, Bucket Bucket, List<(string, AggregationResult)> Subs)>();
        void Add(object key, string? keyAsString, Bucket bucket)
        {
            if (bucket.DocCount >= _a.MinDocCount)
            {
                candidates.Add((key, keyAsString, bucket, bucket.FinishSubs()));
            }
        }

        foreach ((long key, Bucket bucket) in _longs)
        {
            Add(key, _isDate ? DateFormat.Default.Format(key, DateZone.Utc) : null, bucket);
        }

        foreach ((double key, Bucket bucket) in _doubles)
        {
            Add(key, null, bucket);
        }

        foreach ((long key, Bucket bucket) in _bools)
        {
            Add(key, key != 0 ? "true" : "false", bucket);
        }

        foreach ((string key, Bucket bucket) in _strings)
        {
            Add(key, null, bucket);
        }

        candidates.Sort((x, y) =>
        {
            foreach (TermsOrder order in _a.Order)
            {
                int c = order.Key switch
                {
                    "_count" => x.Bucket.DocCount.CompareTo(y.Bucket.DocCount) * (order.Descending ? -1 : 1),
                    "_key" => CompareKeys(x.Key, y.Key) * (order.Descending ? -1 : 1),
                    _ => SortValues.Compare(MetricValue(x.Subs, order.Key), MetricValue(y.Subs, order.Key), order.Descending),
                };
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        });
        int take = Math.Min(_a.Size, candidates.Count);
        _executor.Answer(take);
        long other = 0;
        for (int i = take; i < candidates.Count; i++)
        {
            other += candidates[i].Bucket.DocCount;
        }

        var buckets = new List<BucketResult>(take);
        for (int i = 0; i < take; i++)
        {
            buckets.Add(new BucketResult(candidates[i].Key is double d && d == Math.Floor(d) ? d : candidates[i].Key, candidates[i].KeyAsString, candidates[i].Bucket.DocCount, candidates[i].Subs));
        }

        return new TermsResult(buckets, other) { Type = TermsType() };
    }

    private static int CompareKeys(object a, object b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        (string, _) => 1,
        (_, string) => -1,
        _ => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
    };

    // "avg1", "stats1.avg", "pct1.99" or "pct1[99.0]": the sub-aggregation's value, null when it has none.
    private static double? MetricValue(List<(string Name, AggregationResult Result)> subs, string path)
    {
        int split = path.IndexOfAny(['.', '[']);
        string name = split < 0 ? path : path[..split];
        string property = split < 0 ? string.Empty : path[(split + 1)..].TrimEnd(']');
        foreach ((string n, AggregationResult result) in subs)
        {
            if (n == name)
            {
                return result.SortValue(property);
            }
        }

        return null;
    }
}

internal sealed class FiltersCollector : Collector
{
    private readonly FiltersAggregation _a;
    private readonly int[] _slots;
    private readonly Bucket[] _buckets;
    private readonly Bucket? _other;

    public FiltersCollector(AggregationExecutor executor, FiltersAggregation a)
        : base(a.Name)
    {
        _a = a;
        _slots = executor.Plan.SlotsOf(a);
        _buckets = [.. a.Filters.Select(_ => executor.NewBucket(a.SubAggregations))];
        _other = a.OtherBucketKey is null ? null : executor.NewBucket(a.SubAggregations);
        executor.Answer(_buckets.Length + (_other is null ? 0 : 1));
    }

    public override void Collect(AggregationRow row)
    {
        bool any = false;
        for (int i = 0; i < _slots.Length; i++)
        {
            if (row.Filters[_slots[i]])
            {
                any = true;
                _buckets[i].Collect(row);
            }
        }

        if (!any)
        {
            _other?.Collect(row);
        }
    }

    public override AggregationResult Finish()
    {
        var buckets = new List<(string, long, IReadOnlyList<(string, AggregationResult)>)>();
        for (int i = 0; i < _buckets.Length; i++)
        {
            buckets.Add((_a.Filters[i].Key, _buckets[i].DocCount, _buckets[i].FinishSubs()));
        }

        if (_other is not null)
        {
            buckets.Add((_a.OtherBucketKey!, _other.DocCount, _other.FinishSubs()));
        }

        return new FiltersResult(buckets, _a.Keyed) { Type = "filters" };
    }
}

internal sealed class RangeCollector : Collector
{
    private readonly RangeAggregation _a;
    private readonly int _slot;
    private readonly Bucket[] _buckets;

    public RangeCollector(AggregationExecutor executor, RangeAggregation a)
        : base(a.Name)
    {
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
        _buckets = [.. a.Ranges.Select(_ => executor.NewBucket(a.SubAggregations))];
        executor.Answer(_buckets.Length);
    }

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        if (v.Kind is ValueKind.Long or ValueKind.Double)
        {
            double value = v.Kind == ValueKind.Long ? v.Long : v.Double;
            for (int r = 0; r < _buckets.Length; r++)
            {
                if (Contains(_a.Ranges[r], value))
                {
                    _buckets[r].Collect(row);
                }
            }

            return;
        }

        if (v.Kind == ValueKind.Missing)
        {
            return;
        }

        for (int r = 0; r < _buckets.Length; r++)
        {
            for (int i = 0; i < v.Count; i++)
            {
                double value = v.Get(i) switch
                {
                    long l => l,
                    double d => d,
                    _ => throw AggregationExecutor.Unsupported(_a.Field, "text", "range"),
                };
                if (Contains(_a.Ranges[r], value))
                {
                    _buckets[r].Collect(row);
                    break;
                }
            }
        }
    }

    private static bool Contains(RangeBucket range, double value) =>
        (range.From is not { } from || value >= from) && (range.To is not { } to || value < to);

    public override AggregationResult Finish()
    {
        var buckets = new List<BucketResult>(_buckets.Length);
        for (int r = 0; r < _buckets.Length; r++)
        {
            RangeBucket range = _a.Ranges[r];
            string key = range.Key ?? ((range.From is { } f ? AggregationResult.JavaDouble(f) : "*") + "-" + (range.To is { } t ? AggregationResult.JavaDouble(t) : "*"));
            buckets.Add(new BucketResult(key, null, _buckets[r].DocCount, _buckets[r].FinishSubs()) { From = range.From, To = range.To, WritesKey = !_a.Keyed });
        }

        // Elasticsearch's range over a date field is its date_range type.
        return new BucketListResult(buckets, _a.Keyed, keyAsStringFirst: false) { Type = AggregationPlan.Normalize(_a.Field) == "@timestamp" ? "date_range" : "range" };
    }
}

internal sealed class MetricCollector : Collector
{
    private readonly MetricAggregation _a;
    private readonly int _slot;
    private readonly bool _isDate;
    private long _count;
    private double _sum;
    private double _sumOfSquares;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private HashSet<object>? _distinct;

    public MetricCollector(AggregationExecutor executor, MetricAggregation a)
        : base(a.Name)
    {
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
        _isDate = AggregationPlan.Normalize(a.Field) == "@timestamp";
        if (a.Kind == MetricKind.Cardinality)
        {
            _distinct = [];
        }
    }

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        switch (v.Kind)
        {
            case ValueKind.Long:
                Add(v.Long);
                if (_distinct is not null)
                {
                    _ = _distinct.Add(v.Long);
                }

                break;
            case ValueKind.Double:
                Add(v.Double);
                _ = _distinct?.Add(v.Double);
                break;
            case ValueKind.Missing:
                if (_a.Missing is { } missing)
                {
                    Add(missing);
                    _ = _distinct?.Add(missing);
                }

                break;
            default:
                for (int i = 0; i < v.Count; i++)
                {
                    object value = v.Get(i);
                    switch (value)
                    {
                        case long l:
                            Add(l);
                            break;
                        case double d:
                            Add(d);
                            break;
                        case bool b:
                            Add(b ? 1 : 0);
                            break;
                        default:
                            if (_a.Kind is not (MetricKind.ValueCount or MetricKind.Cardinality))
                            {
                                throw AggregationExecutor.Unsupported(_a.Field, "text", Type);
                            }

                            _count++;
                            break;
                    }

                    _ = _distinct?.Add(value);
                }

                break;
        }
    }

    private string Type => _a.Kind switch
    {
        MetricKind.ValueCount => "value_count",
        MetricKind.ExtendedStats => "extended_stats",
        _ => _a.Kind.ToString().ToLowerInvariant(),
    };

    private void Add(double value)
    {
        _count++;
        _sum += value;
        _sumOfSquares += value * value;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
    }

    public override AggregationResult Finish()
    {
        AggregationResult result = Result();
        result.Type = Type;
        return result;
    }

    private AggregationResult Result() => _a.Kind switch
    {
        MetricKind.Avg => new ValueResult(_count > 0 ? _sum / _count : null, null),
        MetricKind.Sum => new ValueResult(_sum, null),
        MetricKind.Min => new ValueResult(_count > 0 ? _min : null, _count > 0 && _isDate ? DateFormat.Default.Format((long)_min, DateZone.Utc) : null),
        MetricKind.Max => new ValueResult(_count > 0 ? _max : null, _count > 0 && _isDate ? DateFormat.Default.Format((long)_max, DateZone.Utc) : null),
        MetricKind.ValueCount => new CountResult(_count),
        MetricKind.Cardinality => new CountResult(_distinct!.Count),
        MetricKind.Stats => new StatsResult(_count, _sum, _min, _max, _sumOfSquares, extended: false, _a.Sigma),
        _ => new StatsResult(_count, _sum, _min, _max, _sumOfSquares, extended: true, _a.Sigma),
    };
}

internal sealed class PercentilesCollector : Collector
{
    private readonly PercentilesAggregation _a;
    private readonly int _slot;
    private readonly List<double> _values = [];

    public PercentilesCollector(AggregationExecutor executor, PercentilesAggregation a)
        : base(a.Name)
    {
        _a = a;
        _slot = executor.Plan.SlotsOf(a)[0];
    }

    public override void Collect(AggregationRow row)
    {
        ref FieldValue v = ref row.Values[_slot];
        switch (v.Kind)
        {
            case ValueKind.Long:
                _values.Add(v.Long);
                break;
            case ValueKind.Double:
                _values.Add(v.Double);
                break;
            case ValueKind.Missing:
                if (_a.Missing is { } missing)
                {
                    _values.Add(missing);
                }

                break;
            default:
                for (int i = 0; i < v.Count; i++)
                {
                    _values.Add(v.Get(i) switch
                    {
                        long l => l,
                        double d => d,
                        _ => throw AggregationExecutor.Unsupported(_a.Field, "text", "percentiles"),
                    });
                }

                break;
        }
    }

    /// <summary>Exact percentiles, interpolated linearly between the two nearest ranks (rank = p/100 × (n − 1)).</summary>
    public override AggregationResult Finish()
    {
        _values.Sort();
        var results = new List<double?>(_a.Percents.Count);
        foreach (double percent in _a.Percents)
        {
            if (_values.Count == 0)
            {
                results.Add(null);
                continue;
            }

            double rank = percent / 100 * (_values.Count - 1);
            int low = (int)Math.Floor(rank);
            int high = Math.Min(low + 1, _values.Count - 1);
            results.Add(_values[low] + ((_values[high] - _values[low]) * (rank - low)));
        }

        // Elasticsearch names percentiles by the algorithm it estimates them with (TDigest, its default).
        return new PercentilesResult(_a.Percents, results, _a.Keyed) { Type = "tdigest_percentiles" };
    }
}

internal sealed class TopHitsCollector : Collector
{
    private readonly AggregationExecutor _executor;
    private readonly TopHitsAggregation _a;
    private readonly int[] _slots;
    private readonly List<TopHit> _best = [];
    private readonly Comparison<TopHit> _compare;
    private long _total;

    public TopHitsCollector(AggregationExecutor executor, TopHitsAggregation a)
        : base(a.Name)
    {
        _executor = executor;
        _a = a;
        _slots = executor.Plan.SlotsOf(a);
        _compare = (x, y) =>
        {
            for (int k = 0; k < _slots.Length; k++)
            {
                int c = SortValues.Compare(x.SortValues[k], y.SortValues[k], _a.Sort[k].Descending);
                if (c != 0)
                {
                    return c;
                }
            }

            int byIndex = x.IndexOrder.CompareTo(y.IndexOrder);
            return byIndex != 0 ? byIndex : x.RowId.CompareTo(y.RowId);
        };
    }

    public override void Collect(AggregationRow row)
    {
        _total++;
        int keep = _a.From + _a.Size;
        if (keep == 0)
        {
            return;
        }

        object?[] values = new object?[_slots.Length];
        for (int k = 0; k < _slots.Length; k++)
        {
            values[k] = _slots[k] switch
            {
                -1 => row.RowId,
                -2 => null,
                int slot => row.Values[slot].Count == 0 ? null : row.Values[slot].Get(0),
            };
        }

        var hit = new TopHit(row.IndexOrder, row.RowId, values);
        if (_best.Count == keep && _compare(hit, _best[^1]) >= 0)
        {
            return;
        }

        int at = _best.BinarySearch(hit, Comparer<TopHit>.Create(_compare));
        _best.Insert(at < 0 ? ~at : at, hit);
        if (_best.Count > keep)
        {
            _best.RemoveAt(_best.Count - 1);
        }
    }

    public override AggregationResult Finish()
    {
        var result = new TopHitsResult(_total, [.. _best.Skip(_a.From)], _a) { Type = "top_hits" };
        _executor.TopHits.Add(result);
        return result;
    }
}
