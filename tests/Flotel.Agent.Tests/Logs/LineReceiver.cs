using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flotel.Agent.Tests.Logs;

/// <summary>Our own LF-framed TCP receiver on 127.0.0.1 (framing checks only; the integration tests use rsyslog).</summary>
internal sealed class LineReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _lines = [];
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accept;

    public LineReceiver(int port = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public int Connections { get; private set; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public async Task WaitForLinesAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Lines.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"received {Lines.Count} of {count} lines");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Closes every accepted connection (a collector restart as the client sees it).</summary>
    public void DropConnections()
    {
        lock (_clients)
        {
            foreach (var c in _clients)
            {
                c.Dispose();
            }

            _clients.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropConnections();
        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Connections++;
            lock (_clients)
            {
                _clients.Add(client);
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
                    while (await reader.ReadLineAsync(_stop.Token) is { } line)
                    {
                        lock (_lines)
                        {
                            _lines.Add(line);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                }
            });
        }
    }
}
