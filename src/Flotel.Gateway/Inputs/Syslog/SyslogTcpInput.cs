using Flotel.Pipeline.Queue;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Hosting;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// Syslog over TCP, or TLS when <see cref="SslServerAuthenticationOptions"/> are given (RFC 6587 / RFC 5425 framing,
/// architecture §5). Each connection is one loop (socket → pooled buffer → framer → one batch of queue records per
/// round of reads); while it waits for the queue's fsync the socket's receive buffer collects what arrives, and the next
/// round reads all of it into one batch (group commit without a timer). When the queue is full the loop stops reading,
/// the socket's receive buffer fills and TCP flow control pushes back on the sender: nothing is dropped. A queue that
/// cannot write (a full data disk) is the same back-pressure: the batch already read is kept and retried until the disk
/// has room, the connection stays open.
/// Each listener holds at most <see cref="SyslogConnectionLimits.MaxConnections"/> connections (one more is closed as
/// soon as it is accepted) and closes a connection that sent nothing for <see cref="SyslogConnectionLimits.IdleTimeout"/>
/// (one sweep per listener, <see cref="SyslogConnections"/>).
/// Over TLS, a connection whose client presented a device certificate of the fleet CA (<see cref="SyslogTlsClients"/>)
/// names that device in every record it queues (docs/fleet.md §6), and is closed when the device's certificates are
/// revoked.
/// </summary>
public sealed partial class SyslogTcpInput : IAsyncDisposable
{
    /// <summary>Most bytes the frame loop takes from one read before handing them to the queue: keeps one fsync's worth bounded.</summary>
    private const int MaxBatchBytes = 1024 * 1024;

    /// <summary>Most bytes taken from the socket in one read, into a pooled buffer rented when data is there.</summary>
    private const int ReadBytes = 64 * 1024;

    /// <summary>Fewest bytes one read asks for (over TLS the socket's count is of encrypted bytes, often 0 when data is there).</summary>
    private const int MinReadBytes = 4 * 1024;

    /// <summary>Record batches kept for reuse between rounds of reads (more are made when more connections read at once).</summary>
    private const int MaxPooledBatches = 1024;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly IPEndPoint _endpoint;
    private readonly SslServerAuthenticationOptions? _tls;
    private readonly SyslogTlsClients? _clients;

    /// <summary>Open connections that speak for a device, so a revocation can close them.</summary>
    private readonly ConcurrentDictionary<Socket, DeviceIdentity> _deviceConnections = new();
    private readonly int _maxFrameBytes;
    private readonly SyslogConnectionLimits _limits;
    private readonly IRecordSink _sink;
    private readonly SyslogInputCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Per-connection failures are logged at most once per interval each (WarningThrottle).</summary>
    private readonly WarningThrottle _tlsWarnings;
    private readonly WarningThrottle _connectionWarnings;

    /// <summary>Open connections; added by the accept loop, removed by each connection when it ends; swept when idle.</summary>
    private readonly SyslogConnections _connections;

    private readonly ConcurrentQueue<SyslogRecordBatch> _batches = new();
    private int _pooledBatches;
    private Socket? _listener;
    private Task? _acceptLoop;
    private int _stopped;

    /// <summary>Connections being served (accept loop increments, each connection decrements when it ends).</summary>
    private int _open;

    public SyslogTcpInput(
        IPEndPoint endpoint, SslServerAuthenticationOptions? tls, int maxFrameBytes, IRecordSink sink,
        SyslogInputCounters counters, TimeProvider time, ILogger logger, SyslogConnectionLimits? limits = null, SyslogTlsClients? clients = null)
    {
        _endpoint = endpoint;
        _tls = tls;
        _clients = tls is null ? null : clients;
        _maxFrameBytes = maxFrameBytes;
        _limits = limits ?? new SyslogConnectionLimits();
        _sink = sink;
        _counters = counters;
        _time = time;
        _logger = logger;
        _tlsWarnings = new WarningThrottle(time);
        _connectionWarnings = new WarningThrottle(time);
        _connections = new SyslogConnections(_limits.IdleTimeout, time, counters.IdleClosed);
    }

    /// <summary>Connections being served now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Connections waiting for bytes with everything they sent queued (their idle clocks run).</summary>
    internal int WaitingConnections => _connections.QuietCount();

    /// <summary>The bound address (the real port when 0 was asked for); valid after <see cref="Start"/>.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    /// <summary>Binds and starts accepting. Throws (at startup) when the address cannot be bound.</summary>
    public void Start()
    {
        var listener = new Socket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (_endpoint.AddressFamily == AddressFamily.InterNetworkV6 && _endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            listener.DualMode = true;
        }

        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            listener.Bind(_endpoint);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            // The socket's own message names no address, and the operator needs to know which listener failed; the
            // socket error stays the inner exception (GatewayStartFailure reads its code).
            throw new IOException($"cannot bind the syslog {(_tls is null ? "TCP" : "TLS")} listener to {_endpoint}: {e.Message}", e);
        }
        listener.Listen(512);
        _listener = listener;
        if (_clients?.Devices is { } devices)
        {
            devices.DeviceRevoked += CloseDevice;
        }

        _acceptLoop = AcceptLoopAsync(listener);
    }

    /// <summary>Stops accepting, lets each connection queue what it has already framed, then closes them.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _listener?.Dispose();
        if (_clients?.Devices is { } devices)
        {
            devices.DeviceRevoked -= CloseDevice;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        _connections.Dispose();

        // Closing each socket ends its wait for bytes; a connection waiting for the queue sees the stop token.
        var open = _connections.Snapshot();
        foreach (var connection in open)
        {
            connection.Socket.Dispose();
        }

        await Task.WhenAll(open.Select(c => c.Serving)).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                LogAcceptFailed(_logger, e.Message);
                continue;
            }

            if (Interlocked.Increment(ref _open) > _limits.MaxConnections)
            {
                // Over the limit: close at once (the sender sees the connection end and retries with its backoff)
                // rather than leave it in the backlog, where it would look accepted and hold its lines.
                Interlocked.Decrement(ref _open);
                _counters.Refused.Increment();
                if (_connectionWarnings.TryAcquire(out var held))
                {
                    LogConnectionRefused(_logger, _limits.MaxConnections, held);
                }

                socket.Dispose();
                continue;
            }

            _counters.Connections.Increment();
            socket.NoDelay = true;
            var connection = new SyslogConnection(socket);
            _connections.Add(connection);
            connection.Serving = ServeAsync(connection);
        }
    }

    /// <summary>
    /// Closes every open connection of <paramref name="device"/> (its certificates were just revoked). The frames already
    /// read are still queued; the sender's next connection with the revoked certificate is refused at the handshake.
    /// </summary>
    public void CloseDevice(string device)
    {
        var closed = 0;
        foreach (var (socket, identity) in _deviceConnections)
        {
            if (string.Equals(identity.Device, device, StringComparison.Ordinal) && _deviceConnections.TryRemove(socket, out _))
            {
                socket.Dispose();
                closed++;
            }
        }

        if (closed > 0)
        {
            _clients!.Devices!.CountRevokedClosed(closed);
            LogDeviceClosed(_logger, device, closed);
        }
    }

    /// <summary>
    /// Serves one connection in one loop: wait for bytes without a buffer, then read what the socket holds into a pooled
    /// buffer, frame it into one batch of queue records, append the batch (waiting for the queue's fsync), return the
    /// buffers, and wait again. The loop does not read while the queue has not taken the batch, so a full queue is
    /// back-pressure: the socket's receive buffer fills and TCP flow control holds the sender, nothing is dropped.
    /// What arrives during one append is read as the next batch (group commit without a timer).
    /// </summary>
    private async Task ServeAsync(SyslogConnection connection)
    {
        // Off the accept loop: the handshake and the reads run on the pool.
        await Task.Yield();
        var socket = connection.Socket;
        var peer = string.Empty;

        // Plain TCP reads the socket itself (no stream object per connection); TLS reads through an SslStream.
        SslStream? ssl = null;
        DeviceIdentity? device = null;
        var buffer = new SyslogReceiveBuffer();
        ConnectionState? state = null;
        try
        {
            var remote = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            peer = remote is null ? string.Empty : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
            if (_tls is not null)
            {
                ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
                if (!await AuthenticateAsync(ssl, peer).ConfigureAwait(false))
                {
                    return;
                }

                // OpenSSL keeps a read and a write record buffer (~33 KiB) per connection from the handshake to the close
                // unless told to free them while empty; an idle device's TLS connection would cost several times what
                // its TCP connection does. Set once here, before anything reads or writes application data.
                _ = OpenSslIdleBuffers.Release(ssl);

                device = _clients?.TakeDevice(ssl);
                if (device is not null)
                {
                    _deviceConnections[socket] = device;
                    if (_clients!.Devices!.IsRevoked(device))
                    {
                        return; // revoked while the handshake was finishing: CloseDevice may have run before this connection was listed
                    }
                }
            }

            state = new ConnectionState(new SyslogFramer(_maxFrameBytes), peer, (byte)(_tls is null ? 1 : 3), device);
            long discardedSeen = 0;
            while (true)
            {
                // A batch still being appended while the socket holds nothing more: finish it before waiting, so a
                // connection the queue holds is busy (never swept as idle) and an idle one holds no batch.
                if (state.Pending is not null && Available(socket) == 0 && !await FinishAppendAsync(state).ConfigureAwait(false))
                {
                    return;
                }

                // Wait for bytes without a buffer: a zero-byte read completes when data (or EOF) arrives, and SslStream
                // returns its own buffer to the pool while it waits, so an idle connection holds no receive memory (an
                // idle device must cost about what rsyslog's imptcp costs, docs/benchmarks.md). Its idle clock runs
                // from now until a read returns bytes; the listener's sweep closes the socket once it ran for the idle
                // timeout (over TLS the bytes that end the wait may be part of a record, and the read below waits for
                // the rest: a peer that stops inside a record is idle too).
                connection.Quiet(_connections.Now());
                var ended = false;
                try
                {
                    await ReceiveAsync(socket, ssl, Memory<byte>.Empty).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                {
                    ended = true; // a reset or closed connection ends the stream like EOF; what was read is still framed
                }

                SyslogRecordBatch? batch = RentBatch();
                try
                {
                    state.ReceivedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
                    while (!ended)
                    {
                        // The read is sized by what the socket holds (a device's line is a few hundred bytes), so a
                        // fleet of mostly idle devices does not churn 64 KiB arrays.
                        int n;
                        try
                        {
                            n = await ReceiveAsync(socket, ssl, buffer.Reserve(Math.Clamp(Available(socket), MinReadBytes, ReadBytes))).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                        {
                            n = 0;
                        }

                        // Busy from now on (framing, queueing), unless the idle sweep closed the socket meanwhile (and
                        // counted it): then what this read returned is still framed and queued, and the connection ends.
                        ended = !connection.Wake();
                        if (n == 0)
                        {
                            ended = true;
                            break;
                        }

                        buffer.Advance(n);
                        Frame(state, buffer, batch, final: false);

                        // More is already in the socket: read it into the same batch (one append, one fsync for all).
                        if (ended || batch.WrittenBytes >= MaxBatchBytes || Available(socket) == 0)
                        {
                            break;
                        }

                        connection.Quiet(_connections.Now());
                    }

                    if (ended)
                    {
                        Frame(state, buffer, batch, final: true);
                    }

                    // Only the start of an unfinished frame stays; with none, the buffer goes back to the pool before
                    // the wait for the queue (many connections may wait for the same fsync at once).
                    buffer.ReleaseIfEmpty();
                    if (state.Framer.DiscardedFrames != discardedSeen)
                    {
                        _counters.Oversized.Add(state.Framer.DiscardedFrames - discardedSeen);
                        discardedSeen = state.Framer.DiscardedFrames;
                    }

                    if (_stopping.IsCancellationRequested)
                    {
                        return; // stop: frames already queued are safe; the rest was never acknowledged to the sender
                    }

                    if (batch.Frames > 0)
                    {
                        // One append in flight per connection: the previous one finishes first (queue order, bounded
                        // memory); this one runs while the next bytes are read and framed (the fsync of a busy
                        // connection's batch no longer stops its reading).
                        if (!await FinishAppendAsync(state).ConfigureAwait(false))
                        {
                            return;
                        }

                        state.StartAppend(AppendAsync(batch.Records(), batch.Frames).AsTask(), batch);
                        batch = null;
                    }
                }
                finally
                {
                    if (batch is not null)
                    {
                        ReturnBatch(batch);
                    }
                }

                if (ended)
                {
                    _ = await FinishAppendAsync(state).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e)
        {
            // Never crash after startup (style.md rule 9): one broken connection is logged and closed (at stop, a
            // connection whose socket was closed before it started is not broken).
            if (!_stopping.IsCancellationRequested && _connectionWarnings.TryAcquire(out var suppressed))
            {
                LogConnectionFailed(_logger, peer, e.Message, suppressed);
            }
        }
        finally
        {
            if (device is not null)
            {
                _deviceConnections.TryRemove(socket, out _);
            }

            // A batch handed to the queue is waited for (stop cancels its retries) and its memory returned.
            if (state?.Pending is not null)
            {
                try
                {
                    _ = await FinishAppendAsync(state).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Already counted by AppendAsync or logged above; the connection is ending anyway.
                }
            }

            buffer.Release();
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            _connections.Remove(connection);
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>The TLS handshake, bounded by its own timeout; false (counted and logged) when it failed.</summary>
    private async Task<bool> AuthenticateAsync(SslStream ssl, string peer)
    {
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        handshake.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await ssl.AuthenticateAsServerAsync(_tls!, handshake.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            _counters.TlsFailures.Increment();
            if (_tlsWarnings.TryAcquire(out var suppressed))
            {
                LogTlsFailed(_logger, peer, e.Message, suppressed);
            }

            return false;
        }
    }

    /// <summary>Bytes the socket holds now; 0 once it was closed (by stop, a revocation or the idle sweep).</summary>
    private static int Available(Socket socket)
    {
        try
        {
            return socket.Available;
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Frames the buffer's complete frames into the batch and consumes them; at the end of the stream (<paramref name="final"/>)
    /// the unterminated rest too.
    /// </summary>
    private static void Frame(ConnectionState framing, SyslogReceiveBuffer buffer, SyslogRecordBatch batch, bool final)
    {
        var sequence = new SequenceReader<byte>(buffer.Unconsumed);
        if (buffer.Count > 0)
        {
            batch.Reserve(buffer.Count);
        }

        while (framing.Framer.TryReadFrame(ref sequence, out var frame))
        {
            batch.Add(frame, framing.ReceivedAt, framing.Peer, framing.Transport, framing.Device);
        }

        while (final && framing.Framer.TryReadFinalFrame(ref sequence, out var last))
        {
            batch.Add(last, framing.ReceivedAt, framing.Peer, framing.Transport, framing.Device);
        }

        buffer.Consume(sequence.Consumed);
    }

    /// <summary>A batch for one round of reads: from the listener's small pool, so an idle connection holds none.</summary>
    private SyslogRecordBatch RentBatch()
    {
        if (_batches.TryDequeue(out var batch))
        {
            Interlocked.Decrement(ref _pooledBatches);
            return batch;
        }

        return new SyslogRecordBatch();
    }

    private void ReturnBatch(SyslogRecordBatch batch)
    {
        batch.Release();
        if (Interlocked.Increment(ref _pooledBatches) <= MaxPooledBatches)
        {
            _batches.Enqueue(batch);
        }
        else
        {
            Interlocked.Decrement(ref _pooledBatches);
        }
    }

    /// <summary>Bytes from the socket, or through TLS; 0 at the end of the stream.</summary>
    private static ValueTask<int> ReceiveAsync(Socket socket, SslStream? ssl, Memory<byte> into) =>
        ssl is null ? socket.ReceiveAsync(into, SocketFlags.None) : ssl.ReadAsync(into);

    /// <summary>
    /// What every record of one connection carries (besides its frames), the connection's framer, and its append in
    /// flight with the batch whose memory that append's records point into. One object, as an idle connection's cost is
    /// counted in objects (docs/benchmarks.md "Idle syslog connections").
    /// </summary>
    private sealed class ConnectionState(SyslogFramer framer, string peer, byte transport, DeviceIdentity? identity)
    {
        public SyslogFramer Framer { get; } = framer;

        public string Peer { get; } = peer;

        public byte Transport { get; } = transport;

        /// <summary>The device the client's certificate names (TLS), null without one.</summary>
        public DeviceIdentity? Identity { get; } = identity;

        public string? Device => Identity?.Device;

        /// <summary>When the current round's bytes arrived (Unix milliseconds).</summary>
        public long ReceivedAt { get; set; }

        /// <summary>The append in flight, if any.</summary>
        public Task<bool>? Pending { get; private set; }

        /// <summary>The batch of <see cref="Pending"/>.</summary>
        public SyslogRecordBatch? PendingBatch { get; private set; }

        public void StartAppend(Task<bool> task, SyslogRecordBatch batch) => (Pending, PendingBatch) = (task, batch);

        public void ClearAppend() => (Pending, PendingBatch) = (null, null);
    }

    /// <summary>
    /// Waits for the connection's append in flight (if any), counts what it stored and returns its batch; false when the
    /// queue refused it at stop (the connection then ends).
    /// </summary>
    private async ValueTask<bool> FinishAppendAsync(ConnectionState state)
    {
        if (state.Pending is not { } task)
        {
            return true;
        }

        var batch = state.PendingBatch!;
        try
        {
            if (!await task.ConfigureAwait(false))
            {
                return false;
            }

            _counters.Frames.Add(batch.Frames);
            _counters.Bytes.Add(batch.FrameBytes);
            if (state.Identity is not null)
            {
                _clients!.Devices!.CountIdentified(IdentifiedKind.Logs, batch.Frames);
            }

            return true;
        }
        finally
        {
            state.ClearAppend();
            ReturnBatch(batch);
        }
    }

    /// <summary>
    /// Appends with back-pressure: while the queue is full or cannot write, wait and retry the same batch (the sender is
    /// held by TCP). A failed write acknowledged and stored nothing (the queue writes a group commit in one part unless it
    /// is larger than a segment), so the retry does not store lines twice.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, int frames)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        var paused = false;
        while (true)
        {
            try
            {
                await _sink.AppendBatchAsync(records, _stopping.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is QueueFullException or QueueWriteException)
            {
                if (!paused)
                {
                    paused = true;
                    _counters.BackPressure.Increment();
                }

                try
                {
                    await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _counters.QueueFull.Add(frames);
                    return false;
                }

                delay = delay * 2 > MaxBackoff ? MaxBackoff : delay * 2;
            }
            catch (OperationCanceledException)
            {
                _counters.QueueFull.Add(frames);
                return false;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syslog connection refused: {Max} connections are open (syslog.maxConnections; {Suppressed} more refusals not logged; all counted in flotel_syslog_connections_refused_total)")]
    private static partial void LogConnectionRefused(ILogger logger, int max, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Syslog TLS: closed {Count} open connections of device {Device}, whose certificates were revoked")]
    private static partial void LogDeviceClosed(ILogger logger, string device, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syslog accept failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syslog TLS handshake with {Peer} failed: {Reason} ({Suppressed} more failed handshakes not logged; all counted in flotel_syslog_tls_handshake_failures_total)")]
    private static partial void LogTlsFailed(ILogger logger, string peer, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syslog connection from {Peer} closed after an error: {Reason} ({Suppressed} more such connections not logged)")]
    private static partial void LogConnectionFailed(ILogger logger, string peer, string reason, long suppressed);
}
