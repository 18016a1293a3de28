using System.Net.Sockets;
using System.Text;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Tests.Podman;

/// <summary>
/// The log stream's HTTP/1.1 client against a scripted server on a unix socket (the responses are shaped as podman
/// 4.3's API server sends them: Go net/http, chunked, one chunk per line). The real podman is in the integration tests.
/// </summary>
public sealed class PodmanLogStreamTests : IDisposable
{
    private const string Path = "/v4.0.0/libpod/containers/abc/logs?follow=true";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _dir = new("flotel-logstream-");

    public void Dispose() => _dir.Dispose();

    private string SocketPath => _dir.Combine("podman.sock");

    [Fact]
    public async Task Read_ChunkedStreamInPieces_DecodedBodyThenZeroAndTheRequestWasHttp11()
    {
        using var server = new ScriptedServer(SocketPath);
        var serving = server.ServeAsync(async client =>
        {
            await Send(client, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfir"u8.ToArray());
            await Send(client, "st\r\n"u8.ToArray());
            await Send(client, "7\r\n second\r\n6\r\n third\r\n0\r\n\r\n"u8.ToArray());
        });

        using var stream = PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None);
        var body = ReadToEnd(stream);
        await serving;

        Assert.Equal(200, stream.StatusCode);
        Assert.Equal("first second third", body);
        Assert.StartsWith($"GET {Path} HTTP/1.1\r\nHost: podman\r\nConnection: close\r\n", server.Request, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello")]
    [InlineData("HTTP/1.0 200 OK\r\n\r\nuntil the close", "until the close")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "abc")]
    public async Task Read_LengthOrCloseDelimitedBody_TheBody(string response, string expected)
    {
        using var server = new ScriptedServer(SocketPath);
        var serving = server.ServeAsync(client => Send(client, Encoding.ASCII.GetBytes(response)));

        using var stream = PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None);
        var body = ReadToEnd(stream);
        await serving;

        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task Open_404WithLibpodMessage_PodmanApiExceptionWithStatusAndMessage()
    {
        using var server = new ScriptedServer(SocketPath);
        var json = """{"cause":"no such container","message":"no container with name or ID \"abc\" found: no such container","response":404}""";
        var serving = server.ServeAsync(client => Send(client, Encoding.ASCII.GetBytes($"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\n\r\n{json}")));

        var error = Assert.Throws<PodmanApiException>(() => PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None));
        await serving;

        Assert.Equal(404, error.StatusCode);
        Assert.Contains("no container with name or ID \"abc\" found", error.Message, StringComparison.Ordinal);
        Assert.Contains("logs abc", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NoSocket_PodmanUnavailableNamingTheSocket()
    {
        var error = Assert.Throws<PodmanUnavailableException>(() => PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None));

        Assert.Equal(SocketPath, error.SocketPath);
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x response")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "only chunked is supported")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", "invalid Content-Length")]
    public async Task Open_UnusableResponseHead_InvalidDataSayingWhy(string response, string reason)
    {
        using var server = new ScriptedServer(SocketPath);
        var serving = server.ServeAsync(client => Send(client, Encoding.ASCII.GetBytes(response)));

        var error = Assert.Throws<InvalidDataException>(() => PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None));
        await serving;

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_NoAnswerWithinTheLimit_PodmanUnavailable()
    {
        using var server = new ScriptedServer(SocketPath);
        using var release = new SemaphoreSlim(0);
        var serving = server.ServeAsync(_ => release.WaitAsync(Limit));

        var error = Assert.Throws<PodmanUnavailableException>(() => PodmanLogStream.Open(SocketPath, Path, "logs abc", TimeSpan.FromMilliseconds(200), CancellationToken.None));
        release.Release();
        await serving;

        Assert.Contains("no answer to logs abc", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_ConnectionClosedInsideAChunk_IOException()
    {
        using var server = new ScriptedServer(SocketPath);
        var serving = server.ServeAsync(client => Send(client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ncut"u8.ToArray()));

        using var stream = PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None);
        var buffer = new byte[64];
        Assert.Equal("cut", Encoding.ASCII.GetString(buffer, 0, stream.Read(buffer)));
        await serving;

        var error = Assert.Throws<IOException>(() => stream.Read(buffer));
        Assert.Contains("before the end of its body", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_MalformedChunk_InvalidDataNamingTheEncoding()
    {
        using var server = new ScriptedServer(SocketPath);
        var serving = server.ServeAsync(client => Send(client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nXY\r\n"u8.ToArray()));

        using var stream = PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None);
        var error = Assert.Throws<InvalidDataException>(() => stream.Read(new byte[64]));
        await serving;

        Assert.Contains("not valid chunked encoding", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Abort_WhileAReadWaits_ReadReturnsZeroAndWaitForDataTrue()
    {
        using var server = new ScriptedServer(SocketPath);
        using var release = new SemaphoreSlim(0);
        var serving = server.ServeAsync(async client =>
        {
            await Send(client, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray());
            await release.WaitAsync(Limit);
        });

        using var stream = PodmanLogStream.Open(SocketPath, Path, "logs abc", Limit, CancellationToken.None);
        Assert.False(stream.WaitForData(TimeSpan.FromMilliseconds(50)));
        var reading = Task.Factory.StartNew(() => stream.Read(new byte[64]), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.Delay(100);
        Assert.False(reading.IsCompleted);

        stream.Abort();

        Assert.Equal(0, await reading.WaitAsync(Limit));
        Assert.True(stream.WaitForData(Timeout.InfiniteTimeSpan));
        release.Release();
        await serving;
    }

    [Fact]
    public async Task Open_CancelledWhileWaitingForTheHead_OperationCanceled()
    {
        using var server = new ScriptedServer(SocketPath);
        using var release = new SemaphoreSlim(0);
        var serving = server.ServeAsync(_ => release.WaitAsync(Limit));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.ThrowsAny<OperationCanceledException>(() => PodmanLogStream.Open(SocketPath, Path, "logs abc", Timeout.InfiniteTimeSpan, cancel.Token));
        release.Release();
        await serving;
    }

    private static async Task Send(Socket client, byte[] bytes) => await client.SendAsync(bytes, SocketFlags.None);

    private static string ReadToEnd(PodmanLogStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[4];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.Equal(0, stream.Read(buffer));
        return text.ToString();
    }

    /// <summary>Accepts one connection on a unix socket, reads the request head, then runs a script and closes.</summary>
    private sealed class ScriptedServer : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

        public ScriptedServer(string path)
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(1);
        }

        public string Request { get; private set; } = string.Empty;

        // On the thread pool, off the test's synchronization context: the test thread blocks in Open meanwhile.
        public Task ServeAsync(Func<Socket, Task> script) => Task.Run(() => ServeCoreAsync(script));

        private async Task ServeCoreAsync(Func<Socket, Task> script)
        {
            using var client = await _listener.AcceptAsync().WaitAsync(Limit);
            var head = new StringBuilder();
            var buffer = new byte[1024];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Limit);
                if (n == 0)
                {
                    break;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            Request = head.ToString();
            await script(client);
            client.Shutdown(SocketShutdown.Send);
        }

        public void Dispose() => _listener.Dispose();
    }
}
