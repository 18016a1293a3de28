using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Flotel.Agent.Tests.Metrics;

/// <summary>An HTTP server on 127.0.0.1 answering with a handler (an exporter or a receiver in unit tests).</summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerRequest, byte[], HttpListenerResponse, Task> _handler;
    private readonly Task _loop;

    public LocalHttpServer(Func<HttpListenerRequest, byte[], HttpListenerResponse, Task> handler)
    {
        _handler = handler;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string BaseUrl => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Bodies of the requests answered so far, in order.</summary>
    public ConcurrentQueue<(string Path, byte[] Body, WebHeaderCollection Headers)> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var bytes = body.ToArray();
            Requests.Enqueue((context.Request.Url?.AbsolutePath ?? string.Empty, bytes, (WebHeaderCollection)context.Request.Headers));
            try
            {
                await _handler(context.Request, bytes, context.Response);
                context.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // The client gave up (a timeout test) or the server is stopping.
            }
        }
    }
}
