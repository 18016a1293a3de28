using Flotel.Pipeline.Queue;
using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// Syslog over TCP, or TLS when <see cref="SslServerAuthenticationOptions"/> are given (RFC 6587 / RFC 5425 framing,
/// architecture §5). Each connection has a fill loop (socket → <see cref="Pipe"/>) and a frame loop (pipe → framer →
/// one batch of queue records per read); while the frame loop waits for the queue's fsync, the fill loop keeps reading, so the
/// next batch carries everything that arrived meanwhile (group commit without a timer). When the queue is full the
/// frame loop stops consuming, the pipe fills, the fill loop pauses and TCP flow control pushes back on the sender:
/// nothing is dropped. A queue that cannot write (a full data disk) is the same back-pressure: the batch already read
/// is kept and retried until the disk has room, the connection stays open.
/// Each listener holds at most <see cref="SyslogConnectionLimits.MaxConnections"/> connections (one more is closed as
/// soon as it is accepted) and closes a connection that sent nothing for <see cref="SyslogConnectionLimits.IdleTimeout"/>.
/// Over TLS, a connection whose client presented a device certificate of the fleet CA (<see cref="SyslogTlsClients"/>)
/// names that device in every record it queues (docs/fleet.md §6), and is closed when the device's certificates are
/// revoked.
/// </summary>
public sealed partial class SyslogTcpInput : IAsyncDisposable
{
    /// <summary>Most bytes the frame loop takes from one read before handing them to the queue: keeps one fsync's worth bounded.</summary>
    private const int MaxBatchBytes = 1024 * 1024;

    /// <summary>Unconsumed bytes per connection before the fill loop pauses (the pipe's pause threshold).</summary>
    private const long PipePauseBytes = 4 * 1024 * 1024;

    /// <summary>Most bytes taken from the socket in one read, into a pooled pipe segment rented when data is there.</summary>
    private const int ReadBytes = 64 * 1024;

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

    /// <summary>Live connection tasks; added by the accept loop, removed by each connection when it ends.</summary>
    private readonly HashSet<Task> _connections = [];
    private readonly Lock _connectionsLock = new();
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
    }

    /// <summary>Connections being served now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

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
        listener.Bind(_endpoint);
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

        Task[] open;
        lock (_connectionsLock)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).ConfigureAwait(false);
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
            var task = Task.Run(() => ServeAsync(socket));
            lock (_connectionsLock)
            {
                _connections.Add(task);
            }

            _ = task.ContinueWith(
                t =>
                {
                    lock (_connectionsLock)
                    {
                        _connections.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
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

    private async Task ServeAsync(Socket socket)
    {
        var remote = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        var peer = remote is null ? string.Empty : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        DeviceIdentity? device = null;
        try
        {
            if (_tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                handshake.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    await ssl.AuthenticateAsServerAsync(_tls, handshake.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
                {
                    _counters.TlsFailures.Increment();
                    if (_tlsWarnings.TryAcquire(out var suppressed))
                    {
                        LogTlsFailed(_logger, peer, e.Message, suppressed);
                    }

                    return;
                }

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

            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipePauseBytes, resumeWriterThreshold: PipePauseBytes / 2, useSynchronizationContext: false));
            var fill = FillAsync(stream, socket, pipe.Writer);
            await FrameAsync(pipe.Reader, peer, device?.Device).ConfigureAwait(false);
            socket.Dispose(); // unblocks the fill loop if the frame loop ended first (stop)
            await fill.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Never crash after startup (style.md rule 9): one broken connection is logged and closed.
            if (_connectionWarnings.TryAcquire(out var suppressed))
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

            await stream.DisposeAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _open);
        }
    }

    private async Task FillAsync(Stream stream, Socket socket, PipeWriter writer)
    {
        Exception? error = null;
        CancellationTokenSource? idle = null;
        try
        {
            idle = RestartIdleClock(idle);
            while (true)
            {
                int n;
                try
                {
                    // Wait for bytes without a buffer: a zero-byte read completes when data (or EOF) arrives, and
                    // SslStream returns its own buffer to the pool while it waits, so an idle connection holds no
                    // receive memory (an idle device must cost about what rsyslog's imptcp costs, docs/benchmarks.md).
                    // The pipe's segment is rented only now and goes back to the pool once the frame loop consumed it.
                    // The segment is sized by what the socket holds (a device's line is a few hundred bytes; the pipe's
                    // smallest segment is 4 KiB), so a fleet of mostly idle devices does not churn 64 KiB arrays.
                    await stream.ReadAsync(Memory<byte>.Empty, idle?.Token ?? CancellationToken.None).ConfigureAwait(false);
                    var memory = writer.GetMemory(Math.Clamp(socket.Available, 1, ReadBytes));
                    n = await stream.ReadAsync(memory, idle?.Token ?? CancellationToken.None).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (idle is { IsCancellationRequested: true })
                {
                    // Nothing arrived for the idle timeout: end like EOF (frames already read are still queued).
                    _counters.IdleClosed.Increment();
                    break;
                }

                if (n == 0)
                {
                    break;
                }

                // Bytes arrived: the idle clock restarts now, before the frames they hold can be queued (and seen).
                idle = RestartIdleClock(idle);
                writer.Advance(n);
                var flushing = writer.FlushAsync();
                var waited = !flushing.IsCompleted;
                var flush = await flushing.ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }

                if (waited)
                {
                    // The flush waited on back-pressure: a connection held by a full queue is not idle, so the clock
                    // starts again from now.
                    idle = RestartIdleClock(idle);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            error = null; // a reset connection ends the stream like EOF; what was read is still framed
        }
        catch (Exception e)
        {
            error = e;
        }

        finally
        {
            idle?.Dispose();
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    /// <summary>Arms the idle timer for the next read: the same source while it has not fired, a new one when it has.</summary>
    private CancellationTokenSource? RestartIdleClock(CancellationTokenSource? idle)
    {
        if (_limits.IdleTimeout <= TimeSpan.Zero)
        {
            return null;
        }

        if (idle is null || idle.IsCancellationRequested)
        {
            idle?.Dispose();
            return new CancellationTokenSource(_limits.IdleTimeout, _time);
        }

        idle.CancelAfter(_limits.IdleTimeout);
        return idle;
    }

    /// <param name="reader">The connection's bytes.</param>
    /// <param name="peer">The sender's address.</param>
    /// <param name="device">The device of the connection's certificate (its records name it), or null.</param>
    private async Task FrameAsync(PipeReader reader, string peer, string? device)
    {
        var framer = new SyslogFramer(_maxFrameBytes);
        // A read's frames go out as records of ~32 KiB appended together (one lock, one fsync wait).
        var batch = new SyslogRecordBatch();
        long discardedSeen = 0;
        var transport = (byte)(_tls is null ? 1 : 3);
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return; // stop: frames already queued are safe; the rest was never acknowledged to the sender
                }

                var buffer = result.Buffer;
                var sequence = new SequenceReader<byte>(buffer);
                var receivedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
                batch.Clear();
                var full = false;
                while (framer.TryReadFrame(ref sequence, out var frame))
                {
                    batch.Add(frame, receivedAt, peer, transport, device);
                    if (batch.WrittenBytes >= MaxBatchBytes)
                    {
                        full = true;
                        break;
                    }
                }

                if (!full && result.IsCompleted && framer.TryReadFinalFrame(ref sequence, out var last))
                {
                    batch.Add(last, receivedAt, peer, transport, device);
                }

                if (framer.DiscardedFrames != discardedSeen)
                {
                    _counters.Oversized.Add(framer.DiscardedFrames - discardedSeen);
                    discardedSeen = framer.DiscardedFrames;
                }

                // Consumed what was framed; when the batch filled up, nothing beyond that was examined either, so
                // the next ReadAsync returns at once with the rest.
                reader.AdvanceTo(sequence.Position, full ? sequence.Position : buffer.End);
                if (batch.Frames > 0)
                {
                    if (!await AppendAsync(batch.Records(), batch.Frames).ConfigureAwait(false))
                    {
                        return;
                    }

                    _counters.Frames.Add(batch.Frames);
                    _counters.Bytes.Add(batch.FrameBytes);
                    if (device is not null)
                    {
                        _clients!.Devices!.CountIdentified(IdentifiedKind.Logs, batch.Frames);
                    }
                }

                // The batch's buffer goes back to the pool between reads: the connection may now stay idle for long.
                batch.Release();

                if (result.IsCompleted && !full)
                {
                    return;
                }
            }
        }
        finally
        {
            batch.Release();
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Appends with back-pressure: while the queue is full or cannot write, wait and retry the same batch (the sender is
    /// held by TCP). A failed write acknowledged and stored nothing (the queue writes a group commit in one part unless it
    /// is larger than a segment), so the retry does not store lines twice.
    /// </summary>
    private async Task<bool> AppendAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, int frames)
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
