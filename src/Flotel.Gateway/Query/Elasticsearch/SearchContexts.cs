using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>What a search context is: a point in time (<c>_pit</c>, OpenSearch's <c>point_in_time</c>) or a scroll.</summary>
internal enum SearchContextKind
{
    PointInTime,
    Scroll,
}

/// <summary>
/// One open search context: the documents it sees (<see cref="Snapshot"/>, frozen when it opened) and, for a scroll,
/// the search it pages through and where the next page starts. Its id is random (16 bytes, base64url) and carries no
/// state: everything stays here, in memory, so a context does not survive a restart.
/// </summary>
internal sealed class SearchContext(string id, SearchContextKind kind, IReadOnlyList<string> indices, LogSnapshot snapshot, TimeSpan keepAlive)
{
    public string Id { get; } = id;

    public SearchContextKind Kind { get; } = kind;

    /// <summary>The concrete indices it was opened on.</summary>
    public IReadOnlyList<string> Indices { get; } = indices;

    public LogSnapshot Snapshot { get; } = snapshot;

    /// <summary>How long it lives after each use; changed by a use that names a new keep-alive.</summary>
    public TimeSpan KeepAlive { get; set; } = keepAlive;

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>A scroll's search: the body and URL parameters of the request that opened it, kept to render each page alike.</summary>
    public byte[] Body { get; init; } = [];

    public Dictionary<string, string> Parameters { get; init; } = [];

    /// <summary>A scroll's resume point: the store sort values of the last hit returned; null before the first page.</summary>
    public IReadOnlyList<object?>? Cursor { get; set; }

    /// <summary>A scroll's total, counted once on the first page (the snapshot does not grow); its hits are not kept.</summary>
    public LogSearchResult? FirstPage { get; set; }

    /// <summary>One page at a time per scroll: two concurrent continuations would read the same cursor.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Bytes this context holds for its search (the body and parameters), counted against <see cref="SearchContexts.MaxStoredBytes"/>.</summary>
    public long StoredBytes => Body.Length + Parameters.Sum(p => (long)(p.Key.Length + p.Value.Length) * 2);
}

/// <summary>
/// The open points in time and scrolls of one gateway, bounded in number, lifetime and memory. Each expires
/// <see cref="SearchContext.KeepAlive"/> after its last use: one timer (from the injected <see cref="TimeProvider"/>,
/// no thread per context) is armed for the earliest expiry and removes what is due; a look-up also refuses an expired
/// context, so expiry never waits for the timer.
/// </summary>
internal sealed class SearchContexts : IDisposable
{
    /// <summary>
    /// Most contexts open at once, points in time and scrolls together: Elasticsearch's default
    /// <c>search.max_open_scroll_context</c> (500). Each holds a snapshot (a few numbers per index) and, for a scroll, its
    /// request; past the limit a new one is refused with 429 <c>too_many_scroll_contexts_exception</c>, as
    /// Elasticsearch 8 answers.
    /// </summary>
    public const int MaxOpenContexts = 500;

    /// <summary>Longest keep-alive: Elasticsearch's default <c>search.max_keep_alive</c> (24 h).</summary>
    public static readonly TimeSpan MaxKeepAlive = TimeSpan.FromHours(24);

    /// <summary>Most bytes of scroll requests (bodies and URL parameters) kept at once: bounds memory at 500 open scrolls.</summary>
    public const long MaxStoredBytes = 16L * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly Dictionary<string, SearchContext> _open = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private DateTimeOffset _timerDue = DateTimeOffset.MaxValue;
    private long _storedBytes;
    private bool _disposed;

    public SearchContexts(TimeProvider time, MetricsRegistry? metrics)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        metrics?.Gauge("flotel_es_search_contexts_open", "Open Elasticsearch search contexts (points in time and scrolls).", () => Count(SearchContextKind.PointInTime), ("kind", "point_in_time"));
        metrics?.Gauge("flotel_es_search_contexts_open", "Open Elasticsearch search contexts (points in time and scrolls).", () => Count(SearchContextKind.Scroll), ("kind", "scroll"));
    }

    /// <summary>Open contexts of <paramref name="kind"/> (expired ones the timer has not removed yet included).</summary>
    public int Count(SearchContextKind kind)
    {
        lock (_lock)
        {
            return _open.Values.Count(c => c.Kind == kind);
        }
    }

    /// <summary>Reads a keep-alive time value (<c>1m</c>, <c>30s</c>), refusing one over <see cref="MaxKeepAlive"/> as Elasticsearch does.</summary>
    public static TimeSpan ParseKeepAlive(string text, string parameter)
    {
        TimeSpan keepAlive;
        try
        {
            keepAlive = SearchTimeout.Parse(text) ?? TimeSpan.Zero;
        }
        catch (ElasticsearchException)
        {
            throw new ElasticsearchException(400, "parse_exception", $"failed to parse setting [{parameter}] with value [{text}] as a time value: unit is missing or unrecognized");
        }

        if (keepAlive <= TimeSpan.Zero)
        {
            throw ElasticsearchException.IllegalArgument($"[{parameter}] must be a positive time value, got [{text}]");
        }

        if (keepAlive > MaxKeepAlive)
        {
            throw ElasticsearchException.IllegalArgument(
                $"Keep alive for request ({text}) is too large. It must be less than ({((int)MaxKeepAlive.TotalHours).ToString(CultureInfo.InvariantCulture)}h). "
                + "This limit is the gateway's, as Elasticsearch's [search.max_keep_alive] default.");
        }

        return keepAlive;
    }

    /// <summary>Registers a new context for <paramref name="keepAlive"/>; 429 when <see cref="MaxOpenContexts"/> or <see cref="MaxStoredBytes"/> is reached.</summary>
    public SearchContext Open(SearchContextKind kind, IReadOnlyList<string> indices, LogSnapshot snapshot, TimeSpan keepAlive, byte[]? body = null, Dictionary<string, string>? parameters = null)
    {
        string id = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var context = new SearchContext(id, kind, indices, snapshot, keepAlive) { Body = body ?? [], Parameters = parameters ?? [], CreatedAt = _time.GetUtcNow() };
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RemoveExpired(_time.GetUtcNow());
            if (_open.Count >= MaxOpenContexts)
            {
                throw new ElasticsearchException(429, "too_many_scroll_contexts_exception",
                    $"Trying to create too many search contexts. Must be less than or equal to: [{MaxOpenContexts.ToString(CultureInfo.InvariantCulture)}]. Close points in time and clear scrolls that are no longer needed.");
            }

            if (_storedBytes + context.StoredBytes > MaxStoredBytes)
            {
                throw new ElasticsearchException(429, "too_many_scroll_contexts_exception",
                    $"The open scrolls hold {_storedBytes.ToString(CultureInfo.InvariantCulture)} bytes of requests, the most is {MaxStoredBytes.ToString(CultureInfo.InvariantCulture)}. Clear scrolls that are no longer needed.");
            }

            _storedBytes += context.StoredBytes;
            _open.Add(id, context);
            Touch(context, null);
        }

        return context;
    }

    /// <summary>
    /// The open context <paramref name="id"/> of <paramref name="kind"/>, its life extended by <paramref name="keepAlive"/>
    /// (or its current keep-alive); 404 <c>search_context_missing_exception</c> when unknown or expired.
    /// </summary>
    public SearchContext Use(string id, SearchContextKind kind, TimeSpan? keepAlive)
    {
        lock (_lock)
        {
            RemoveExpired(_time.GetUtcNow());
            if (!_open.TryGetValue(id, out SearchContext? context) || context.Kind != kind)
            {
                throw Missing(id);
            }

            Touch(context, keepAlive);
            return context;
        }
    }

    /// <summary>Closes <paramref name="id"/>; false when no such context of <paramref name="kind"/> is open.</summary>
    public bool Close(string id, SearchContextKind kind)
    {
        lock (_lock)
        {
            RemoveExpired(_time.GetUtcNow());
            if (!_open.TryGetValue(id, out SearchContext? context) || context.Kind != kind)
            {
                return false;
            }

            Remove(context);
            return true;
        }
    }

    /// <summary>Closes every context of <paramref name="kind"/>; returns those that were open.</summary>
    public List<SearchContext> CloseAll(SearchContextKind kind)
    {
        lock (_lock)
        {
            RemoveExpired(_time.GetUtcNow());
            var closing = _open.Values.Where(c => c.Kind == kind).ToList();
            closing.ForEach(Remove);
            return closing;
        }
    }

    /// <summary>The open contexts of <paramref name="kind"/>.</summary>
    public List<SearchContext> List(SearchContextKind kind)
    {
        lock (_lock)
        {
            RemoveExpired(_time.GetUtcNow());
            return [.. _open.Values.Where(c => c.Kind == kind)];
        }
    }

    /// <summary>Elasticsearch's answer for an unknown or expired context id.</summary>
    public static ElasticsearchException Missing(string id) =>
        new(404, "search_context_missing_exception", $"No search context found for id [{id}]");

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
            _open.Clear();
            _storedBytes = 0;
        }
    }

    private void Touch(SearchContext context, TimeSpan? keepAlive)
    {
        if (keepAlive is { } extended)
        {
            context.KeepAlive = extended;
        }

        context.ExpiresAt = _time.GetUtcNow() + context.KeepAlive;
        Arm(context.ExpiresAt);
    }

    private void Remove(SearchContext context)
    {
        _ = _open.Remove(context.Id);
        _storedBytes -= context.StoredBytes;
    }

    private void RemoveExpired(DateTimeOffset now)
    {
        if (_open.Count == 0)
        {
            return;
        }

        foreach (SearchContext context in _open.Values.Where(c => c.ExpiresAt <= now).ToList())
        {
            Remove(context);
        }
    }

    // One one-shot timer for the earliest expiry; re-armed only when a context would expire before it fires.
    private void Arm(DateTimeOffset due)
    {
        if (_disposed || due >= _timerDue)
        {
            return;
        }

        _timerDue = due;
        TimeSpan wait = due - _time.GetUtcNow();
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        if (_timer is null)
        {
            _timer = _time.CreateTimer(static state => ((SearchContexts)state!).OnTimer(), this, wait, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _ = _timer.Change(wait, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            DateTimeOffset now = _time.GetUtcNow();
            RemoveExpired(now);
            _timerDue = DateTimeOffset.MaxValue;
            if (_open.Count > 0)
            {
                Arm(_open.Values.Min(c => c.ExpiresAt));
            }
        }
    }
}
