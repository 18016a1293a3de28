namespace Flotel.Gateway.Query;

/// <summary>
/// One query under the <see cref="QueryLimiter"/>'s limits, from its request's arrival to its answer. Until
/// <see cref="StartAsync"/> it holds nothing and <see cref="Token"/> is the request's abort token (parameters are read
/// first, so bad input is refused without waiting); <see cref="StartAsync"/> arms its deadline, then waits for a slot.
/// <see cref="Token"/> then stops the query when the client disconnects or the deadline passes; evaluation loops and
/// store reads check it. Disposing releases the slot and counts the outcome (<see cref="QueryOutcome.Error"/> when
/// <see cref="Complete"/> was not called). Used by one request at a time.
/// </summary>
internal sealed class QueryRun : IDisposable
{
    private readonly QueryLimiter _limiter;
    private readonly string _api;
    private readonly CancellationToken _requestAborted;
    private readonly long _arrived;

    // Set by StartAsync: the deadline, and the token that fires on either the deadline or the request's abort.
    private CancellationTokenSource? _deadline;
    private CancellationTokenSource? _linked;
    private bool _holdsSlot;
    private QueryOutcome? _outcome;
    private bool _disposed;

    internal QueryRun(QueryLimiter limiter, string api, CancellationToken requestAborted)
    {
        _limiter = limiter;
        _api = api;
        _requestAborted = requestAborted;
        _arrived = limiter.Time.GetTimestamp();
    }

    /// <summary>Fires when the client disconnects or, once started, when the query's time is up.</summary>
    public CancellationToken Token => _linked?.Token ?? _requestAborted;

    /// <summary>
    /// Where the query is, for the timeout message (Prometheus's <c>query timed out in query queue</c> / <c>… in
    /// expression evaluation</c>): <c>query queue</c> while waiting for a slot, then the stage given to <see cref="StartAsync"/>.
    /// </summary>
    public string Stage { get; private set; } = "query preparation";

    /// <summary>Whether the client went away (the request was aborted).</summary>
    public bool ClientGone => _requestAborted.IsCancellationRequested;

    /// <summary>Whether the deadline passed while the client was still there.</summary>
    public bool TimedOut => _deadline is { IsCancellationRequested: true } && !ClientGone;

    /// <summary>The time the query may take from now on: <paramref name="requested"/> capped by <see cref="QueryLimiter.Timeout"/>.</summary>
    public TimeSpan Limit(TimeSpan? requested) => requested is { } r && r < _limiter.Timeout ? r : _limiter.Timeout;

    /// <summary>
    /// Arms the deadline (<see cref="Limit"/>; zero or less has already passed) and waits for a slot. Throws
    /// <see cref="OperationCanceledException"/> when the deadline passes or the client disconnects while waiting
    /// (<see cref="IsStop"/> is true for it).
    /// </summary>
    /// <param name="requested">The time the request asked for (a <c>timeout</c> parameter), or null.</param>
    /// <param name="stage">What the query does once it holds a slot, for <see cref="Stage"/>.</param>
    public async ValueTask StartAsync(TimeSpan? requested, string stage)
    {
        if (_deadline is not null)
        {
            throw new InvalidOperationException("the query was already started");
        }

        var limit = Limit(requested);
        _deadline = limit > TimeSpan.Zero ? new CancellationTokenSource(limit, _limiter.Time) : new CancellationTokenSource();
        if (limit <= TimeSpan.Zero)
        {
            await _deadline.CancelAsync().ConfigureAwait(false);
        }

        _linked = CancellationTokenSource.CreateLinkedTokenSource(_requestAborted, _deadline.Token);
        Stage = "query queue";
        await _limiter.AcquireAsync(_linked.Token).ConfigureAwait(false);
        _holdsSlot = true;
        Stage = stage;
    }

    /// <summary>Whether <paramref name="exception"/> is this query being stopped (its token fired), not a failure of its own.</summary>
    public bool IsStop(Exception exception) =>
        Token.IsCancellationRequested && exception is OperationCanceledException or IOException;

    /// <summary>Records how the query ended; the first call wins.</summary>
    public void Complete(QueryOutcome outcome) => _outcome ??= outcome;

    /// <summary>Releases the slot, counts the outcome and its duration.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_holdsSlot)
        {
            _holdsSlot = false;
            _limiter.Release();
        }

        _limiter.Record(_api, _outcome ?? QueryOutcome.Error, _limiter.Time.GetTimestamp() - _arrived);
        _linked?.Dispose();
        _deadline?.Dispose();
    }
}
