using System.Net;
using System.Buffers;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Flotel.Model.Logs;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Net;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// Writes one batch of buffered lines to a syslog target over TCP, TLS or UDP (the shared driver's one job, style
/// rule 3). The connection stays open across batches; a failed connect or write closes it and answers
/// <see cref="DeliveryOutcome{T}.Retry"/>, so the driver backs off (capped, jittered) and sends the same batch again:
/// on TCP/TLS a line leaves the buffer only once it was written. Flotta dialled once and never reconnected, with no write
/// deadline (docs/reference/flotta-device-worker.md §3.6); this fixes both.
/// </summary>
/// <remarks>
/// Gaps in the queue sequence ids of the lines are the lines a full buffer dropped (drop-oldest): before the first line
/// after a gap the sender writes one line of its own saying how many were dropped, and counts them — so the count is
/// exactly the lines the collector will never see, reported once the target is reachable again.
/// </remarks>
public sealed partial class SyslogSender : IBatchSender<LogLine>, IAsyncDisposable
{
    /// <summary>TAG / APP-NAME of the agent's own lines (drop reports).</summary>
    public const string AgentTag = "flotel-agent";

    /// <summary>Facility of workload lines: user-level (1). Flotta used 0 (kernel), which RFC 5424 reserves for the kernel.</summary>
    public const int Facility = 1;

    private static long s_openConnections;

    private readonly LogTargetPlan _target;
    private readonly SyslogFormatter _formatter;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _writeTimeout;
    private readonly ILogger _logger;
    private readonly Action _dropsReported;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<int> _datagramEnds = [];
    private readonly Utf8StringCache _names = new();
    private readonly Utf8StringCache _containerIds = new();
    private readonly CustomCaTrust? _trust;
    private readonly CustomCaTrust? _fleetTrust;
    private readonly Flotel.Agent.Fleet.DeviceIdentity? _fleet;
    private readonly Counter _forwarded;
    private readonly Counter _droppedFull;
    private readonly Counter _connectsOk;
    private readonly Counter _connectsFailed;
    private readonly Counter _reconnects;
    private readonly Counter _writeFailures;

    // Written and read by the driver's loop only (one batch at a time).
    private Socket? _socket;
    private Stream? _stream;
    private bool _everConnected;
    private long _lastSequence;
    private int _disposed;

    public SyslogSender(LogTargetPlan target, string deviceName, long lastDeliveredSequence, MetricsRegistry metrics, TimeSpan connectTimeout, TimeSpan writeTimeout, ILogger logger, Action dropsReported)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(metrics);
        _target = target;
        _connectTimeout = connectTimeout;
        _writeTimeout = writeTimeout;
        _logger = logger;
        _dropsReported = dropsReported;
        _lastSequence = lastDeliveredSequence;
        var format = target.Format == SyslogFormat.Rfc5424 ? SyslogOutputFormat.Rfc5424 : SyslogOutputFormat.Flotta;
        var framing = target.Protocol == SyslogProtocol.Udp ? SyslogOutputFraming.Datagram
            : format == SyslogOutputFormat.Rfc5424 ? SyslogOutputFraming.OctetCounting
            : SyslogOutputFraming.LineFeed;
        _formatter = new SyslogFormatter(format, framing, deviceName, Environment.ProcessId);
        if (target.Protocol == SyslogProtocol.Tls && !string.IsNullOrEmpty(target.CaCertificatePem))
        {
            _trust = CustomCaTrust.FromPem(target.CaCertificatePem);
        }

        var t = ("target", target.Name);
        _forwarded = metrics.Counter("flotel_agent_log_lines_forwarded_total", "Workload log lines written to their syslog target.", t);
        _droppedFull = metrics.Counter("flotel_agent_log_lines_dropped_total", "Workload log lines lost, by target and reason.", t, ("reason", "buffer_full"));
        _connectsOk = metrics.Counter("flotel_agent_syslog_connects_total", "Connections opened to syslog targets, by result.", t, ("result", "ok"));
        _connectsFailed = metrics.Counter("flotel_agent_syslog_connects_total", "Connections opened to syslog targets, by result.", t, ("result", "failed"));
        _reconnects = metrics.Counter("flotel_agent_syslog_reconnects_total", "Connections to syslog targets opened again after one was lost.", t);
        _writeFailures = metrics.Counter("flotel_agent_syslog_write_failures_total", "Batches whose write to a syslog target failed (sent again).", t);
    }

    /// <summary>
    /// The device's fleet identity: on TLS its certificate is presented when the collector asks for one, and the fleet
    /// CA is trusted in addition to the target's <c>CaSecretName</c> (or the system roots without one; docs/fleet.md §6).
    /// </summary>
    public Flotel.Agent.Fleet.DeviceIdentity? Fleet
    {
        get => _fleet;
        init
        {
            _fleet = value;
            if (value is not null && _target.Protocol == SyslogProtocol.Tls)
            {
                _fleetTrust = value.DataConnectionTrust(_target.CaCertificatePem);
            }
        }
    }

    /// <summary>Syslog connections open in this process (all targets); leak checks read it.</summary>
    public static long OpenConnections => Interlocked.Read(ref s_openConnections);

    /// <summary>True while a connection to the target is open (for UDP: a connected socket).</summary>
    public bool IsConnected => _target.Protocol == SyslogProtocol.Udp ? _socket is not null : _stream is not null;

    public async ValueTask<DeliveryOutcome<LogLine>> SendAsync(IReadOnlyList<LogLine> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long dropped = Format(batch);

        if (IsConnected && PeerClosed())
        {
            // The collector closed its end (restart, idle timeout): writing now would "succeed" into a dead socket.
            Close();
        }

        if (!IsConnected)
        {
            try
            {
                await ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                _connectsFailed.Increment();
                Close();
                return DeliveryOutcome<LogLine>.Retry("connect to " + _target.Address + ": " + e.Message);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_writeTimeout);
        try
        {
            await WriteAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            _writeFailures.Increment();
            Close();
            var reason = e is OperationCanceledException ? $"write timed out after {_writeTimeout.TotalSeconds:F0} s" : e.Message;
            return DeliveryOutcome<LogLine>.Retry("write to " + _target.Address + ": " + reason);
        }

        _lastSequence = batch[^1].Sequence;
        _forwarded.Add(batch.Count);
        if (dropped > 0)
        {
            _droppedFull.Add(dropped);
            LogDropsReported(_logger, _target.Name, dropped);
            _dropsReported();
        }

        return DeliveryOutcome<LogLine>.Success;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Close();
            _fleetTrust?.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Formats the batch into <see cref="_buffer"/>, with a drop report before the first line after each gap; returns the lines dropped.</summary>
    private long Format(IReadOnlyList<LogLine> batch)
    {
        _buffer.ResetWrittenCount();
        _datagramEnds.Clear();
        long expected = _lastSequence + 1;
        long dropped = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            var line = batch[i];
            if (!LogRecord.TryRead(line.Payload, out var record))
            {
                continue; // the decoder already refused such records
            }

            if (line.Sequence > expected)
            {
                long gap = line.Sequence - expected;
                dropped += gap;
                var text = string.Create(CultureInfo.InvariantCulture, $"{gap} log lines for target {_target.Name} were dropped: its buffer (bufferSize {_target.BufferSizeKiB} KiB) was full while the target was unreachable; the oldest lines went first");
                _formatter.Write(_buffer, (Facility * 8) + SyslogSeverityWarning, new DateTime(record.TimeTicks, DateTimeKind.Utc), AgentTag, null, Encoding.UTF8.GetBytes(text));
                _datagramEnds.Add(_buffer.WrittenCount);
            }

            expected = line.Sequence + 1;
            var container = record.Container.IsEmpty ? null : _containerIds.Get(record.Container.Span);
            _formatter.Write(_buffer, (Facility * 8) + record.Severity, new DateTime(record.TimeTicks, DateTimeKind.Utc), _names.Get(record.Workload.Span), container, record.Message.Span);
            _datagramEnds.Add(_buffer.WrittenCount);
        }

        return dropped;
    }

    private const int SyslogSeverityWarning = 4;

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        var bytes = _buffer.WrittenMemory;
        if (_target.Protocol == SyslogProtocol.Udp)
        {
            int start = 0;
            foreach (int end in _datagramEnds)
            {
                await _socket!.SendAsync(bytes[start..end], SocketFlags.None, cancellationToken).ConfigureAwait(false);
                start = end;
            }

            return;
        }

        await _stream!.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connectTimeout);
        var udp = _target.Protocol == SyslogProtocol.Udp;
        Socket socket;
        if (udp)
        {
            // Connecting a datagram socket by host name is not supported (only stream sockets resolve a DnsEndPoint):
            // resolve first, then fix the peer so every send goes to it and ICMP errors come back as send failures.
            var address = IPAddress.TryParse(_target.Host, out var literal)
                ? literal
                : (await Dns.GetHostAddressesAsync(_target.Host, timeout.Token).ConfigureAwait(false)).FirstOrDefault()
                    ?? throw new SocketException((int)SocketError.HostNotFound);
            socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            Interlocked.Increment(ref s_openConnections);
            _socket = socket;
            await socket.ConnectAsync(new IPEndPoint(address, _target.Port), timeout.Token).ConfigureAwait(false);
        }
        else
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Interlocked.Increment(ref s_openConnections);
            _socket = socket;
            await socket.ConnectAsync(_target.Host, _target.Port, timeout.Token).ConfigureAwait(false);
        }

        // A NetworkStream takes stream sockets only; datagrams are sent on the socket (WriteAsync).
        Stream? stream = udp ? null : new NetworkStream(socket, ownsSocket: false);
        if (_target.Protocol == SyslogProtocol.Tls && stream is not null)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            stream = ssl;
            var options = new SslClientAuthenticationOptions { TargetHost = _target.Host };
            if (_fleet is not null && _fleetTrust is not null)
            {
                options.RemoteCertificateValidationCallback = _fleetTrust.ServerCertificateValidator(alsoSystemRoots: string.IsNullOrWhiteSpace(_target.CaCertificatePem));
                options.LocalCertificateSelectionCallback = _fleet.CertificateSelector;
            }
            else if (_trust is not null)
            {
                options.CertificateChainPolicy = _trust.CreateChainPolicy();
            }

            _stream = stream;
            await ssl.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
        }

        _stream = stream;
        _connectsOk.Increment();
        if (_everConnected)
        {
            _reconnects.Increment();
            LogReconnected(_logger, _target.Name, _target.Address);
        }

        _everConnected = true;
    }

    /// <summary>True when the peer closed the connection (readable with nothing to read) or reset it.</summary>
    private bool PeerClosed()
    {
        if (_target.Protocol == SyslogProtocol.Udp || _socket is null)
        {
            return false;
        }

        try
        {
            return _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private void Close()
    {
        _stream?.Dispose();
        _stream = null;
        if (_socket is not null)
        {
            _socket.Dispose();
            _socket = null;
            Interlocked.Decrement(ref s_openConnections);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Log target {Target}: connected again to {Address}")]
    private static partial void LogReconnected(ILogger logger, string target, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log target {Target}: reported {Dropped} lines dropped by the full buffer to the collector")]
    private static partial void LogDropsReported(ILogger logger, string target, long dropped);
}
