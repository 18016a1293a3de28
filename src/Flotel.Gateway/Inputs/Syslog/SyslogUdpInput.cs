using Flotel.Pipeline.Queue;
using System.Net;
using System.Net.Sockets;
using Flotel.Gateway.Queueing;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>
/// Syslog over UDP: one datagram, one message (RFC 5426). Datagrams that arrive while the previous batch is being
/// made durable wait in the socket's receive buffer and go out together in the next batch (records of ~32 KiB, one
/// peer each, appended with one durability wait; <see cref="SyslogRecordBatch"/>). UDP has no back-pressure:
/// when the queue is full the datagrams are dropped and counted (<c>reason="queue_full"</c>), and when it cannot write
/// (a full data disk) too (<c>reason="write_failed"</c>; the queue sink logs that, throttled).
/// </summary>
public sealed partial class SyslogUdpInput : IAsyncDisposable
{
    /// <summary>Most datagrams per batch; with <see cref="MaxBatchBytes"/> bounds the batch and the time to its fsync.</summary>
    private const int MaxDatagramsPerBatch = 4096;

    /// <summary>Most bytes per batch (as a TCP read's).</summary>
    private const int MaxBatchBytes = 1024 * 1024;

    /// <summary>Largest UDP payload (IPv4: 65,535 − 8 − 20).</summary>
    private const int MaxDatagramBytes = 65507;

    private readonly IPEndPoint _endpoint;
    private readonly IRecordSink _sink;
    private readonly SyslogInputCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private Task? _loop;
    private int _stopped;

    public SyslogUdpInput(IPEndPoint endpoint, IRecordSink sink, SyslogInputCounters counters, TimeProvider time, ILogger logger)
    {
        _endpoint = endpoint;
        _sink = sink;
        _counters = counters;
        _time = time;
        _logger = logger;
    }

    /// <summary>The bound address; valid after <see cref="Start"/>.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_socket?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    /// <summary>Binds and starts receiving.</summary>
    public void Start()
    {
        var socket = new Socket(_endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (_endpoint.AddressFamily == AddressFamily.InterNetworkV6 && _endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            socket.DualMode = true;
        }

        socket.ReceiveBufferSize = 8 * 1024 * 1024; // absorbs bursts while a record is fsync'd
        try
        {
            socket.Bind(_endpoint);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            // The socket's own message names no address, and the operator needs to know which listener failed; the
            // socket error stays the inner exception (GatewayStartFailure reads its code).
            throw new IOException($"cannot bind the syslog UDP listener to {_endpoint}: {e.Message}", e);
        }
        _socket = socket;
        _loop = ReceiveLoopAsync(socket);
    }

    /// <summary>Stops receiving; what was received is queued first.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagramBytes, pinned: true);
        var batch = new SyslogRecordBatch();
        EndPoint any = new IPEndPoint(_endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                if (batch.Frames > 0 && socket.Available == 0)
                {
                    // Nothing more waiting: queue what we have before blocking for the next datagram.
                    await FlushAsync(batch).ConfigureAwait(false);
                }

                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stopping.Token).ConfigureAwait(false);
                var address = ((IPEndPoint)received.RemoteEndPoint).Address;
                var peer = (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
                // GetMessage only trims the end, so the message is the datagram's first `length` bytes.
                var length = SyslogDatagram.GetMessage(buffer.AsSpan(0, received.ReceivedBytes)).Length;
                if (length == 0)
                {
                    continue;
                }

                batch.Add(buffer.AsSpan(0, length), _time.GetUtcNow().ToUnixTimeMilliseconds(), peer, transport: 2);
                if (batch.Frames >= MaxDatagramsPerBatch || batch.WrittenBytes >= MaxBatchBytes)
                {
                    await FlushAsync(batch).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    break;
                }

                LogReceiveFailed(_logger, e.Message);
            }
        }

        if (batch.Frames > 0)
        {
            await FlushAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task FlushAsync(SyslogRecordBatch batch)
    {
        try
        {
            await _sink.AppendBatchAsync(batch.Records(), CancellationToken.None).ConfigureAwait(false);
            _counters.Frames.Add(batch.Frames);
            _counters.Bytes.Add(batch.FrameBytes);
        }
        catch (QueueFullException)
        {
            _counters.QueueFull.Add(batch.Frames);
        }
        catch (QueueWriteException)
        {
            _counters.WriteFailed.Add(batch.Frames);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _counters.QueueFull.Add(batch.Frames);
            LogQueueFailed(_logger, batch.Frames, e.Message);
        }
        finally
        {
            batch.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Syslog UDP receive failed: {Reason}")]
    private static partial void LogReceiveFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Frames} UDP syslog messages lost: the queue refused them ({Reason})")]
    private static partial void LogQueueFailed(ILogger logger, int frames, string reason);
}
