using System.Net.Sockets;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// The open connections of one syslog TCP or TLS listener, and the idle timeout over them: one periodic sweep per
/// listener closes every connection that has been waiting for bytes for at least the timeout, instead of a timer per
/// connection (an idle device must cost about what rsyslog's imptcp costs, docs/benchmarks.md). The sweep runs every
/// <see cref="SweepDivisor"/>th of the timeout, so a silent connection is closed between one timeout and
/// 1 + 1/<see cref="SweepDivisor"/> timeouts after its last bytes were queued. A connection that is reading, framing
/// or waiting for the queue is busy and never swept: a connection held by a full queue is not idle.
/// </summary>
internal sealed class SyslogConnections : IDisposable
{
    /// <summary>The sweep runs this many times per idle timeout.</summary>
    public const int SweepDivisor = 16;

    private readonly HashSet<SyslogConnection> _open = [];
    private readonly Lock _lock = new();
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly Counter _idleClosed;
    private readonly ITimer? _sweep;

    /// <param name="idleTimeout">Close a connection that waited this long for bytes; zero = never (no sweep runs).</param>
    /// <param name="time">The clock of the sweep and of each connection's quiet time.</param>
    /// <param name="idleClosed">Counts the connections the sweep closed.</param>
    public SyslogConnections(TimeSpan idleTimeout, TimeProvider time, Counter idleClosed)
    {
        _idleTimeout = idleTimeout;
        _time = time;
        _idleClosed = idleClosed;
        if (idleTimeout > TimeSpan.Zero)
        {
            var period = idleTimeout / SweepDivisor;
            _sweep = time.CreateTimer(static state => ((SyslogConnections)state!).Sweep(), this, period, period);
        }
    }

    /// <summary>Connections listed now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Connections waiting for bytes now (neither busy nor swept).</summary>
    public int QuietCount()
    {
        lock (_lock)
        {
            var quiet = 0;
            foreach (var connection in _open)
            {
                quiet += connection.IsQuiet ? 1 : 0;
            }

            return quiet;
        }
    }

    /// <summary>The clock every connection's quiet time is read from.</summary>
    public long Now() => _time.GetTimestamp();

    /// <summary>Lists a connection just accepted (it starts busy: the handshake has its own timeout).</summary>
    public void Add(SyslogConnection connection)
    {
        lock (_lock)
        {
            _open.Add(connection);
        }
    }

    /// <summary>Takes a connection that ended off the list.</summary>
    public void Remove(SyslogConnection connection)
    {
        lock (_lock)
        {
            _open.Remove(connection);
        }
    }

    /// <summary>The connections listed now (for stop).</summary>
    public SyslogConnection[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _open];
        }
    }

    /// <summary>
    /// Closes every connection that has been quiet for at least the idle timeout, and counts each. A connection
    /// that woke up meanwhile (bytes arrived) is left alone: it claimed itself busy before the sweep could claim it.
    /// </summary>
    /// <returns>How many connections were closed.</returns>
    public int Sweep()
    {
        if (_idleTimeout <= TimeSpan.Zero)
        {
            return 0;
        }

        var now = _time.GetTimestamp();
        var quietSince = now - (long)(_idleTimeout.TotalSeconds * _time.TimestampFrequency);
        List<SyslogConnection>? idle = null;
        lock (_lock)
        {
            foreach (var connection in _open)
            {
                if (connection.TryClaimIdle(quietSince))
                {
                    (idle ??= []).Add(connection);
                }
            }
        }

        if (idle is null)
        {
            return 0;
        }

        // Closing the socket ends the connection's pending wait for bytes like EOF; it then leaves the list itself.
        foreach (var connection in idle)
        {
            connection.Socket.Dispose();
        }

        _idleClosed.Add(idle.Count);
        return idle.Count;
    }

    /// <inheritdoc/>
    public void Dispose() => _sweep?.Dispose();
}

/// <summary>
/// One open syslog connection as the listener sees it: its socket (stop, revocation and the idle sweep close it), the
/// task serving it, and since when it has been quiet (waiting for bytes with nothing read and not queued).
/// </summary>
internal sealed class SyslogConnection(Socket socket)
{
    /// <summary>Reading, framing, queueing or in the handshake: never swept.</summary>
    private const long Busy = long.MaxValue;

    /// <summary>Claimed by the sweep, which closes the socket.</summary>
    private const long Swept = long.MinValue;

    /// <summary>A timestamp of the listener's clock, or <see cref="Busy"/> or <see cref="Swept"/>.</summary>
    private long _quietSince = Busy;

    public Socket Socket { get; } = socket;

    /// <summary>The task serving the connection (set once it is started).</summary>
    public Task Serving { get; set; } = Task.CompletedTask;

    /// <summary>True while the connection waits for bytes with everything before queued.</summary>
    public bool IsQuiet => Volatile.Read(ref _quietSince) is not Busy and not Swept;

    /// <summary>True once the idle sweep closed the connection.</summary>
    public bool WasSwept => Volatile.Read(ref _quietSince) == Swept;

    /// <summary>The connection starts waiting for bytes, with everything before queued: its idle clock starts now.</summary>
    public void Quiet(long now) => Interlocked.CompareExchange(ref _quietSince, now, Busy);

    /// <summary>Bytes (or EOF) arrived: busy from now on. False when the sweep claimed the connection first.</summary>
    public bool Wake()
    {
        while (true)
        {
            var since = Volatile.Read(ref _quietSince);
            if (since == Swept)
            {
                return false;
            }

            if (since == Busy || Interlocked.CompareExchange(ref _quietSince, Busy, since) == since)
            {
                return true;
            }
        }
    }

    /// <summary>Claims the connection for closing when it has been quiet since <paramref name="quietSince"/> or earlier.</summary>
    public bool TryClaimIdle(long quietSince)
    {
        var since = Volatile.Read(ref _quietSince);
        return since != Busy && since != Swept && since <= quietSince && Interlocked.CompareExchange(ref _quietSince, Swept, since) == since;
    }
}
