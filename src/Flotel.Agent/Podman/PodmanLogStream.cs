using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Flotel.Agent.Podman;

/// <summary>
/// One libpod log stream read with blocking calls on its own unix-domain socket: the HTTP/1.1 request is written by
/// hand and the response body (chunked, length-delimited or ended by the close) decoded in the caller's buffer.
/// </summary>
/// <remarks>
/// Why not <see cref="HttpClient"/>: podman writes one HTTP chunk per log line, and an asynchronous socket wakes .NET's
/// socket engine thread for every one of them, then the reader's task for each chunk it decodes. Read here with
/// blocking calls on a thread of its own, one <see cref="Read"/> takes every chunk that arrived since the last one in
/// one <c>recv</c> and decodes them in place. Only synchronous socket calls are made on the socket, so .NET keeps it a
/// blocking socket (no epoll registration). <see cref="Abort"/> (from any thread) shuts the socket down, which ends a
/// blocked <see cref="Read"/> or <see cref="WaitForData"/>.
/// </remarks>
public sealed class PodmanLogStream : IDisposable
{
    /// <summary>Longest response head (status line and headers) accepted.</summary>
    public const int MaxHeadBytes = 16 * 1024;

    /// <summary>Most bytes of an error response's body read for its message.</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    private static readonly TimeSpan ErrorBodyTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly string _socketPath;
    private HttpChunkedDecoder? _chunked;
    private long _contentRemaining = -1;
    private byte[]? _early;
    private int _earlyStart;
    private int _earlyEnd;
    private bool _ended;
    private volatile bool _aborted;

    private PodmanLogStream(string socketPath)
    {
        _socketPath = socketPath;
    }

    /// <summary>The HTTP status of the response (2xx once opened).</summary>
    public int StatusCode { get; private set; }

    /// <summary>
    /// Connects to <paramref name="socketPath"/>, sends <c>GET <paramref name="pathAndQuery"/></c> and reads the response
    /// head, waiting at most <paramref name="headTimeout"/> for it (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).
    /// <paramref name="cancellationToken"/> aborts the wait.
    /// </summary>
    /// <exception cref="PodmanUnavailableException">The socket is missing, refuses, or does not answer in time.</exception>
    /// <exception cref="PodmanApiException">podman answered with an error status (404: no such container).</exception>
    /// <exception cref="InvalidDataException">The response is not HTTP/1.x or its framing is not supported.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public static PodmanLogStream Open(string socketPath, string pathAndQuery, string operation, TimeSpan headTimeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ArgumentException.ThrowIfNullOrEmpty(pathAndQuery);
        var stream = new PodmanLogStream(socketPath);
        try
        {
            using (cancellationToken.Register(static s => ((PodmanLogStream)s!).Abort(), stream))
            {
                stream.OpenCore(pathAndQuery, operation, headTimeout, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return stream;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            stream.Dispose();
            throw new OperationCanceledException("stopped while opening the log stream", e, cancellationToken);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads decoded body bytes into <paramref name="buffer"/>, blocking until at least one is there; 0 when the body
    /// ended (the container stopped) or the stream was aborted. Takes everything the socket holds, up to the buffer's size.
    /// </summary>
    /// <exception cref="IOException">The connection failed or closed before the body's end.</exception>
    /// <exception cref="InvalidDataException">The chunked encoding is broken.</exception>
    public int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("The buffer is empty.", nameof(buffer));
        }

        while (!_ended)
        {
            int n;
            if (_early is not null)
            {
                // Body bytes that came with the response head.
                n = Math.Min(buffer.Length, _earlyEnd - _earlyStart);
                _early.AsSpan(_earlyStart, n).CopyTo(buffer);
                _earlyStart += n;
                if (_earlyStart == _earlyEnd)
                {
                    _early = null;
                }
            }
            else
            {
                n = Receive(buffer);
                if (n == 0)
                {
                    _ended = true;
                    if (!_aborted && (_chunked?.IsMidBody == true || _contentRemaining > 0))
                    {
                        throw new IOException("podman closed the log stream before the end of its body");
                    }

                    return 0;
                }
            }

            int decoded = Decode(buffer[..n]);
            if (decoded > 0)
            {
                return decoded;
            }
        }

        return 0;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> until <see cref="Read"/> would not block (data, the end, an error, or an
    /// abort); false when the time passed first.
    /// </summary>
    public bool WaitForData(TimeSpan timeout)
    {
        if (_early is not null || _ended || _aborted)
        {
            return true;
        }

        // Poll takes microseconds; -1 waits without a limit.
        long micros = timeout == Timeout.InfiniteTimeSpan ? -1 : timeout <= TimeSpan.Zero ? 0 : (long)Math.Min(timeout.TotalMicroseconds, int.MaxValue);
        try
        {
            return _socket.Poll((int)micros, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Read reports it.
            return true;
        }
    }

    /// <summary>Ends a blocked or later <see cref="Read"/> with 0 (from any thread). Idempotent.</summary>
    public void Abort()
    {
        _aborted = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected yet or already closed: nothing blocks on it.
        }
    }

    public void Dispose()
    {
        _aborted = true;
        _socket.Dispose();
    }

    private int Receive(Span<byte> buffer)
    {
        try
        {
            return _socket.Receive(buffer, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            if (_aborted)
            {
                return 0;
            }

            throw new IOException($"reading the podman log stream failed: {e.Message}", e);
        }
    }

    /// <summary>Decodes <paramref name="data"/> in place; returns the body bytes at its start.</summary>
    private int Decode(Span<byte> data)
    {
        if (_chunked is not null)
        {
            var status = _chunked.Decode(data, data, out _, out int written);
            if (status == OperationStatus.InvalidData)
            {
                throw new InvalidDataException($"podman's log stream is not valid chunked encoding: {_chunked.Error}");
            }

            // Bytes after the last chunk are ignored: the request asked for the connection to close.
            _ended |= status == OperationStatus.Done;
            return written;
        }

        if (_contentRemaining >= 0)
        {
            int n = (int)Math.Min(data.Length, _contentRemaining);
            _contentRemaining -= n;
            _ended |= _contentRemaining == 0;
            return n;
        }

        return data.Length;
    }

    private void OpenCore(string pathAndQuery, string operation, TimeSpan headTimeout, CancellationToken cancellationToken)
    {
        try
        {
            _socket.Connect(new UnixDomainSocketEndPoint(_socketPath));
        }
        catch (SocketException e)
        {
            throw new PodmanUnavailableException(_socketPath, e.Message, e);
        }

        cancellationToken.ThrowIfCancellationRequested();

        // "Connection: close": the stream is this connection's only request, and its end is the body's end.
        var request = Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: podman\r\nConnection: close\r\n\r\n");
        try
        {
            _socket.Send(request, SocketFlags.None);
        }
        catch (SocketException e)
        {
            throw new PodmanUnavailableException(_socketPath, e.Message, e);
        }

        var head = new byte[MaxHeadBytes];
        int length = 0;
        int headEnd;
        bool bounded = headTimeout != Timeout.InfiniteTimeSpan;
        var deadline = bounded ? DateTime.UtcNow + headTimeout : DateTime.MaxValue;
        while ((headEnd = FindHeadEnd(head.AsSpan(0, length))) < 0)
        {
            if (length == head.Length)
            {
                throw new InvalidDataException($"podman's response head to {operation} is longer than {MaxHeadBytes} bytes");
            }

            var left = bounded ? deadline - DateTime.UtcNow : Timeout.InfiniteTimeSpan;
            if (bounded && (left <= TimeSpan.Zero || !WaitForData(left)))
            {
                throw new PodmanUnavailableException(_socketPath, $"no answer to {operation} within {headTimeout.TotalSeconds:F0} s");
            }

            cancellationToken.ThrowIfCancellationRequested();
            int n = Receive(head.AsSpan(length));
            cancellationToken.ThrowIfCancellationRequested();
            if (n == 0)
            {
                throw new PodmanUnavailableException(_socketPath, $"the connection closed before the answer to {operation}");
            }

            length += n;
        }

        ParseHead(head.AsSpan(0, headEnd), operation);
        if (length > headEnd)
        {
            _early = head;
            _earlyStart = headEnd;
            _earlyEnd = length;
        }

        if (StatusCode is < 200 or > 299)
        {
            // An error body is small and sent at once: a few seconds are plenty, and it is only the message.
            throw new PodmanApiException(operation, StatusCode, ReadErrorMessage(DateTime.UtcNow + ErrorBodyTimeout));
        }
    }

    /// <summary>The index after the empty line that ends the head (CRLF CRLF, or LF LF), or -1.</summary>
    private static int FindHeadEnd(ReadOnlySpan<byte> data)
    {
        int crlf = data.IndexOf("\r\n\r\n"u8);
        int lf = data.IndexOf("\n\n"u8);
        if (crlf >= 0 && (lf < 0 || crlf < lf))
        {
            return crlf + 4;
        }

        return lf >= 0 ? lf + 2 : -1;
    }

    /// <summary>Status line and the framing headers (RFC 9112 §4, §6.1, §6.3); other headers are not needed.</summary>
    private void ParseHead(ReadOnlySpan<byte> head, string operation)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split('\n');
        var status = lines[0].TrimEnd('\r');

        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        if (!status.StartsWith("HTTP/1.", StringComparison.Ordinal) || status.Length < 12 || status[8] != ' '
            || !int.TryParse(status.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int code))
        {
            throw new InvalidDataException($"podman's answer to {operation} is not an HTTP/1.x response: \"{Printable(status)}\"");
        }

        StatusCode = code;
        bool chunked = false;
        long contentLength = -1;
        for (int i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line.AsSpan(0, colon);
            var value = line.AsSpan(colon + 1).Trim(" \t");
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                // The last coding must be chunked (§6.3); any other coding (gzip…) is not something this reader undoes.
                var codings = value.ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (codings.Length != 1 || !codings[0].Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"podman's answer to {operation} has Transfer-Encoding \"{Printable(value.ToString())}\"; only chunked is supported");
                }

                chunked = true;
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed) || (contentLength >= 0 && parsed != contentLength))
                {
                    throw new InvalidDataException($"podman's answer to {operation} has an invalid Content-Length \"{Printable(value.ToString())}\"");
                }

                contentLength = parsed;
            }
        }

        // Transfer-Encoding overrides Content-Length (§6.3); neither means the body runs to the close.
        if (chunked)
        {
            _chunked = new HttpChunkedDecoder();
        }
        else if (contentLength >= 0)
        {
            _contentRemaining = contentLength;
            _ended = contentLength == 0;
        }
    }

    /// <summary>libpod's <c>message</c> from an error body (JSON), else its text, else the status.</summary>
    private string ReadErrorMessage(DateTime deadline)
    {
        var body = new byte[MaxErrorBodyBytes];
        int length = 0;
        try
        {
            while (length < body.Length)
            {
                var left = deadline - DateTime.UtcNow;
                if (!_ended && _early is null && (left <= TimeSpan.Zero || !WaitForData(left)))
                {
                    break;
                }

                int n = Read(body.AsSpan(length));
                if (n == 0)
                {
                    break;
                }

                length += n;
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            // The status is the error; a broken body only loses its message.
        }

        var bytes = body.AsSpan(0, length);
        try
        {
            using var json = JsonDocument.Parse(body.AsMemory(0, length));
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
            {
                return m.GetString() ?? string.Empty;
            }
        }
        catch (JsonException)
        {
        }

        var text = Encoding.UTF8.GetString(bytes).Trim();
        return text.Length == 0 ? "error" : Printable(text.Length > 512 ? text[..512] : text);
    }

    private static string Printable(string text)
    {
        var chars = text.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (char.IsControl(chars[i]))
            {
                chars[i] = '?';
            }
        }

        return new string(chars);
    }
}
