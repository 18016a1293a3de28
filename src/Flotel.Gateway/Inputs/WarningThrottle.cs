namespace Flotel.Gateway.Inputs;

/// <summary>
/// Lets one warning of a kind through per <see cref="Interval"/> and counts the ones it holds back, so a sender that
/// repeats a bad request (a misconfigured Prometheus retrying a 400 every few seconds, a port scanner failing TLS
/// handshakes) cannot flood the log (style.md rule 10: count, do not log per record). The counters on
/// <c>/metrics</c> still see every occurrence; the next warning that gets through says how many were held back.
/// </summary>
public sealed class WarningThrottle
{
    /// <summary>One warning per kind per this interval.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    /// <summary>When the next warning may be logged (UTC ticks); guarded by _lock.</summary>
    private long _nextAllowedTicks;

    /// <summary>Warnings held back since the last one logged; guarded by _lock.</summary>
    private long _suppressed;

    public WarningThrottle(TimeProvider time, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        Interval = interval ?? DefaultInterval;
    }

    /// <summary>The interval between two logged warnings.</summary>
    public TimeSpan Interval { get; }

    /// <summary>
    /// True when this warning should be logged now, with <paramref name="suppressed"/> = how many were held back since
    /// the last one logged; false (and counted) otherwise.
    /// </summary>
    public bool TryAcquire(out long suppressed)
    {
        long now = _time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            if (now >= _nextAllowedTicks)
            {
                suppressed = _suppressed;
                _suppressed = 0;
                _nextAllowedTicks = now + Interval.Ticks;
                return true;
            }

            _suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
