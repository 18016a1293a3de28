using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Tests.Outputs;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Inputs;

/// <summary>The syslog TCP listener's bounds: most open connections, and closing connections that stay silent.</summary>
public sealed class SyslogConnectionLimitTests
{
    [Fact]
    public async Task OverMaxConnections_TheNewConnectionIsClosedAndCounted_TheOthersKeepWorking()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        await using var input = Start(sink, registry, TimeProvider.System, new SyslogConnectionLimits { MaxConnections = 2, IdleTimeout = TimeSpan.Zero });

        using var first = await ConnectAsync(input);
        using var second = await ConnectAsync(input);
        await SendLineAsync(first, "one");
        await SendLineAsync(second, "two");
        await Eventually.TrueAsync(() => sink.Frames().Count == 2, "a line from each of the two connections");
        Assert.Equal(2, input.OpenConnections);

        using var third = await ConnectAsync(input);
        Assert.Equal(0, await ReadUntilClosedAsync(third));
        Assert.Contains("flotel_syslog_connections_refused_total{transport=\"tcp\"} 1", registry.ToText(), StringComparison.Ordinal);

        await SendLineAsync(first, "three");
        await Eventually.TrueAsync(() => sink.Frames().Count == 3, "the first connection still served");

        first.Client.Shutdown(SocketShutdown.Send);
        await Eventually.TrueAsync(() => input.OpenConnections == 1, "the first connection to end");
        using var fourth = await ConnectAsync(input);
        await SendLineAsync(fourth, "four");
        await Eventually.TrueAsync(() => sink.Frames().Count == 4, "a connection accepted once one was free");
        Assert.Equal(["four", "one", "three", "two"], sink.Frames().Select(f => f.Frame).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SilentConnection_IsClosedAfterTheIdleTimeout_AndWhatItSentIsQueued()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        await using var input = Start(sink, registry, time, new SyslogConnectionLimits { IdleTimeout = TimeSpan.FromMinutes(15) });

        using var quiet = await ConnectAsync(input);
        using var chatty = await ConnectAsync(input);
        await SendLineAsync(quiet, "quiet 1");
        await SendLineAsync(chatty, "chatty 1");
        await Eventually.TrueAsync(() => sink.Frames().Count == 2, "the first lines");
        await Eventually.TrueAsync(() => input.WaitingConnections == 2, "both connections waiting for bytes");

        time.Advance(TimeSpan.FromMinutes(10));
        await SendLineAsync(chatty, "chatty 2");
        await Eventually.TrueAsync(() => sink.Frames().Count == 3, "the chatty connection's second line");
        await Eventually.TrueAsync(() => input.WaitingConnections == 2, "the chatty connection waiting again");

        // 16 minutes after the quiet connection's last line, 6 after the chatty one's.
        time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(0, await ReadUntilClosedAsync(quiet));
        Assert.Contains("flotel_syslog_connections_idle_closed_total{transport=\"tcp\"} 1", registry.ToText(), StringComparison.Ordinal);

        await SendLineAsync(chatty, "chatty 3");
        await Eventually.TrueAsync(() => sink.Frames().Count == 4, "the chatty connection still served");
        Assert.Equal(1, input.OpenConnections);
        Assert.Equal(["chatty 1", "chatty 2", "chatty 3", "quiet 1"], sink.Frames().Select(f => f.Frame).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ConnectionWaitingForTheQueue_IsNotIdle_AndIsNotClosedWhileItWaits()
    {
        var sink = new GatedSink();
        var registry = new MetricsRegistry();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        await using var input = Start(sink, registry, time, new SyslogConnectionLimits { IdleTimeout = TimeSpan.FromMinutes(15) });

        using var client = await ConnectAsync(input);
        await SendLineAsync(client, "held by the queue");
        await sink.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The queue holds the append for an hour of the listener's clock: the connection is busy, not idle.
        time.Advance(TimeSpan.FromHours(1));
        sink.Release();
        await Eventually.TrueAsync(() => sink.Inner.Frames().Count == 1, "the held line");
        await SendLineAsync(client, "after the wait");
        await Eventually.TrueAsync(() => sink.Inner.Frames().Count == 2, "a line after the wait on the same connection");
        await Eventually.TrueAsync(() => input.WaitingConnections == 1, "the connection waiting for bytes again");
        Assert.Equal(1, input.OpenConnections);
        Assert.Contains("flotel_syslog_connections_idle_closed_total{transport=\"tcp\"} 0", registry.ToText(), StringComparison.Ordinal);

        // Its idle clock started when it waited again: 17 minutes of silence from now (the timeout and more than one
        // sweep period) close it.
        time.Advance(TimeSpan.FromMinutes(17));
        Assert.Equal(0, await ReadUntilClosedAsync(client));
        Assert.Contains("flotel_syslog_connections_idle_closed_total{transport=\"tcp\"} 1", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsPeerThatStopsInsideARecord_IsClosedAfterTheIdleTimeout_AndCounted()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var caFile = Path.GetTempFileName();
        try
        {
            using var certificate = TestCertificates.CreateServerCertificate(caFile);
            await using var input = new SyslogTcpInput(
                new IPEndPoint(IPAddress.Loopback, 0), new SslServerAuthenticationOptions { ServerCertificate = certificate }, 4096, sink,
                new SyslogInputCounters(registry, "tls"), time, NullLogger.Instance, new SyslogConnectionLimits { IdleTimeout = TimeSpan.FromMinutes(15) });
            input.Start();

            using var tcp = await ConnectAsync(input);
            var cut = new CuttingStream(tcp.GetStream());
            var pinned = certificate.Thumbprint;
            using var ssl = new SslStream(
                cut,
                leaveInnerStreamOpen: true,
                (_, presented, _, _) => string.Equals(presented?.GetCertHashString(), pinned, StringComparison.OrdinalIgnoreCase));
            await ssl.AuthenticateAsClientAsync("127.0.0.1");
            await ssl.WriteAsync(Encoding.UTF8.GetBytes("whole\n"));
            await Eventually.TrueAsync(() => sink.Frames().Count == 1, "the whole line");

            // Only the first bytes of the next record leave the client: the server waits for the rest of it.
            cut.CutNextWrite = true;
            await ssl.WriteAsync(Encoding.UTF8.GetBytes("never completed\n"));
            await Eventually.TrueAsync(() => input.WaitingConnections == 1, "the connection waiting for bytes");
            time.Advance(TimeSpan.FromMinutes(17));

            // The raw stream may still hold the server's post-handshake TLS messages (session tickets) before its end.
            while (await ReadUntilClosedAsync(tcp) > 0)
            {
            }

            Assert.Contains("flotel_syslog_connections_idle_closed_total{transport=\"tls\"} 1", registry.ToText(), StringComparison.Ordinal);
            await Eventually.TrueAsync(() => input.OpenConnections == 0, "the connection to end");
            Assert.Equal(["whole"], sink.Frames().Select(f => f.Frame));
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task IdleTimeoutZero_NeverClosesAConnection()
    {
        var sink = new ListSink();
        var registry = new MetricsRegistry();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        await using var input = Start(sink, registry, time, new SyslogConnectionLimits { IdleTimeout = TimeSpan.Zero });

        using var client = await ConnectAsync(input);
        await SendLineAsync(client, "before");
        await Eventually.TrueAsync(() => sink.Frames().Count == 1, "the first line");
        time.Advance(TimeSpan.FromDays(30));
        await SendLineAsync(client, "after a month");
        await Eventually.TrueAsync(() => sink.Frames().Count == 2, "a line after a month of silence");
        Assert.Contains("flotel_syslog_connections_idle_closed_total{transport=\"tcp\"} 0", registry.ToText(), StringComparison.Ordinal);
    }

    private static SyslogTcpInput Start(IRecordSink sink, MetricsRegistry registry, TimeProvider time, SyslogConnectionLimits limits)
    {
        var input = new SyslogTcpInput(
            new IPEndPoint(IPAddress.Loopback, 0), tls: null, 4096, sink, new SyslogInputCounters(registry, "tcp"), time, NullLogger.Instance, limits);
        input.Start();
        return input;
    }

    private static async Task<TcpClient> ConnectAsync(SyslogTcpInput input)
    {
        var client = new TcpClient();
        await client.ConnectAsync(input.LocalEndPoint);
        return client;
    }

    private static async Task SendLineAsync(TcpClient client, string line) =>
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>Reads until the server ends the connection: 0 at a clean end (a reset counts as an end too).</summary>
    private static async Task<int> ReadUntilClosedAsync(TcpClient client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[64];
        try
        {
            return await client.GetStream().ReadAsync(buffer, deadline.Token);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>A sink whose first append waits until <see cref="Release"/>, as a queue waiting for a slow disk would.</summary>
    private sealed class GatedSink : IRecordSink
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _appends;

        public ListSink Inner { get; } = new();

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public ValueTask AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken) => Inner.AppendAsync(record, cancellationToken);

        public async ValueTask AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _appends) == 1)
            {
                Entered.TrySetResult();
                await _gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            await Inner.AppendBatchAsync(records, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A client stream that, when told to, sends only the first 5 bytes of the next write (a TLS record's header).</summary>
    private sealed class CuttingStream(Stream inner) : Stream
    {
        public bool CutNextWrite { get; set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (CutNextWrite)
            {
                CutNextWrite = false;
                return inner.WriteAsync(buffer[..Math.Min(5, buffer.Length)], cancellationToken);
            }

            return inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
