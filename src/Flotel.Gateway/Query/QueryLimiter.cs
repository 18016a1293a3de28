using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Query;

/// <summary>
/// The limits every query API shares (Prometheus's <c>--query.timeout</c> and <c>--query.max-concurrency</c>, applied
/// to the Prometheus API and to <c>_search</c>/<c>_count</c> alike, since all of them compete for the same cores and
/// stores): at most <see cref="MaxConcurrency"/> queries run at once; one over the limit waits for a slot, and the wait
/// counts against its time, as in Prometheus's engine (its deadline is set before it queues). Each query is a
/// <see cref="QueryRun"/>, whose token stops it when its time is up or its client disconnects.
/// Counted in <c>/metrics</c>: <c>flotel_query_running</c>, <c>flotel_query_waiting</c>,
/// <c>flotel_query_max_concurrency</c>, <c>flotel_query_requests_total{api,result}</c>,
/// <c>flotel_query_duration_seconds_total{api}</c> and <c>flotel_query_refused_total{api,limit}</c> (queries refused for
/// going over a memory limit, <c>query.maxSamples</c> or <c>query.maxSeries</c>). Thread-safe.
/// </summary>
#pragma warning disable CA1001 // SemaphoreSlim holds nothing to dispose unless its AvailableWaitHandle is used, which it never is here; the limiter lives as long as the HTTP listener.
internal sealed class QueryLimiter
#pragma warning restore CA1001
{
    /// <summary>Prometheus's <c>--query.timeout</c> default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Prometheus's <c>--query.max-concurrency</c> default.</summary>
    public const int DefaultMaxConcurrency = 20;

    /// <summary>The <c>api</c> label values; each has its series from the start, so a rate over them never starts from absent.</summary>
    public static readonly IReadOnlyList<string> Apis = ["query", "query_range", "series", "labels", "label_values", "search", "count"];

    /// <summary>The memory limits a query can be refused for (<c>limit</c> label), and the APIs that apply each.</summary>
    public static readonly IReadOnlyList<(string Api, string Limit)> MemoryLimits =
        [("query", "samples"), ("query", "series"), ("query_range", "samples"), ("query_range", "series"), ("series", "series")];

    private static readonly QueryOutcome[] Outcomes = Enum.GetValues<QueryOutcome>();

    // Per (api, limit) of MemoryLimits: the queries refused for it.
    private readonly Dictionary<(string Api, string Limit), Counter> _refused = [];

    // Free slots; a query holds one from QueryRun.StartAsync until it is disposed.
    private readonly SemaphoreSlim _slots;

    // Per api: one counter per outcome (index = (int)QueryOutcome) and the summed duration in ticks of TimeProvider.
    private readonly Dictionary<string, (Counter[] Outcomes, long[] DurationTicks)> _apis = new(StringComparer.Ordinal);

    // Written by QueryRun with Interlocked, read by the gauges.
    private int _running;
    private int _waiting;

    /// <summary>Creates the limiter and registers its metrics in <paramref name="metrics"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A timeout or concurrency that is not positive.</exception>
    public QueryLimiter(TimeSpan timeout, int maxConcurrency, MetricsRegistry metrics, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        Timeout = timeout;
        MaxConcurrency = maxConcurrency;
        Time = time;
        _slots = new SemaphoreSlim(maxConcurrency, maxConcurrency);
        metrics.Gauge("flotel_query_running", "Queries evaluating now (holding one of the query.maxConcurrency slots).", () => Running);
        metrics.Gauge("flotel_query_waiting", "Queries waiting for a free slot (query.maxConcurrency reached).", () => Waiting);
        metrics.Gauge("flotel_query_max_concurrency", "Queries that may run at once (query.maxConcurrency).", () => MaxConcurrency);
        foreach (var api in Apis)
        {
            var counters = new Counter[Outcomes.Length];
            foreach (var outcome in Outcomes)
            {
                counters[(int)outcome] = metrics.Counter(
                    "flotel_query_requests_total", "Query API requests, by API and result (ok, error, timeout, canceled = client went away).",
                    ("api", api), ("result", Label(outcome)));
            }

            var ticks = new long[1];
            _apis[api] = (counters, ticks);
            metrics.ObservedCounter(
                "flotel_query_duration_seconds_total", "Time query API requests took, from arrival to answer (waiting included), by API.",
                () => Time.GetElapsedTime(0, Interlocked.Read(ref ticks[0])).TotalSeconds, ("api", api));
        }

        foreach (var (api, limit) in MemoryLimits)
        {
            _refused[(api, limit)] = metrics.Counter(
                "flotel_query_refused_total", "Queries refused for going over a memory limit (samples: query.maxSamples, series: query.maxSeries), by API.",
                ("api", api), ("limit", limit));
        }
    }

    /// <summary>Longest a query may take, waiting included (<c>query.timeout</c>); a request may ask for less.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Queries that may run at once (<c>query.maxConcurrency</c>).</summary>
    public int MaxConcurrency { get; }

    /// <summary>Queries holding a slot now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Queries waiting for a slot now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Clock of the deadlines and durations.</summary>
    internal TimeProvider Time { get; }

    /// <summary>Begins a query of <paramref name="api"/> (one of <see cref="Apis"/>) for a request whose client may abort it.</summary>
    public QueryRun Begin(string api, CancellationToken requestAborted)
    {
        if (!_apis.ContainsKey(api))
        {
            throw new ArgumentException("unknown query api " + api, nameof(api));
        }

        return new QueryRun(this, api, requestAborted);
    }

    /// <summary>Counts a query of <paramref name="api"/> refused for going over <paramref name="limit"/> (one of <see cref="MemoryLimits"/>).</summary>
    public void CountRefused(string api, string limit)
    {
        if (_refused.TryGetValue((api, limit), out var counter))
        {
            counter.Increment();
        }
    }

    /// <summary>Queries of <paramref name="api"/> refused for going over <paramref name="limit"/> (tests, status views).</summary>
    public long Refused(string api, string limit) => _refused.TryGetValue((api, limit), out var counter) ? counter.Value : 0;

    /// <summary>Count of <paramref name="outcome"/> for <paramref name="api"/> (tests, status views).</summary>
    public long Count(string api, QueryOutcome outcome) => _apis[api].Outcomes[(int)outcome].Value;

    internal async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        Interlocked.Increment(ref _running);
    }

    internal void Release()
    {
        Interlocked.Decrement(ref _running);
        _slots.Release();
    }

    internal void Record(string api, QueryOutcome outcome, long elapsedTicks)
    {
        var (counters, ticks) = _apis[api];
        counters[(int)outcome].Increment();
        Interlocked.Add(ref ticks[0], elapsedTicks);
    }

    private static string Label(QueryOutcome outcome) => outcome switch
    {
        QueryOutcome.Ok => "ok",
        QueryOutcome.Error => "error",
        QueryOutcome.Timeout => "timeout",
        _ => "canceled",
    };
}
