using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace Flotel.TestKit;

/// <summary>
/// An HTTP server on 127.0.0.1 (a free port) answering every request with a handler: an exporter or a receiver in
/// tests. The handler gets the request, its body already read, and the response, which is closed after it returns.
/// </summary>
public sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerRequest, byte[], HttpListenerResponse, Task> _handler;
    private readonly Task _loop;

    /// <summary>Starts a server answering 204 to everything.</summary>
    public LocalHttpServer()
        : this(static (_, _, response) =>
        {
            response.StatusCode = 204;
            return Task.CompletedTask;
        })
    {
    }

    /// <summary>Starts a server answering with <paramref name="handler"/>.</summary>
    public LocalHttpServer(Func<HttpListenerRequest, byte[], HttpListenerResponse, Task> handler)
    {
        _handler = handler;
        Port = Loopback.FreePort();
        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The listening port.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, without a trailing slash.</summary>
    public string BaseUrl => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Path, body and headers of the requests received so far, in order (recorded before the handler runs).</summary>
    public ConcurrentQueue<(string Path, byte[] Body, WebHeaderCollection Headers)> Requests { get; } = new();

    /// <inheritdoc />
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
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body).ConfigureAwait(false);
                var bytes = body.ToArray();
                Requests.Enqueue((context.Request.Url?.AbsolutePath ?? string.Empty, bytes, (WebHeaderCollection)context.Request.Headers));
                await _handler(context.Request, bytes, context.Response).ConfigureAwait(false);
                context.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                // The client gave up (a timeout test) or the server is stopping.
            }
        }
    }
}
