using System.Collections.Concurrent;
using System.Net;

namespace Flotel.IntegrationTests;

/// <summary>A remote-write receiver that only records what it is sent (on 127.0.0.1) and answers 204.</summary>
public sealed class CaptureReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    /// <summary>One captured request.</summary>
    public sealed record Request(string Method, string Path, string? ContentType, string? ContentEncoding, string? Version, byte[] Body);

    /// <summary>Starts listening on a free port.</summary>
    public CaptureReceiver()
    {
        Port = PeerProcess.FreePort();
        _listener.Prefixes.Add("http://127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The listening port.</summary>
    public int Port { get; }

    /// <summary>The remote-write URL to give a sender.</summary>
    public string WriteUrl => "http://127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/api/v1/write";

    /// <summary>Requests received so far.</summary>
    public ConcurrentQueue<Request> Requests { get; } = new();

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
            Requests.Enqueue(new Request(
                context.Request.HttpMethod,
                context.Request.Url?.AbsolutePath ?? string.Empty,
                context.Request.ContentType,
                context.Request.Headers["Content-Encoding"],
                context.Request.Headers["X-Prometheus-Remote-Write-Version"],
                body.ToArray()));
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
